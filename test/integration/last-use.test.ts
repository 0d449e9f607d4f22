// Last use, remembered, on the real engine: the daemon follows events (through a dropped
// connection), writes what it saw to state.dir on SIGTERM, and the next run plans with it; a
// freshly loaded old image is not "unused"; a corrupt state file is set aside and reported and
// removes nothing; without state.dir, unusedFor selects nothing.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { cleanupRun, createContainer, createVolume, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { SocketProxy } from '../support/socket-proxy.js';
import { stateFile } from '../../src/runtime/last-use/store.js';
import { emptyRecord, encodeState } from '../../src/core/last-use/last-use.js';

const host = inject('dockerHost');
const DAY = 86_400_000;
let docker: Docker;
let run: string;
let proxy: SocketProxy;
let daemon: DaemonProcess | undefined;
let stateDir: string;
let engineId: string;

beforeEach(async () => {
  docker = dockerFor(host);
  run = newRunId();
  proxy = new SocketProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'rp-')), 'engine.sock'),
    host.slice('unix://'.length),
  );
  stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-state-')), 'state');
  engineId = ((await docker.info()) as { ID: string }).ID;
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy.stop();
  await cleanupRun(docker, run);
});

/** An image built two years ago, loaded now, carrying this run's label. */
function oldImage(name: string, withBusybox = false): Promise<string> {
  return loadImage(docker, {
    tags: [`lu${run}/${name}:1`],
    created: new Date(Date.now() - 730 * DAY),
    labels: { [TEST_LABEL]: run },
    layers: [withBusybox ? busyboxLayer() : { files: [{ path: `${name}-${run}`, size: 1000 }] }],
  });
}

/** Writes the state file a daemon would have written, with the image (and volume) last used `days` ago. */
function seedState(imageId: string, days: number, volume?: string): void {
  const record = emptyRecord();
  record.images.set(imageId, { at: Date.now() - days * DAY, used: true });
  if (volume !== undefined) record.volumes.set(volume, { at: Date.now() - days * DAY, used: true });
  mkdirSync(stateDir, { recursive: true });
  // savedAt now: as a daemon that was following events just wrote it.
  writeFileSync(stateFile(stateDir, engineId), encodeState(engineId, record, Date.now()));
}

const idlePolicy = (unusedFor: string) => ({
  policies: [{ name: 'idle', resource: 'image', match: { unusedFor, labels: [`${TEST_LABEL}=${run}`] } }],
});

async function plan(configPath: string): Promise<{ actions: Array<{ id: string; reason: string }> }> {
  const r = await runCli(['plan', '--config', configPath, '--json'], host);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { actions: Array<{ id: string; reason: string }> };
}

