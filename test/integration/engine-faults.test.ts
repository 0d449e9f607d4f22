// Faults of the engine itself, on an engine of this file's own (so it can be stopped): the
// engine stopped and started again while a removal is in flight, an engine that answers
// slowly, and a connection cut in the middle of an answer. Each must end with a clear error
// or a correct cycle, nothing removed that the plan did not select, and recovery by the next
// cycle. The counts are published in docs/reliability.md.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { connect } from '../../src/engine/client.js';
import { stateFile } from '../../src/runtime/last-use/store.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import { EngineError } from '../../src/engine/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { runCycle, type CycleReport } from '../../src/runtime/cycle/sweep.js';
import { resolveConfig, type Config } from '../../src/core/config/config.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { cleanupRun, createContainer, createVolume, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage, loadImages } from '../support/image-archive.js';
import { SocketProxy } from '../support/socket-proxy.js';
import { startThrowawayEngine, type ThrowawayEngine } from '../support/throwaway-engine.js';
import { containerBytes, layersSize, unsharedImageBytes } from '../support/accounting.js';

const SLOW_RUNS = Number(process.env['RECLAIMD_SLOW_RUNS'] ?? 3);
const CUT_RUNS = Number(process.env['RECLAIMD_CUT_RUNS'] ?? 12);
const STALL_RUNS = Number(process.env['RECLAIMD_STALL_RUNS'] ?? 3);
const RESTART_RUNS = Number(process.env['RECLAIMD_RESTART_RUNS'] ?? 2);
const silent = createLogger('silent');
let engine: ThrowawayEngine;
let docker: Docker;
let run: string;
let proxy: SocketProxy | undefined;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  engine = await startThrowawayEngine();
  docker = dockerFor(engine.host);
  run = newRunId();
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy?.stop();
  proxy = undefined;
  // A test that failed while its engine was stopped must not fail every test after it; resume
  // refuses an engine that runs, which is the usual case.
  await engine?.resume().catch(() => undefined);
});
afterAll(async () => {
  await cleanupRun(docker, run).catch(() => undefined);
  await engine?.stop();
});

/** Ends a run whose daemon logged nothing fatal: SIGTERM, exit 0, and the proxy stopped. */
async function stopCleanly(d: DaemonProcess): Promise<void> {
  expect(d.logs.filter((l) => l.level >= 60)).toEqual([]);
  d.kill('SIGTERM');
  expect(await d.exitCode()).toBe(0);
  daemon = undefined;
  await proxy?.stop();
  proxy = undefined;
}

async function newProxy(): Promise<SocketProxy> {
  proxy = new SocketProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'rp-')), 'engine.sock'),
    engine.host.slice('unix://'.length),
  );
  await proxy.start();
  return proxy;
}

/**
 * Old images of distinct sizes (no shared layers), labelled `set=<set>`; id → the bytes
 * deleting it frees: all the engine lists it as, since it shares nothing (on the classic store
 * its layer, on the containerd image store its snapshot and content).
 */
async function loadSet(set: string, sizes: readonly number[]): Promise<Map<string, number>> {
  const images = new Map<string, number>();
  for (const [i, size] of sizes.entries()) {
    const id = await loadImage(docker, {
      tags: [`rt${run}/${set}:${i}`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run, set },
      layers: [{ files: [{ path: `${set}-${i}`, size }] }],
    });
    images.set(id, await unsharedImageBytes(docker, id));
  }
  return images;
}

async function present(ids: Iterable<string>): Promise<string[]> {
  const listed = new Set((await docker.listImages({ all: true })).map((i) => i.Id));
  return [...ids].filter((id) => listed.has(id));
}

