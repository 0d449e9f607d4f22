// The daemon as operators run it: a child process on a schedule, with /metrics and /healthz,
// through an engine outage at start and mid-run, a bad policy edit, a switch to enforce, and
// SIGTERM. The engine is reached through a proxy socket that the test can take away.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { stringify } from 'yaml';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { SocketProxy } from '../support/socket-proxy.js';
import { unsharedImageBytes } from '../support/accounting.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let proxy: SocketProxy;
let daemon: DaemonProcess | undefined;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
  proxy = new SocketProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'rp-')), 'engine.sock'),
    host.slice('unix://'.length),
  );
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy.stop();
  await cleanupRun(docker, run);
});

const gt0 = (v: number | undefined) => v !== undefined && v > 0;

/** A daemon on a one-second schedule, reaching the engine through the proxy, after one good cycle. */
async function daemonBehindProxy(timeout: string): Promise<{ daemon: DaemonProcess; configPath: string }> {
  await proxy.start();
  const configPath = writeConfig(
    { schedule: '* * * * * *', docker: { host: `unix://${proxy.path}`, pingInterval: '1s', timeout } },
    { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }] } },
  );
  const started = new DaemonProcess(['--config', configPath]);
  daemon = started;
  await started.started();
  await started.waitForMetric('reclaimd_cycles_total', { result: 'success' }, gt0);
  return { daemon: started, configPath };
}