describe('last use', () => {
  it('follows events through a dropped connection and remembers them across a restart', async () => {
    const id = await oldImage('used', true);
    const vol = await createVolume(docker, { runId: run, name: `lu${run}-data` });
    seedState(id, 30, vol);
    const policies = {
      policies: [
        ...idlePolicy('7d').policies,
        { name: 'idle-vols', resource: 'volume', match: { unusedFor: '7d', labels: [`${TEST_LABEL}=${run}`] } },
      ],
    };
    await proxy.start();
    const configPath = writeConfig(
      // Once a year: the only cycles are the ones at start, so only events can see the use.
      {
        schedule: '0 0 1 1 *',
        docker: { host: `unix://${proxy.path}`, pingInterval: '1s' },
        state: { dir: stateDir },
        log: { level: 'debug' },
      },
      { 'p.yaml': policies },
    );

    // The remembered use, 30 days ago, is what the first run plans with.
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_reclaimable_objects', { resource: 'image', policy: 'idle' }, (v) => v === 1);
    expect(await daemon.metric('reclaimd_reclaimable_objects', { resource: 'volume', policy: 'idle-vols' })).toBe(1);
    await daemon.waitForMetric('reclaimd_events_connected', {}, (v) => v === 1);
    expect(await daemon.metric('reclaimd_last_use_known')).toBe(1);

    // The engine goes away and comes back: the stream reconnects (and resyncs).
    await proxy.stop();
    await daemon.waitForMetric('reclaimd_events_connected', {}, (v) => v === 0);
    await proxy.start();
    await daemon.waitForMetric('reclaimd_events_connected', {}, (v) => v === 1);

    // A container runs from the image and is gone before any cycle could list it.
    const c = await createContainer(docker, {
      image: id,
      runId: run,
      cmd: ['true'],
      binds: [`${vol}:/data`],
      waitExit: true,
    });
    await docker.getContainer(c).remove();
    await daemon.waitForLog(
      (l) => l.msg === 'last use recorded' && l['image'] === id && l['event'] === 'container destroy',
    );
    await daemon.waitForLog(
      (l) => l.msg === 'last use recorded' && l['volume'] === vol && l['event'] === 'volume unmount',
    );

    // SIGTERM writes what the events showed.
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    type Entry = { at: number; used: boolean };
    const saved = JSON.parse(readFileSync(stateFile(stateDir, engineId), 'utf8')) as {
      engineId: string;
      images: Record<string, Entry>;
      volumes: Record<string, Entry>;
    };
    expect(saved.engineId).toBe(engineId);
    expect(saved.images[id]?.used).toBe(true);
    expect(saved.images[id]?.at).toBeGreaterThan(Date.now() - DAY);
    expect(saved.volumes[vol]?.used).toBe(true);
    expect(saved.volumes[vol]?.at).toBeGreaterThan(Date.now() - DAY);

    // The next run remembers the use: the image is no longer unused for 7d.
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => v !== undefined && v > 0);
    // (A policy that selects nothing has no reclaimable sample at all.)
    expect((await daemon.metric('reclaimd_reclaimable_objects', { resource: 'image', policy: 'idle' })) ?? 0).toBe(0);
    expect(
      (await daemon.metric('reclaimd_reclaimable_objects', { resource: 'volume', policy: 'idle-vols' })) ?? 0,
    ).toBe(0);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    expect((await plan(configPath)).actions).toEqual([]);
  });

  it('counts a freshly loaded image from when it was first seen, not from its build date', async () => {
    const id = await oldImage('fresh');
    const configPath = writeConfig({ docker: { host }, state: { dir: stateDir } }, { 'p.yaml': idlePolicy('1d') });
    // `once` in dry-run records the first sighting; a later plan still finds it used just now.
    const once = await runCli(['once', '--config', configPath, '--json'], host);
    expect(once.code, once.stderr).toBe(0);
    expect((JSON.parse(once.stdout) as { actions: unknown[] }).actions).toEqual([]);
    expect((await plan(configPath)).actions).toEqual([]);
    const saved = JSON.parse(readFileSync(stateFile(stateDir, engineId), 'utf8')) as {
      images: Record<string, { at: number; used: boolean }>;
    };
    expect(saved.images[id]).toMatchObject({ used: false });
    expect(saved.images[id]?.at).toBeGreaterThan(Date.now() - DAY);

    // The control: by build date the same image is two years old.
    const byAge = writeConfig(
      { docker: { host } },
      {
        'p.yaml': {
          policies: [{ name: 'old', resource: 'image', match: { olderThan: '1d', labels: [`${TEST_LABEL}=${run}`] } }],
        },
      },
    );
    expect((await plan(byAge)).actions.map((a) => a.id)).toEqual([id]);
    // And a remembered first sighting long ago does select it, with that reason.
    const record = emptyRecord();
    record.images.set(id, { at: Date.now() - 20 * DAY, used: false });
    writeFileSync(stateFile(stateDir, engineId), encodeState(engineId, record, Date.now()));
    const reasons = (await plan(configPath)).actions.map((a) => a.reason);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      new RegExp(
        `^labels ${TEST_LABEL}=${run} hold, never seen in use; first seen 20d( [0-9]+s)? ago \\(unusedFor 1d\\)$`,
      ),
    );
  });

  // The cron scenario: `reclaimd once` nightly and no daemon following events in between (or a
  // daemon stopped for weeks). A CI image used hourly by `docker run --rm` has no container at
  // 3am; what the old file says must not make it look unused for weeks.
  it('a state file nobody watched for weeks selects nothing, until a daemon has watched again', async () => {
    const id = await oldImage('cron');
    const record = emptyRecord();
    record.images.set(id, { at: Date.now() - 20 * DAY, used: false });
    mkdirSync(stateDir, { recursive: true });
    const file = stateFile(stateDir, engineId);
    writeFileSync(file, encodeState(engineId, record, Date.now() - 21 * DAY));
    const configPath = writeConfig(
      { docker: { host, pingInterval: '1s' }, schedule: '0 0 1 1 *', state: { dir: stateDir } },
      { 'p.yaml': idlePolicy('1s') },
    );

    expect((await plan(configPath)).actions).toEqual([]);
    const once = await runCli(['once', '--config', configPath, '--mode', 'enforce', '--json'], host);
    expect(once.code, once.stderr).toBe(0);
    expect((JSON.parse(once.stdout) as { actions: unknown[] }).actions).toEqual([]);
    await docker.getImage(id).inspect();
    // `once` watched nothing: the file still says when watching stopped, three weeks ago.
    const afterOnce = JSON.parse(readFileSync(file, 'utf8')) as { savedAt: number };
    expect(afterOnce.savedAt).toBeLessThan(Date.now() - 20 * DAY);

    // A daemon that follows events writes until when it watched; from then on time counts.
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_events_connected', {}, (v) => v === 1);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    const watched = JSON.parse(readFileSync(file, 'utf8')) as { savedAt: number };
    expect(watched.savedAt).toBeGreaterThan(Date.now() - DAY);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await plan(configPath)).actions.map((a) => a.id)).toEqual([id]);
  });

  it('sets a corrupt state file aside, reports it, and removes nothing extra', async () => {
    const id = await oldImage('corrupt');
    mkdirSync(stateDir, { recursive: true });
    const file = stateFile(stateDir, engineId);
    writeFileSync(file, '{"format":1,"engineId":"' + engineId.slice(0, 5));
    const configPath = writeConfig(
      { mode: 'enforce', schedule: '0 0 1 1 *', docker: { host, pingInterval: '1s' }, state: { dir: stateDir } },
      { 'p.yaml': idlePolicy('1d') },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => v !== undefined && v > 0);
    expect(await daemon.metric('reclaimd_state_corrupt_total')).toBe(1);
    await daemon.waitForLog((l) => /the last-use state file is unreadable/.test(l.msg));
    expect(readdirSync(stateDir).some((f) => f.startsWith(`${path.basename(file)}.corrupt-`))).toBe(true);
    expect(await daemon.metric('reclaimd_removed_total', { resource: 'image', policy: 'idle' })).toBe(0);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    // Still there, and the fresh file now counts it from this run.
    await docker.getImage(id).inspect();
    expect(existsSync(file)).toBe(true);
  });

  it('without state.dir, says so and unusedFor selects nothing', async () => {
    await oldImage('nostate');
    const configPath = writeConfig({ docker: { host } }, { 'p.yaml': idlePolicy('1s') });
    const r = await runCli(['plan', '--config', configPath, '--json'], host);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/state.dir is not set: last use is unknown/);
    expect((JSON.parse(r.stdout) as { actions: unknown[] }).actions).toEqual([]);
  });
});