function configFor(policies: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): Config {
  const r = resolveConfig('faults.yaml', { policies: ['p.yaml'], ...extra }, [
    { file: 'p.yaml', text: JSON.stringify({ policies }) },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

/** What `work` resolves to, its EngineError, or 'hung' if it does neither within `ms`. */
async function settle<T>(work: Promise<T>, ms = 20_000): Promise<T | EngineError | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  try {
    return await Promise.race([
      work.catch((err: unknown) => (err instanceof EngineError ? err : Promise.reject(err))),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const gt = (n: number) => (v: number | undefined) => (v ?? 0) > n;
const isDelete = (head: string) => /^DELETE \/v[\d.]+\/images\//.test(head);

describe('the engine stopped and started again while a removal is in flight', () => {
  // 'request': the DELETE never reached the engine; 'answer': the engine deleted the image but
  // stopped before reclaimd heard so. SIGKILL is a crash rather than an orderly stop.
  const variants = [
    { phase: 'request', signal: 'SIGTERM' },
    { phase: 'answer', signal: 'SIGTERM' },
    { phase: 'request', signal: 'SIGKILL' },
  ] as const;

  it.each(variants)(
    `held at the $phase, engine stopped with $signal: the cycle fails clearly, the next one finishes the work (${RESTART_RUNS} times)`,
    async ({ phase, signal }) => {
      for (let i = 0; i < RESTART_RUNS; i++)
        await stopMidRemoval(phase, signal, `restart-${phase}-${signal.toLowerCase()}-${i}`);
    },
  );
});

/** One run: the first removal is held at `phase`, the engine stopped with `signal` and started again. */
async function stopMidRemoval(phase: 'request' | 'answer', signal: 'SIGTERM' | 'SIGKILL', set: string): Promise<void> {
  const images = await loadSet(set, [100_000, 110_000, 120_000]);
  const p = await newProxy();
  const held = p.holdAt(isDelete, phase);
  const configPath = writeConfig(
    {
      mode: 'enforce',
      schedule: '* * * * * *',
      docker: { host: `unix://${p.path}`, pingInterval: '1s', timeout: '3s' },
      limits: { concurrentRemovals: 1 },
    },
    { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { olderThan: '30d', labels: [`set=${set}`] } }] } },
  );
  daemon = new DaemonProcess(['--config', configPath]);
  await daemon.started();

  // The first removal request is held by the proxy; the engine stops under it.
  const head = await held;
  const heldId = [...images.keys()].find(
    (id) => head.includes(id.slice('sha256:'.length)) || head.includes(encodeURIComponent(id)),
  );
  expect(heldId, head).toBeDefined();
  await engine.halt(signal);

  const stopped = await daemon.waitForLog((l) => l.msg === 'engine unreachable; stopping this cycle');
  expect(stopped).toMatchObject({ resource: 'image', policy: 'p', id: heldId });
  expect(stopped['err']).toMatch(/socket hang up|ECONNRESET|EPIPE/);
  const finished = await daemon.waitForLog((l) => l.msg === 'cycle finished');
  expect(finished).toMatchObject({ result: 'failure', removed: 0, planned: 3 });
  await daemon.waitForMetric('reclaimd_docker_up', {}, (v) => v === 0);
  expect(await daemon.metric('reclaimd_cycles_total', { result: 'failure' })).toBeGreaterThan(0);
  expect((await daemon.metric('reclaimd_removed_total', { resource: 'image', policy: 'p' })) ?? 0).toBe(0);

  // The engine comes back on the same data root; the proxy still holds everything, so what
  // the interrupted cycle left can be looked at before the daemon goes on.
  await engine.resume();
  const gone = phase === 'answer' ? [heldId] : [];
  expect((await present(images.keys())).sort()).toEqual([...images.keys()].filter((id) => !gone.includes(id)).sort());

  p.thaw();
  await daemon.waitForMetric('reclaimd_docker_up', {}, (v) => v === 1);
  const successes = (await daemon.metric('reclaimd_cycles_total', { result: 'success' })) ?? 0;
  await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, gt(successes));
  // Removals resume. The image the engine deleted unheard counts too, once: the next cycle's
  // snapshot shows it gone, and it frees what it held alone.
  await daemon.waitForMetric('reclaimd_removed_total', { resource: 'image', policy: 'p' }, (v) => v === images.size);
  expect(await daemon.metric('reclaimd_reclaimed_bytes_total', { resource: 'image', policy: 'p' })).toBe(
    [...images.values()].reduce((s, b) => s + b, 0),
  );
  const settled = daemon.logs.filter(
    (l) => l.msg === 'removed by an earlier cycle: the engine carried out a removal whose outcome was in doubt',
  );
  expect(settled.map((l) => [l['id'], l['bytes']])).toEqual(gone.map((id) => [id, images.get(id as string)]));
  expect(await present(images.keys())).toEqual([]);
  await stopCleanly(daemon);
}

describe('the engine stopped and started again in the middle of a cycle of many removals', () => {
  // 12 containers and 28 images, four removals in flight at a time (the example config's
  // concurrentRemovals), every answer 100 ms late, so the cycle is seconds long. The engine
  // carries out one removal, then stops before its answer reaches reclaimd (the proxy holds it
  // and lets nothing more through), so that one removal's outcome is in doubt on every run; the
  // other requests in flight break off. Then the engine starts again on the same data root.
  const variants = [
    { signal: 'SIGTERM', held: 'image' },
    { signal: 'SIGKILL', held: 'container' },
  ] as const;

  it.each(variants)(
    'stopped with $signal after an unheard $held removal: the cycle fails, the next counts what the engine removed with the bytes the disk got back',
    async ({ signal, held }) => {
      const set = `mid-${signal.toLowerCase()}`;
      const base = await loadImage(docker, {
        tags: [`rt${run}/${set}-base:1`],
        created: new Date('2023-01-01'),
        labels: { [TEST_LABEL]: run },
        layers: [{ files: [{ path: `${set}-base`, size: 5_000 }] }],
      });
      const ids = await loadImages(
        docker,
        Array.from({ length: 28 }, (_, i) => ({
          tags: [`rt${run}/${set}:${i}`],
          created: new Date('2023-01-01'),
          labels: { [TEST_LABEL]: run, set },
          layers: [{ files: [{ path: `${set}-${i}`, size: 20_000 + i * 1_000 }] }],
        })),
      );
      const listed = new Map((await docker.listImages({ all: true })).map((i) => [i.Id, i.Size]));
      const images = new Map(ids.map((id) => [id, listed.get(id) as number]));
      const created = await Promise.all(
        Array.from({ length: 12 }, () =>
          createContainer(docker, { image: base, runId: run, labels: { set }, cmd: ['true'] }),
        ),
      );
      const containers = new Map(
        await Promise.all(created.map(async (id) => [id, await containerBytes(docker, id)] as const)),
      );
      // What no policy selects: the containers' image, a fresh image of the set, a container of no set.
      const fresh = await loadImage(docker, {
        tags: [`rt${run}/${set}:fresh`],
        created: new Date(),
        labels: { [TEST_LABEL]: run, set },
        layers: [{ files: [{ path: `${set}-fresh`, size: 7_000 }] }],
      });
      const bystander = await createContainer(docker, { image: base, runId: run, cmd: ['true'] });
      const before = await layersSize(docker);

      const p = await newProxy();
      p.delay(100);
      // The sixth removal request of the kind: by then removals of both kinds are under way.
      let seen = 0;
      const kind = held === 'image' ? isDelete : (h: string) => /^DELETE \/v[\d.]+\/containers\//.test(h);
      const holding = p.holdAt((h) => kind(h) && ++seen === 6, 'answer');
      const configPath = writeConfig(
        {
          mode: 'enforce',
          schedule: '* * * * * *',
          docker: { host: `unix://${p.path}`, pingInterval: '1s', timeout: '2s' },
          limits: { concurrentRemovals: 4 },
        },
        {
          'p.yaml': {
            policies: [
              { name: 'old-containers', resource: 'container', match: { labels: [`set=${set}`] } },
              { name: 'old-images', resource: 'image', match: { olderThan: '30d', labels: [`set=${set}`] } },
            ],
          },
        },
      );
      daemon = new DaemonProcess(['--config', configPath]);
      await daemon.started();
      const head = await holding;
      const heldId = [...images.keys(), ...containers.keys()].find((id) => head.includes(id.replace(/^sha256:/, '')));
      expect(heldId, head).toBeDefined();
      await engine.halt(signal);

      // The cycle fails and says why; the held removal is in doubt, neither removed nor skipped.
      const finished = await daemon.waitForLog((l) => l.msg === 'cycle finished');
      expect(finished).toMatchObject({ result: 'failure', planned: 40 });
      expect(finished['failure']).toMatch(/removals? in doubt/);
      expect(daemon.logs.filter((l) => l['inDoubt'] === true).map((l) => l['id'])).toContain(heldId);
      expect(daemon.logs.some((l) => l.msg === 'removed' && l['id'] === heldId)).toBe(false);
      expect(await daemon.metric('reclaimd_cycles_total', { result: 'failure' })).toBeGreaterThanOrEqual(1);
      expect(await daemon.metric('reclaimd_cycles_total', { result: 'success' })).toBe(0);

      // Back on the same data root; the proxy still holds everything, so what the engine really
      // did can be read before the daemon goes on: the held removal was carried out.
      await engine.resume();
      expect(await present([heldId as string])).toEqual([]);
      expect((await docker.listContainers({ all: true, filters: { id: [heldId as string] } })).length).toBe(0);
      p.delay(0);
      p.thaw();

      // The next cycle that succeeds counts the unheard removal from its snapshot and removes the
      // rest: every planned object once, with the bytes the engine's own figures say came back.
      await daemon.waitForLog((l) => l.msg === 'cycle finished' && l['result'] === 'success', 60_000);
      expect(await present([...images.keys()])).toEqual([]);
      expect((await docker.listContainers({ all: true, filters: { label: [`set=${set}`] } })).map((c) => c.Id)).toEqual(
        [],
      );
      expect(await present([base, fresh])).toEqual([base, fresh]);
      expect((await docker.listContainers({ all: true, filters: { id: [bystander] } })).length).toBe(1);
      const settled = daemon.logs.filter(
        (l) => l.msg === 'removed by an earlier cycle: the engine carried out a removal whose outcome was in doubt',
      );
      expect(settled.map((l) => [l['id'], l['bytes']])).toEqual([
        [heldId, images.get(heldId as string) ?? containers.get(heldId as string)],
      ]);
      expect(
        daemon.logs
          .filter((l) => l.msg === 'cycle finished' && l['removedEarlier'] !== undefined)
          .map((l) => l['removedEarlier']),
      ).toEqual([1]);

      // The endpoint serves one rendering for up to a second (METRICS_REUSE_MS): wait for one
      // made after that cycle.
      await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, gt(0));
      expect(await daemon.metric('reclaimd_removed_total', { resource: 'image', policy: 'old-images' })).toBe(
        images.size,
      );
      expect(await daemon.metric('reclaimd_removed_total', { resource: 'container', policy: 'old-containers' })).toBe(
        containers.size,
      );
      // The engine's own figures: what each image and container held, and the drop in LayersSize
      // (which on the containerd image store counts the containers' snapshots too).
      const imageBytes = [...images.values()].reduce((s, b) => s + b, 0);
      const containerTotal = [...containers.values()].reduce((s, b) => s + b, 0);
      const drop = before - (await layersSize(docker));
      const reportedImages =
        (await daemon.metric('reclaimd_reclaimed_bytes_total', { resource: 'image', policy: 'old-images' })) ?? 0;
      const reportedContainers =
        (await daemon.metric('reclaimd_reclaimed_bytes_total', { resource: 'container', policy: 'old-containers' })) ??
        0;
      process.stdout.write(
        `in doubt ${engine.variant.name} ${signal}: LayersSize drop ${drop}; engine figures images ${imageBytes}, containers ${containerTotal}; reported ${reportedImages}, ${reportedContainers}\n`,
      );
      expect(reportedImages).toBe(imageBytes);
      expect(reportedContainers).toBe(containerTotal);
      expect(reportedImages + (engine.variant.containerdStore ? reportedContainers : 0)).toBe(drop);
      expect(await daemon.metric('reclaimd_reclaimed_unknown_total', { resource: 'image', policy: 'old-images' })).toBe(
        0,
      );
      expect(
        await daemon.metric('reclaimd_reclaimed_unknown_total', { resource: 'container', policy: 'old-containers' }),
      ).toBe(0);
      await stopCleanly(daemon);
    },
  );
});

describe('the engine stopped with SIGTERM under removals at full speed', () => {
  // No proxy and no delay: 80 images, four at a time. While Docker 20.10 shuts down it still
  // answers on open connections, with 500 "error deleting lease" for image deletions (having
  // untagged each image first); Docker 28.5 answered 500 for removals it had carried out. So
  // the cycle can end without a single lost connection: it must still count as failed.
  it('at full speed: the cycle fails; the next ones remove the rest, and every image is counted once with its true bytes', async () => {
    const set = 'full-speed';
    const ids = await loadImages(
      docker,
      Array.from({ length: 80 }, (_, i) => ({
        tags: [`rt${run}/${set}:${i}`],
        created: new Date('2023-01-01'),
        labels: { [TEST_LABEL]: run, set },
        layers: [{ files: [{ path: `${set}-${i}`, size: 10_000 + i * 100 }] }],
      })),
    );
    const listed = new Map((await docker.listImages({ all: true })).map((i) => [i.Id, i.Size]));
    const bytes = ids.reduce((sum, id) => sum + (listed.get(id) as number), 0);
    const before = await layersSize(docker);
    const configPath = writeConfig(
      {
        mode: 'enforce',
        schedule: '* * * * * *',
        docker: { host: engine.host, pingInterval: '1s', timeout: '2s' },
        limits: { concurrentRemovals: 4 },
      },
      {
        'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { olderThan: '30d', labels: [`set=${set}`] } }] },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    const d = daemon;
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'removed').length >= 20, 60_000);
    await engine.halt('SIGTERM');
    const stopped = await daemon.waitForLog((l) => l.msg === 'cycle finished');
    expect(stopped['result']).toBe('failure');
    expect(stopped['removed']).toBeLessThan(ids.length);
    await engine.resume();

    await daemon.waitForLog((l) => l.msg === 'cycle finished' && l['result'] === 'success', 60_000);
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, gt(0));
    expect(await present(ids)).toEqual([]);
    expect(await daemon.metric('reclaimd_removed_total', { resource: 'image', policy: 'p' })).toBe(ids.length);
    const drop = before - (await layersSize(docker));
    const reported = await daemon.metric('reclaimd_reclaimed_bytes_total', { resource: 'image', policy: 'p' });
    process.stdout.write(
      `full speed ${engine.variant.name}: first cycle ${JSON.stringify({ removed: stopped['removed'], skipped: stopped['skipped'], inDoubt: stopped['inDoubt'], failure: String(stopped['failure']).slice(0, 120) })}; LayersSize drop ${drop}, images ${bytes}, reported ${reported}\n`,
    );
    expect(reported).toBe(bytes);
    expect(drop).toBe(bytes);
    expect(await daemon.metric('reclaimd_reclaimed_unknown_total', { resource: 'image', policy: 'p' })).toBe(0);
    await stopCleanly(daemon);
  });
});

