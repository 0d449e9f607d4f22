// A policy file that turns into something else while the daemon runs — a directory (what
// `docker run -v` makes when the host file is missing), a FIFO, a link to a device — is a bad
// edit like any other: the last good configuration stays in force, the reload metric says 0,
// and nothing that configuration keeps is removed. (A file deleted from a glob's directory is
// a policy taken away on purpose; one named by its path and gone is a problem, as before.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let daemon: DaemonProcess | undefined;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await cleanupRun(docker, run);
});

describe('a policy file that is no longer a file', () => {
  it('keeps the last good policies while it is a directory, a FIFO or a link to a device', async () => {
    const image = await loadImage(docker, {
      tags: [`rc${run}/kept:1`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run, keep: 'yes' },
      layers: [{ files: [{ path: 'k', size: 1000 }] }],
    });
    const selector = `${TEST_LABEL}=${run}`;
    // 00-keep.yaml decides first and keeps the image; 10-remove.yaml would remove it.
    const configPath = writeConfig(
      { mode: 'enforce', schedule: '* * * * * *', docker: { host, pingInterval: '1s' } },
      {
        '00-keep.yaml': {
          policies: [{ name: 'keep', resource: 'image', match: { labels: [selector, 'keep=yes'] }, action: 'report' }],
        },
        '10-remove.yaml': { policies: [{ name: 'remove', resource: 'image', match: { labels: [selector] } }] },
      },
    );
    const keepFile = path.join(path.dirname(configPath), 'policies', '00-keep.yaml');
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => (v ?? 0) > 0);

    for (const [what, replace] of [
      ['a directory', () => mkdirSync(keepFile)],
      ['a FIFO', () => execFileSync('mkfifo', [keepFile])],
      ['a link to a device', () => symlinkSync('/dev/zero', keepFile)],
    ] as const) {
      rmSync(keepFile, { recursive: true, force: true });
      replace();
      daemon.kill('SIGHUP');
      await daemon.waitForMetric('reclaimd_config_last_reload_successful', {}, (v) => v === 0);
      // A few more cycles on the last good policies: the image is still reported, never removed.
      const successes = (await daemon.metric('reclaimd_cycles_total', { result: 'success' })) as number;
      await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => (v ?? 0) >= successes + 2);
      expect(
        (await listRunObjects(docker, run)).images.map((i) => i.id),
        what,
      ).toEqual([image]);
      // Put the good file back, so the next case starts from a good configuration.
      rmSync(keepFile, { recursive: true, force: true });
      writeFileSync(
        keepFile,
        JSON.stringify({
          policies: [{ name: 'keep', resource: 'image', match: { labels: [selector, 'keep=yes'] }, action: 'report' }],
        }),
      );
      daemon.kill('SIGHUP');
      await daemon.waitForMetric('reclaimd_config_last_reload_successful', {}, (v) => v === 1);
    }
    expect(
      daemon.logs.filter((l) => l.msg === 'configuration is invalid; keeping the last good one').length,
    ).toBeGreaterThanOrEqual(3);
    expect((await listRunObjects(docker, run)).images.map((i) => i.id)).toEqual([image]);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;
  });
});
