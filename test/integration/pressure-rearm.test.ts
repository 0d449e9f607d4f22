// The daemon under a pressure condition it can do nothing about, on the real engine and a real
// (tmpfs) file system. Issue 19 saw 7 pressure cycles in 3.5 minutes for 28 KB of growth, each
// logged "pressure condition holds". Now the cycle at start finds the condition holding and
// nothing to remove, says so once, and the next pressure cycle waits for a step of growth (1% of
// the file system) or a change of images or containers; the condition clearing is said once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { newRunId, TEST_LABEL } from '../support/fixtures.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';

const host = inject('dockerHost');
let run: string;
let daemon: DaemonProcess | undefined;
let mnt: string;

beforeEach(() => {
  run = newRunId();
  mnt = mkdtempSync(path.join(tmpdir(), 'reclaimd-rearm-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]);
});
afterEach(() => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

const WAITING =
  'pressure condition holds, but nothing more can be removed; the next pressure cycle waits until usage grows by a step or the images or containers change';

describe('a pressure condition nothing can be done about', () => {
  it('starts no cycle for 28 KB of growth, one for a step of growth, and says each thing once', async () => {
    const fs = statfsSync(mnt);
    const total = fs.blocks * fs.bsize;
    const used = () => {
      const f = statfsSync(mnt);
      return (f.blocks - f.bfree) * f.bsize;
    };
    // About 5% full: above the 1% of the condition.
    writeFileSync(path.join(mnt, 'base'), Buffer.alloc(1_000_000, 1));
    const configPath = writeConfig(
      {
        mode: 'enforce',
        schedule: '0 0 1 1 *',
        docker: { host, pingInterval: '1s' },
        pressure: { path: mnt, interval: '1s' },
      },
      {
        'p.yaml': {
          policies: [
            // It matches only this run's images, and there are none: nothing can be removed.
            {
              name: 'disk-full',
              resource: 'image',
              match: { labels: [`${TEST_LABEL}=${run}`] },
              when: { diskUsageAbove: '1%' },
            },
          ],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    const d = daemon;
    await d.started();
    await d.waitForLog((l) => l.msg === WAITING);
    /** Waits until a check has read the file system as it is now. */
    const checked = async () => {
      const now = used();
      await d.waitForMetric(
        'reclaimd_disk_usage_ratio',
        { path: mnt },
        (v) => v !== undefined && Math.round(v * total) >= now,
      );
    };

    // 7 × 4 KB, each seen by a check.
    for (let i = 0; i < 7; i++) {
      writeFileSync(path.join(mnt, `grow-${i}`), Buffer.alloc(4096, 2));
      await checked();
    }
    const triggers = () => d.logs.filter((l) => l.msg === 'pressure condition holds; starting a cycle');
    expect(triggers()).toEqual([]);
    expect(await d.metric('reclaimd_pressure_triggers_total', { policy: 'disk-full' })).toBe(0);

    // A step is 1% of the 20 MiB file system, about 210 kB: 400 kB more starts one cycle.
    writeFileSync(path.join(mnt, 'step'), Buffer.alloc(400_000, 3));
    const started = await d.waitForLog((l) => l.msg === 'pressure condition holds; starting a cycle');
    expect(started['because']).toMatch(/^usage grew by \d/);
    await d.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => v === 2);
    await checked();
    expect(triggers()).toHaveLength(1);
    // Still the same wait: said when it began, not after every cycle that finds the same nothing.
    expect(d.logs.filter((l) => l.msg === WAITING)).toHaveLength(1);

    for (const f of readdirSync(mnt)) rmSync(path.join(mnt, f));
    await d.waitForLog((l) => l.msg === 'pressure condition no longer holds');
    d.kill('SIGTERM');
    expect(await d.exitCode()).toBe(0);
    daemon = undefined;
    expect(d.logs.filter((l) => l.msg === 'pressure condition no longer holds')).toHaveLength(1);
    expect(d.logs.filter((l) => l.msg === 'removed')).toEqual([]);
  });
});