describe('SIGTERM while a removal is in flight', () => {
  it('lets that removal finish and count, starts no other, writes the last-use state, exits 0', async () => {
    const set = 'sigterm';
    const images = await loadSet(set, [100_000, 110_000, 120_000]);
    const p = await newProxy();
    // Answers come 2 s late: the first DELETE reaches the engine at once, its answer later.
    p.delay(2000);
    const firstDelete = p.seen(isDelete);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'reclaimd-state-'));
    const configPath = writeConfig(
      {
        mode: 'enforce',
        schedule: '0 0 1 1 *',
        docker: { host: `unix://${p.path}`, timeout: '10s' },
        limits: { concurrentRemovals: 1 },
        state: { dir: stateDir },
      },
      {
        'p.yaml': {
          policies: [
            { name: 'p', resource: 'image', match: { olderThan: '30d', labels: [`set=${set}`] } },
            // Only so that the daemon follows events and keeps a state file; selects nothing.
            { name: 'idle', resource: 'volume', match: { unusedFor: '3650d', labels: [`set=${set}`] } },
          ],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    const head = await firstDelete;
    const signalledAt = Date.now();
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    const logs = daemon.logs;
    daemon = undefined;

    const heldId = [...images.keys()].find((id) => head.includes(id.slice('sha256:'.length)));
    expect(heldId, head).toBeDefined();
    // The removal in flight finished and was reported with its true bytes; no other started.
    const removed = logs.filter((l) => l.msg === 'removed');
    expect(removed).toEqual([expect.objectContaining({ id: heldId, bytes: images.get(heldId as string) })]);
    expect((await present(images.keys())).sort()).toEqual([...images.keys()].filter((id) => id !== heldId).sort());
    expect(logs.some((l) => l.msg === 'reclaimd stopped')).toBe(true);
    // The state was flushed on the way out (nothing writes it before the first cycle ends).
    const info = (await docker.info()) as { ID: string };
    expect(statSync(stateFile(stateDir, info.ID)).mtimeMs).toBeGreaterThanOrEqual(signalledAt);
  });
});

describe('an engine that answers slowly', () => {
  it(`with every answer 300 ms late, plans and removes exactly what it does at full speed (${SLOW_RUNS} times)`, async () => {
    const p = await newProxy();
    p.delay(300);
    for (let i = 0; i < SLOW_RUNS; i++) {
      const set = `slow-${i}`;
      const old = await loadSet(set, [30_000, 31_000]);
      const fresh = await loadImage(docker, {
        tags: [`rt${run}/${set}:new`],
        created: new Date(),
        labels: { [TEST_LABEL]: run, set },
        layers: [{ files: [{ path: `${set}-new`, size: 32_000 }] }],
      });
      const config = configFor([
        { name: 'slow', resource: 'image', match: { olderThan: '30d', labels: [`set=${set}`] } },
      ]);
      const now = Date.now();
      const direct = await runCycle(
        new EngineAdapter(await connect(engine.host)),
        config,
        { mode: 'dry-run', now },
        silent,
      );
      const slowAdapter = new EngineAdapter(await connect(`unix://${p.path}`, 5_000));
      const slow = await runCycle(slowAdapter, config, { mode: 'dry-run', now }, silent);
      expect(slow.plan).toEqual(direct.plan);
      expect(slow.plan.actions.map((a) => a.id).sort()).toEqual([...old.keys()].sort());

      const enforced = await runCycle(slowAdapter, config, { mode: 'enforce', now }, silent);
      expect(enforced.interrupted).toBeUndefined();
      expect(enforced.skipped).toEqual([]);
      expect(enforced.removed.map((r) => [r.id, r.bytes]).sort()).toEqual([...old.entries()].sort());
      expect(await present([...old.keys(), fresh])).toEqual([fresh]);
    }
  });
});

describe('a connection cut in the middle of an answer', () => {
  // Cut points inside the body of a list answer, and the list it is cut from. Each list holds
  // more than the largest offset: a container and a volume of this run are there for that.
  const lists = {
    images: /^GET \/v[\d.]+\/images\/json[ ?]/,
    containers: /^GET \/v[\d.]+\/containers\/json[ ?]/,
    volumes: /^GET \/v[\d.]+\/volumes[ ?]/,
  };
  const offsets = [0, 1, 17, 100];

  it(`fails the cycle clearly, removes nothing, and the next cycle succeeds (${CUT_RUNS} times)`, async () => {
    const p = await newProxy();
    const config = configFor([{ name: 'cut', resource: 'image', match: { olderThan: '30d', labels: [`set=cut`] } }], {
      limits: { concurrentRemovals: 1 },
    });
    const bystander = await loadImage(docker, {
      tags: [`rt${run}/cut:bystander`],
      created: new Date(),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: 'bystander', size: 10 }] }],
    });
    await createContainer(docker, { image: bystander, runId: run, cmd: ['true'] });
    await createVolume(docker, { runId: run, name: `rt${run}-cut` });
    let images = await loadSet('cut', [40_000, 41_000, 42_000]);
    for (let i = 0; i < CUT_RUNS; i++) {
      const [list, request] = Object.entries(lists)[i % 3] as [string, RegExp];
      const bytes = offsets[i % offsets.length] as number;
      const cut = p.cutAnswer((head) => request.test(head), bytes);
      const adapter = new EngineAdapter(await connect(`unix://${p.path}`, 5_000));
      const failed = await settle(runCycle(adapter, config, { mode: 'enforce', now: Date.now() }, silent));
      expect(await settle(cut, 1000), `the ${list} answer was cut`).toBeUndefined();
      expect(failed, `cut ${list} after ${bytes} bytes`).toBeInstanceOf(EngineError);
      expect((failed as EngineError).kind).toBe('unreachable');
      expect((failed as EngineError).message).toMatch(
        /^ECONNRESET: GET \/(images|containers)\/json: the answer broke off before its end|^ECONNRESET: GET \/volumes: the answer broke off before its end/,
      );
      expect((await present(images.keys())).sort(), 'nothing removed').toEqual([...images.keys()].sort());

      // The daemon reconnects after an unreachable engine; so does this next cycle.
      const next = await settle(
        runCycle(
          new EngineAdapter(await connect(`unix://${p.path}`, 5_000)),
          config,
          { mode: 'enforce', now: Date.now() },
          silent,
        ),
      );
      expect(next).not.toBe('hung');
      expect((next as CycleReport).interrupted).toBeUndefined();
      expect((next as CycleReport).removed.map((r) => [r.id, r.bytes]).sort()).toEqual([...images.entries()].sort());
      expect(await present(images.keys())).toEqual([]);
      if (i + 1 < CUT_RUNS) images = await loadSet('cut', [40_000, 41_000, 42_000]);
    }
  });
});