describe('reclaimd daemon', () => {
  it('survives an engine outage, a bad edit, and removes what it planned once enforced', async () => {
    const image = await loadImage(docker, {
      tags: [`rt${run}/old:1`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: 'x', size: 250_000 }] }],
    });
    // 250,000 bytes on the classic store; with content and block-rounded snapshot on the containerd image store.
    const bytes = await unsharedImageBytes(docker, image);
    const policy = {
      policies: [{ name: 'old', resource: 'image', match: { olderThan: '30d', labels: [`${TEST_LABEL}=${run}`] } }],
    };
    const settings = {
      mode: 'dry-run',
      schedule: '* * * * * *',
      docker: { host: `unix://${proxy.path}`, pingInterval: '1s' },
    };
    const configPath = writeConfig(settings, { 'p.yaml': policy });
    const policyPath = path.join(path.dirname(configPath), 'policies', 'p.yaml');

    // The engine is unreachable at start: the daemon still starts, says so, and stays up.
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'failure' }, gt0);
    expect(await daemon.metric('reclaimd_docker_up')).toBe(0);
    const health = await daemon.get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', dockerUp: false });
    await daemon.waitForLog((l) => /unreachable/.test(l.msg));

    // The engine comes back: the next cycles succeed and the dry-run plan shows up as reclaimable.
    await proxy.start();
    await daemon.waitForMetric('reclaimd_docker_up', {}, (v) => v === 1);
    await daemon.waitForMetric('reclaimd_reclaimable_bytes', { resource: 'image', policy: 'old' }, (v) => v === bytes);
    expect(await daemon.metric('reclaimd_reclaimable_objects', { resource: 'image', policy: 'old' })).toBe(1);
    expect(await daemon.metric('reclaimd_engine_disk_usage_bytes', { resource: 'image' })).toBeGreaterThanOrEqual(
      bytes,
    );
    expect(await daemon.metric('reclaimd_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(await daemon.metric('reclaimd_config_last_reload_successful')).toBe(1);

    // A bad edit keeps the last good policies and flips the reload metric until fixed.
    writeFileSync(policyPath, 'policies:\n  - name: old\n    resource: image\n    match: { olderThan: 30 days }\n');
    await daemon.waitForMetric('reclaimd_config_last_reload_successful', {}, (v) => v === 0);
    const problems = await daemon.waitForLog((l) => l.msg === 'configuration is invalid; keeping the last good one');
    expect(problems['problems']).toEqual([
      expect.stringMatching(
        /\/policies\/p\.yaml:4:25: policy "old" \/match\/olderThan: expected a duration like .*, got "30 days"$/,
      ),
    ]);
    const successes = (await daemon.metric('reclaimd_cycles_total', { result: 'success' })) as number;
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => (v ?? 0) > successes);
    expect((await listRunObjects(docker, run)).images).toHaveLength(1);

    // The engine goes away while the daemon runs, and comes back.
    await proxy.stop();
    await daemon.waitForMetric('reclaimd_docker_up', {}, (v) => v === 0);
    await proxy.start();
    await daemon.waitForMetric('reclaimd_docker_up', {}, (v) => v === 1);

    // Fixing the file and switching to enforce removes the image and counts the bytes.
    writeFileSync(policyPath, stringify(policy));
    writeFileSync(configPath, stringify({ policies: ['policies/*.yaml'], ...settings, mode: 'enforce' }));
    await daemon.waitForMetric(
      'reclaimd_reclaimed_bytes_total',
      { resource: 'image', policy: 'old' },
      (v) => v === bytes,
    );
    expect(await daemon.metric('reclaimd_removed_total', { resource: 'image', policy: 'old' })).toBe(1);
    expect(await daemon.metric('reclaimd_config_last_reload_successful')).toBe(1);
    const removal = await daemon.waitForLog((l) => l.msg === 'removed');
    expect(removal).toMatchObject({ policy: 'old', resource: 'image', name: `rt${run}/old:1`, id: image, bytes });
    if (!inject('containerdStore')) expect(bytes).toBe(250_000);
    expect((await listRunObjects(docker, run)).images).toEqual([]);

    // SIGTERM: a clean exit with status 0.
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;
  });

  it('serves only read-only endpoints', async () => {
    const configPath = writeConfig(
      { schedule: '0 0 1 1 *', docker: { host } },
      { 'p.yaml': { policies: [{ name: 'n', resource: 'network-free-test', match: {} }] } },
    );
    // An invalid configuration at start exits with status 2 and lists the problem.
    const bad = new DaemonProcess(['--config', configPath]);
    expect(await bad.exitCode()).toBe(2);
    expect(bad.logs.map((l) => l.msg).join('')).toMatch(
      /p\.yaml:\d+:\d+: policy "n" \/resource: expected resource to be one of image, container, volume/,
    );

    const goodPath = writeConfig(
      { schedule: '0 0 1 1 *', docker: { host, pingInterval: '1d' } },
      { 'p.yaml': { policies: [] } },
    );
    daemon = new DaemonProcess(['--config', goodPath]);
    await daemon.started();
    expect((await daemon.get('/metrics')).status).toBe(200);
    expect((await daemon.get('/nope')).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${daemon.port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    // Odd request targets are answered, and the daemon stays up.
    for (const target of ['//', '/%', '/metrics?x=%zz']) {
      const res = await daemon.get(target);
      expect(res.status, target).toBeLessThan(500);
    }
    expect((await daemon.get('/healthz')).status).toBe(200);

    // SIGHUP re-reads the configuration at once (the ticker here is a day apart).
    const policyPath = path.join(path.dirname(goodPath), 'policies', 'p.yaml');
    writeFileSync(policyPath, 'policies: [ { name: x } ]\n');
    daemon.kill('SIGHUP');
    await daemon.waitForMetric('reclaimd_config_last_reload_successful', {}, (v) => v === 0, 10_000);
    expect((await daemon.get('/healthz')).status).toBe(200);
  });

  it('marks the engine down when it stops answering, and recovers when it answers again', async () => {
    const { daemon: d } = await daemonBehindProxy('2s');
    proxy.freeze();
    await d.waitForMetric('reclaimd_docker_up', {}, (v) => v === 0, 20_000);
    const failures = await d.waitForMetric('reclaimd_cycles_total', { result: 'failure' }, gt0, 20_000);
    expect(failures).toBeGreaterThan(0);
    proxy.thaw();
    await d.waitForMetric('reclaimd_docker_up', {}, (v) => v === 1, 20_000);
    const ok = (await d.metric('reclaimd_cycles_total', { result: 'success' })) as number;
    await d.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => (v ?? 0) > ok, 20_000);
    d.kill('SIGTERM');
    expect(await d.exitCode()).toBe(0);
    daemon = undefined;
  });

  it('on SIGTERM with a request hanging mid-cycle, waits at most docker.timeout and exits 0; a second signal exits at once', async () => {
    const { daemon: d, configPath } = await daemonBehindProxy('3s');
    proxy.freeze();
    // A scheduled cycle starts within a second and hangs on the frozen engine.
    await new Promise((r) => setTimeout(r, 1500));
    d.kill('SIGTERM');
    // The hang is in the listing: no removal is in flight, and the line does not claim one.
    const stopping = await d.waitForLog((l) => l.msg.startsWith('shutting down'));
    expect(stopping.msg).not.toBe('shutting down: finishing the removal in flight');
    // The hang detector is generous; the documented bound is docker.timeout (3 s here).
    const exit = await Promise.race([d.exitCode(), new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(exit).toBe(0);
    expect(d.logs.some((l) => l.msg === 'reclaimd stopped')).toBe(true);
    daemon = undefined;

    const second = new DaemonProcess(['--config', configPath]);
    daemon = second;
    await second.started();
    await new Promise((r) => setTimeout(r, 1500));
    second.kill('SIGTERM');
    second.kill('SIGINT');
    expect(await second.exitCode()).toBe(130);
    daemon = undefined;
  });
});
