// Switching the mode to dry-run while an enforce cycle is removing: after the reload (SIGHUP)
// the removal in flight finishes and no other starts. The engine is slowed down by a proxy so
// the cycle is still removing when the edit lands.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { stringify } from 'yaml';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImages } from '../support/image-archive.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { SocketProxy } from '../support/socket-proxy.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let daemon: DaemonProcess | undefined;
let proxy: SocketProxy | undefined;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy?.stop();
  proxy = undefined;
  await cleanupRun(docker, run);
});

describe('the mode switched to dry-run mid-cycle', () => {
  it('starts no removal after the reload; the one in flight finishes', async () => {
    const count = 30;
    await loadImages(
      docker,
      Array.from({ length: count }, (_, i) => ({
        tags: [`rm${run}/img:${i}`],
        created: new Date('2023-01-01'),
        labels: { [TEST_LABEL]: run },
        layers: [{ files: [{ path: `f${i}`, size: 100 + i }] }],
      })),
    );
    proxy = new SocketProxy(
      path.join(mkdtempSync(path.join(tmpdir(), 'rp-')), 'engine.sock'),
      host.slice('unix://'.length),
    );
    await proxy.start();
    // Every request 300 ms late: each removal (a fresh look, then the delete) takes 0.6 s.
    proxy.delay(300);
    const settings = {
      mode: 'enforce',
      schedule: '0 0 1 1 *',
      docker: { host: `unix://${proxy.path}`, pingInterval: '1s' },
      limits: { concurrentRemovals: 1 },
    };
    const policies = { policies: [{ name: 'all', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }] };
    const configPath = writeConfig(settings, { 'p.yaml': policies });
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForLog((l) => l.msg === 'removed');
    writeFileSync(configPath, stringify({ policies: ['policies/*.yaml'], ...settings, mode: 'dry-run' }));
    daemon.kill('SIGHUP');
    const switched = await daemon.waitForLog(
      (l) => l.msg === 'the mode changed to dry-run: the running cycle starts no further removal',
    );
    const finished = await daemon.waitForLog((l) => l.msg === 'cycle finished', 60_000);
    expect(finished['interrupted']).toBe('the mode changed to dry-run');
    const at = daemon.logs.indexOf(switched);
    const after = daemon.logs.slice(at).filter((l) => l.msg === 'removed');
    // At most the one in flight when the reload landed.
    expect(after.length).toBeLessThanOrEqual(1);
    const removed = daemon.logs.filter((l) => l.msg === 'removed').length;
    expect((await listRunObjects(docker, run)).images).toHaveLength(count - removed);
    expect(removed).toBeLessThan(count);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;
  });
});