describe('an answer that stops in the middle', () => {
  it(`fails the request after docker.timeout, removes nothing, and the next cycle succeeds (${STALL_RUNS} times)`, async () => {
    const p = await newProxy();
    const config = configFor([
      { name: 'stall', resource: 'image', match: { olderThan: '30d', labels: [`set=stall`] } },
    ]);
    const images = await loadSet('stall', [50_000, 51_000]);
    for (let i = 0; i < STALL_RUNS; i++) {
      const stall = p.cutAnswer((head) => /^GET \/v[\d.]+\/images\/json[ ?]/.test(head), 10 * i, 'stall');
      const adapter = new EngineAdapter(await connect(`unix://${p.path}`, 1_000));
      const failed = await settle(runCycle(adapter, config, { mode: 'enforce', now: Date.now() }, silent));
      expect(await settle(stall, 1000), 'the answer stalled').toBeUndefined();
      expect(failed).toBeInstanceOf(EngineError);
      expect((failed as EngineError).kind).toBe('unreachable');
      expect((failed as EngineError).message).toMatch(
        /^ETIMEDOUT: GET \/images\/json: no answer for 1000 ms \(docker.timeout\)/,
      );
      expect((await present(images.keys())).sort(), 'nothing removed').toEqual([...images.keys()].sort());
      const next = await settle(
        runCycle(
          new EngineAdapter(await connect(`unix://${p.path}`, 1_000)),
          config,
          { mode: 'dry-run', now: Date.now() },
          silent,
        ),
      );
      expect((next as CycleReport).interrupted).toBeUndefined();
      expect((next as CycleReport).plan.actions.map((a) => a.id).sort()).toEqual([...images.keys()].sort());
    }
  });
});

