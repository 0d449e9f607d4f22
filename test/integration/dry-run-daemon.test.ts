// The daemon in dry-run says what it would remove: one `would remove` line per object, with
// the fields enforce's `removed` line carries (policy, resource, name, id, bytes or null,
// reason), beside the one `cycle finished` summary. Issue 19 found only the counts
// (`"planned":2,"plannedBytes":0`), though the README promises the list.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
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

describe('the daemon in dry-run', () => {
  it('logs each object it would remove, as enforce logs its removals, and removes none', async () => {
    const ids: string[] = [];
    for (const n of [1, 2])
      ids.push(
        await loadImage(docker, {
          tags: [`dr${run}/app:${n}`],
          created: new Date('2023-01-01'),
          labels: { [TEST_LABEL]: run },
          layers: [{ files: [{ path: `dr-${run}-${n}`, size: 10_000 * n }] }],
        }),
      );
    const configPath = writeConfig(
      { mode: 'dry-run', schedule: '0 0 1 1 *', docker: { host } },
      {
        'p.yaml': {
          policies: [{ name: 'old', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`], olderThan: '30d' } }],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    const finished = await daemon.waitForLog((l) => l.msg === 'cycle finished');
    expect(finished['planned']).toBe(2);
    const would = daemon.logs.filter((l) => l.msg === 'would remove');
    expect(would.map((l) => [l['policy'], l['resource'], l['id'], l['name']])).toEqual(
      expect.arrayContaining([
        ['old', 'image', ids[0], `dr${run}/app:1`],
        ['old', 'image', ids[1], `dr${run}/app:2`],
      ]),
    );
    expect(would).toHaveLength(2);
    // The same bytes and reasons `plan` gives (bytes null where unknown, never a made-up 0).
    const r = await runCli(['plan', '--config', configPath, '--json'], host);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { actions: Array<{ id: string; bytes: number | null; reason: string }> };
    for (const line of would) {
      const action = plan.actions.find((a) => a.id === line['id']);
      expect(line['bytes']).toBe(action?.bytes);
      expect(line['reason']).toMatch(/created \d+d/);
    }
    expect(would.every((l) => l.level === 30)).toBe(true);
    expect((await listRunObjects(docker, run)).images).toHaveLength(2);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;
  });
});
