// Containers and volumes on the real engine: what stopped containers a policy removes, that
// running ones and mounted volumes stay, that a container's anonymous volumes go with it when
// asked, that an image used only by a removed container goes in the same cycle, and that
// predicted bytes equal reported bytes.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import {
  cleanupRun,
  createContainer,
  createVolume,
  dockerFor,
  listRunObjects,
  newRunId,
  TEST_LABEL,
} from '../support/fixtures.js';
import { buildLayerTar, busyboxLayer, loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { containerBytes, expectAccounting, layersSize, writableLayerBytes } from '../support/accounting.js';
import { connect } from '../../src/engine/client.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import type { ContainerMeasure } from '../../src/engine/engine.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { createLogger } from '../../src/runtime/logger.js';
import { resolveConfig } from '../../src/core/config/config.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let image: string;

type Row = { resource: string; id: string; name: string; policy: string; reason: string; bytes: number | null };
interface Report {
  actions: Row[];
  kept: Row[];
  totals: { count: number; bytes: number; range?: { low: number; high: number } };
  removed: Array<{ resource: string; id: string; bytes: number | null; predictedBytes: number | null }>;
  reclaimed: { count: number; bytes: number };
}

async function cli(args: string[]): Promise<Report> {
  const r = await runCli([...args, '--json'], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function volumeExists(name: string): Promise<boolean> {
  const { Volumes } = await docker.listVolumes();
  return (Volumes ?? []).some((v) => v.Name === name);
}

async function anonymousVolumeOf(id: string): Promise<string> {
  const info = await docker.getContainer(id).inspect();
  const m = info.Mounts.find((x) => x.Type === 'volume');
  if (!m?.Name) throw new Error('no volume mount');
  return m.Name;
}

beforeEach(async () => {
  docker = dockerFor(host);
  run = newRunId();
  image = await loadImage(docker, {
    tags: [`rt${run}/busybox:1`],
    created: new Date('2024-05-01'),
    labels: { [TEST_LABEL]: run },
    layers: [busyboxLayer()],
  });
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

describe('containers and volumes', () => {
  it('removes stopped containers, their anonymous volumes and unused volumes; keeps running and mounted ones', async () => {
    const inUse = await createVolume(docker, { runId: run, name: `rt${run}-in-use` });
    const free = await createVolume(docker, { runId: run, name: `rt${run}-free` });
    // Put 50,000 bytes into the free volume with a container that is then removed by the test.
    const writer = await createContainer(docker, {
      image,
      runId: run,
      binds: [`${free}:/v`],
      cmd: ['dd', 'if=/dev/zero', 'of=/v/data', 'bs=1000', 'count=50'],
      waitExit: true,
    });
    await docker.getContainer(writer).remove();

    const ok = await createContainer(docker, {
      image,
      runId: run,
      name: `rt${run}-ok`,
      cmd: ['dd', 'if=/dev/zero', 'of=/out', 'bs=1000', 'count=100'],
      waitExit: true,
    });
    const failed = await createContainer(docker, {
      image,
      runId: run,
      name: `rt${run}-failed`,
      anonymousVolume: '/keep',
      cmd: ['sh', '-c', 'exit 3'],
      waitExit: true,
    });
    const anonKept = await anonymousVolumeOf(failed);
    const created = await createContainer(docker, { image, runId: run, name: `rt${run}-created`, cmd: ['true'] });
    const running = await createContainer(docker, {
      image,
      runId: run,
      name: `rt${run}-running`,
      cmd: ['sleep', '300'],
      binds: [`${inUse}:/v`],
      start: true,
    });
    const withAnon = await createContainer(docker, {
      image,
      runId: run,
      name: `rt${run}-anon`,
      anonymousVolume: '/anon',
      cmd: ['dd', 'if=/dev/zero', 'of=/anon/data', 'bs=1000', 'count=30'],
      waitExit: true,
    });
    const anon = await anonymousVolumeOf(withAnon);
    await sleep(1500); // stoppedFor: 1s needs the containers to have been stopped that long

    const config = writeConfig(
      { mode: 'enforce' },
      {
        'p.yaml': {
          policies: [
            {
              name: 'exited',
              resource: 'container',
              match: {
                status: ['exited', 'created'],
                stoppedFor: '1s',
                exitCode: [0],
                labels: [`${TEST_LABEL}=${run}`],
              },
              removeAnonymousVolumes: true,
            },
            { name: 'run-volumes', resource: 'volume', match: { names: [`rt${run}-*`] } },
            // Every test cleans up after itself and files run one at a time, so the only
            // anonymous volumes on the engine now are this test's.
            { name: 'orphans', resource: 'volume', match: { anonymous: true } },
            { name: 'run-images', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } },
          ],
        },
      },
    );

    const expected = { ok: await containerBytes(docker, ok), created: await containerBytes(docker, created) };
    const plan = await cli(['plan', '--config', config]);
    const planned = plan.actions.map((a) => [a.resource, a.id, a.policy]);
    expect(planned).toEqual([
      ...[
        ['container', ok, 'exited'],
        ['container', created, 'exited'],
        ['container', withAnon, 'exited'],
      ].sort((a, b) => ((a[1] as string) < (b[1] as string) ? -1 : 1)),
      ...[
        ['volume', anon, 'exited'],
        ['volume', free, 'run-volumes'],
      ].sort((a, b) => ((a[1] as string) < (b[1] as string) ? -1 : 1)),
    ]);
    const bytes = Object.fromEntries(plan.actions.map((a) => [a.id, a.bytes]));
    expect(bytes[ok]).toBe(expected.ok);
    expect(bytes[created]).toBe(expected.created);
    // 100 kB written: on the containerd image store, whole blocks and the -init snapshot below.
    expect(expected.ok).toBeGreaterThanOrEqual(writableLayerBytes(100_000));
    // A container that never ran has an empty writable layer.
    expect(expected.created).toBeGreaterThanOrEqual(writableLayerBytes(0));
    if (!inject('containerdStore')) expect([expected.ok, expected.created]).toEqual([100_000, 0]);
    expect(bytes[free]).toBe(50_000);
    expect(bytes[anon]).toBe(30_000);
    const kept = Object.fromEntries(plan.kept.map((k) => [k.id, k.reason]));
    expect(kept[inUse]).toBe(`mounted by container rt${run}-running (running)`);
    expect(kept[anonKept]).toBe(`mounted by container rt${run}-failed (exited)`);
    expect(kept[image]).toMatch(/in use by container rt\w+-(failed|running)/);

    const report = await cli(['once', '--config', config]);
    expect(report.reclaimed).toEqual({ count: 5, bytes: plan.totals.bytes });
    for (const r of report.removed) expect(r.bytes).toBe(r.predictedBytes);

    const left = await listRunObjects(docker, run);
    expect(left.containers.map((c) => c.id).sort()).toEqual([failed, running].sort());
    expect(left.images.map((i) => i.id)).toEqual([image]);
    expect(await volumeExists(inUse)).toBe(true);
    expect(await volumeExists(free)).toBe(false);
    expect(await volumeExists(anon)).toBe(false);
    expect(await volumeExists(anonKept)).toBe(true);
  });

  it('removes an image in the same cycle as the last container that used it', async () => {
    const user = await createContainer(docker, { image, runId: run, cmd: ['true'], waitExit: true });
    const config = writeConfig(
      { mode: 'enforce' },
      {
        'p.yaml': {
          policies: [
            // Images are listed first on purpose: planning order is containers, images, volumes.
            { name: 'run-images', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } },
            { name: 'exited', resource: 'container', match: { labels: [`${TEST_LABEL}=${run}`] } },
          ],
        },
      },
    );
    const planned = await cli(['plan', '--config', config]);
    const before = await layersSize(docker);
    const report = await cli(['once', '--config', config]);
    expect(report.removed.map((r) => [r.resource, r.id])).toEqual([
      ['container', user],
      ['image', image],
    ]);
    expect(report.removed[1]?.bytes).toBeGreaterThan(1_000_000);
    // LayersSize counts the image; on the containerd image store the container's snapshots too.
    const counted = (rows: ReadonlyArray<{ resource: string; bytes: number | null }>) =>
      rows
        .filter((r) => r.resource === 'image' || inject('containerdStore'))
        .reduce((sum, r) => sum + (r.bytes ?? 0), 0);
    expectAccounting('an image freed by removing its container', {
      predicted: counted(planned.actions),
      range: planned.totals.range,
      reported: counted(report.removed),
      engine: before - (await layersSize(docker)),
    });
    expect(await listRunObjects(docker, run)).toEqual({ images: [], containers: [], volumes: [] });
  });

  it('measures created containers with one list call: true bytes for one that holds copied files, and one started after the listing stays', async () => {
    const plain = await createContainer(docker, { image, runId: run, cmd: ['sleep', '300'] });
    const copied = await createContainer(docker, { image, runId: run, cmd: ['sleep', '300'] });
    const late = await createContainer(docker, { image, runId: run, cmd: ['sleep', '300'] });
    // `docker cp` is the one way a container that never ran holds data in its writable layer.
    await docker
      .getContainer(copied)
      .putArchive(await buildLayerTar({ files: [{ path: 'blob', size: 30_000 }] }), { path: '/' });
    /** The real adapter; the third container starts after the listing, just before measuring. */
    class StartingAdapter extends EngineAdapter {
      measureCalls = 0;
      override async measureContainers(ids: readonly string[]): Promise<Map<string, ContainerMeasure>> {
        await docker.getContainer(late).start();
        const before = this.calls;
        const measured = await super.measureContainers(ids);
        this.measureCalls = this.calls - before;
        return measured;
      }
    }
    const expected = { plain: await containerBytes(docker, plain), copied: await containerBytes(docker, copied) };
    expect(expected.copied - expected.plain).toBeGreaterThanOrEqual(writableLayerBytes(30_000) - writableLayerBytes(0));
    const adapter = new StartingAdapter(await connect(host));
    const r = resolveConfig('c.yaml', { policies: ['p.yaml'], limits: { concurrentRemovals: 4 } }, [
      {
        file: 'p.yaml',
        text: JSON.stringify({
          policies: [
            {
              name: 'created',
              resource: 'container',
              match: { status: ['created'], labels: [`${TEST_LABEL}=${run}`] },
            },
          ],
        }),
      },
    ]);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const report = await runCycle(adapter, r.value, { mode: 'enforce', now: Date.now() }, createLogger('silent'));
    expect(report.removed.map((x) => [x.id, x.bytes, x.predictedBytes]).sort()).toEqual(
      [
        [plain, expected.plain, expected.plain],
        [copied, expected.copied, expected.copied],
      ].sort(),
    );
    expect(report.skipped).toEqual([]);
    // One list for the containers still created, one inspect for the one that started.
    expect(adapter.measureCalls).toBe(2);
    expect((await listRunObjects(docker, run)).containers).toEqual([{ id: late, state: 'running' }]);
  });

  it('never removes a running container, whatever the policy says', async () => {
    const running = await createContainer(docker, { image, runId: run, cmd: ['sleep', '300'], start: true });
    const config = writeConfig(
      { mode: 'enforce' },
      {
        'p.yaml': {
          policies: [
            { name: 'all', resource: 'container', match: {} },
            { name: 'imgs', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } },
          ],
        },
      },
    );
    const report = await cli(['once', '--config', config]);
    expect(report.removed.filter((r) => r.id === running || r.id === image)).toEqual([]);
    expect((await listRunObjects(docker, run)).containers).toEqual([{ id: running, state: 'running' }]);
  });
});