describe('the daemon, when a list answer is cut', () => {
  it('logs the failed cycle with its cause, removes nothing in it, and the next cycle does the work', async () => {
    const images = await loadSet('cut-daemon', [60_000, 61_000]);
    const p = await newProxy();
    // Armed before the daemon starts, so its first cycle meets it.
    const cut = p.cutAnswer((head) => /^GET \/v[\d.]+\/images\/json[ ?]/.test(head), 100);
    const configPath = writeConfig(
      {
        mode: 'enforce',
        schedule: '* * * * * *',
        docker: { host: `unix://${p.path}`, pingInterval: '1s', timeout: '3s' },
      },
      {
        'p.yaml': {
          policies: [{ name: 'p', resource: 'image', match: { olderThan: '30d', labels: ['set=cut-daemon'] } }],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await cut;
    const failed = await daemon.waitForLog(
      (l) => l.msg === 'cycle failed: the Docker engine is unreachable; nothing was removed, will retry',
    );
    expect(failed['err']).toMatch(/ECONNRESET: GET \/images\/json: the answer broke off before its end/);
    // Cycles never overlap, so a removal logged before the failure would be the failed
    // cycle's; the next scheduled cycle (every second) may already be removing by now.
    expect(daemon.logs.slice(0, daemon.logs.indexOf(failed)).some((l) => l.msg === 'removed')).toBe(false);
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, gt(0));
    await daemon.waitForMetric('reclaimd_removed_total', { resource: 'image', policy: 'p' }, (v) => v === 2);
    expect(await daemon.metric('reclaimd_reclaimed_bytes_total', { resource: 'image', policy: 'p' })).toBe(
      [...images.values()].reduce((a, b) => a + b, 0),
    );
    expect(await daemon.metric('reclaimd_cycles_total', { result: 'failure' })).toBeGreaterThan(0);
    expect(await present(images.keys())).toEqual([]);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;
  });
});
