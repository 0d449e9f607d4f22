// The cycle (snapshot → plan → measure → guard → execute) against the fake engine, whose rules
// are checked against the real engine by the contract suite. Each test lists the exact engine
// calls it expects, and races are staged in the fake's hook just before a removal runs.
import { describe, expect, it } from 'vitest';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import type { Mode } from '../../src/core/config/config.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, config, container, image, NOW, volume } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

const base = image({ id: 'i-base', tags: ['app:base'], layers: [['L0', 1000]] });
const app1 = image({
  id: 'i-1',
  tags: ['app:1', 'app:1b'],
  layers: [
    ['L0', 1000],
    ['L1', 100],
  ],
  created: ago(60),
});
const app2 = image({
  id: 'i-2',
  tags: ['app:2'],
  layers: [
    ['L0', 1000],
    ['L2', 200],
  ],
  created: ago(60),
});
const done = container({
  name: 'done',
  id: 'c-done',
  image: app2,
  state: 'exited',
  finishedAt: ago(2),
  exitCode: 0,
  sizeRw: 4096,
  volumes: ['vol-anon'],
});
const anon = volume({ name: 'vol-anon', size: 777, labels: { 'com.docker.volume.anonymous': '' } });
const loose = volume({ name: 'vol-loose', size: 5000 });

// One removal at a time unless a test says otherwise, so the call order is exact.
const cfg = (limits: { maxRemovalsPerRun?: number; concurrentRemovals?: number } = {}) =>
  config({
    policies: [
      { name: 'exited', resource: 'container', match: { stoppedFor: '1d' }, removeAnonymousVolumes: true },
      { name: 'apps', resource: 'image', match: { repositories: ['app'], tags: ['1', '1b', '2'] } },
      { name: 'volumes', resource: 'volume', match: { names: ['vol-loose'] } },
    ],
    limits: { concurrentRemovals: 1, ...limits },
  });

function world() {
  return new FakeEngine({ images: [base, app1, app2], containers: [done], volumes: [anon, loose] });
}

const removals = (engine: FakeEngine) =>
  engine.calls.filter((c) => !c.startsWith('snapshot') && !c.startsWith('measure'));

async function cycle(
  engine: FakeEngine,
  mode: Mode,
  options: { limits?: { maxRemovalsPerRun?: number; concurrentRemovals?: number }; signal?: AbortSignal } = {},
) {
  const { log, lines } = captureLog();
  const report = await runCycle(
    engine,
    cfg(options.limits),
    { mode, now: NOW, ...(options.signal ? { signal: options.signal } : {}) },
    log,
  );
  return { report, lines };
}

describe('runCycle', () => {
  it('dry-run plans, measures what it would remove, and stops before the first removal', async () => {
    const engine = world();
    const { report } = await cycle(engine, 'dry-run');
    expect(engine.calls).toEqual(['snapshot', 'measureContainers', 'measureVolumes']);
    expect(report.plan.actions.map((a) => `${a.resource}:${a.id}:${a.bytes}`)).toEqual([
      'container:c-done:4096',
      'image:i-1:100',
      'image:i-2:200',
      'volume:vol-anon:777',
      'volume:vol-loose:5000',
    ]);
    expect(report.removed).toEqual([]);
    expect(engine.images.size).toBe(3);
  });

  it('enforce removes in plan order, untagging extra tags first, and reports what the engine freed', async () => {
    const engine = world();
    const { report, lines } = await cycle(engine, 'enforce');
    expect(removals(engine)).toEqual([
      'removeContainer c-done',
      'imageRefs i-1',
      'imageInUse i-1',
      'imageIdOf app:1',
      'untag app:1',
      'deleteImage i-1',
      'imageRefs i-2',
      'deleteImage i-2',
      'removeVolume vol-anon',
      'removeVolume vol-loose',
    ]);
    expect(report.removed.map((r) => [r.id, r.bytes, r.predictedBytes])).toEqual([
      ['c-done', 4096, 4096],
      ['i-1', 100, 100],
      ['i-2', 200, 200],
      ['vol-anon', 777, 777],
      ['vol-loose', 5000, 5000],
    ]);
    expect(report.reclaimedBytes).toBe(report.plan.totals.bytes);
    expect([...engine.images.keys()]).toEqual(['i-base']);
    const removed = lines.filter((l) => l['msg'] === 'removed');
    expect(removed.map((l) => [l['policy'], l['resource'], l['name'], l['bytes']])).toEqual([
      ['exited', 'container', 'done', 4096],
      ['apps', 'image', 'app:1', 100],
      ['apps', 'image', 'app:2', 200],
      ['exited', 'volume', 'vol-anon', 777],
      ['volumes', 'volume', 'vol-loose', 5000],
    ]);
  });

  it('a container created from an image after the plan makes its deletion a counted skip, not a force', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'deleteImage i-2')
        engine.containers.set('late', { ...done, id: 'late', name: 'late', state: 'created', volumes: [] });
    };
    const { report } = await cycle(engine, 'enforce');
    expect(report.skipped).toEqual([expect.objectContaining({ resource: 'image', id: 'i-2', reason: 'conflict' })]);
    expect(engine.images.has('i-2')).toBe(true);
    expect(report.removed.map((r) => r.id)).toEqual(['c-done', 'i-1', 'vol-anon', 'vol-loose']);
  });

  it('does not untag an image that a container started using after the plan', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeContainer c-done')
        engine.containers.set('late', { ...done, id: 'late', name: 'late', imageId: 'i-1', volumes: [] });
    };
    const { report } = await cycle(engine, 'enforce');
    expect(removals(engine)).not.toContain('untag app:1');
    expect(engine.images.get('i-1')?.tags).toEqual(['app:1', 'app:1b']);
    expect(report.skipped).toEqual([
      expect.objectContaining({ id: 'i-1', reason: 'conflict', message: expect.stringMatching(/after the plan/) }),
    ]);
  });

  it('an object someone else removed first is a skip with reason "gone"', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeVolume vol-loose') engine.volumes.delete('vol-loose');
    };
    const { report } = await cycle(engine, 'enforce');
    expect(report.skipped).toEqual([expect.objectContaining({ id: 'vol-loose', reason: 'gone' })]);
    expect(report.interrupted).toBeUndefined();
  });

  it('a volume mounted after the plan is a conflict and stays', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeVolume vol-loose')
        engine.containers.set('m', { ...done, id: 'm', name: 'm', state: 'running', volumes: ['vol-loose'] });
    };
    const { report } = await cycle(engine, 'enforce');
    expect(report.skipped).toEqual([expect.objectContaining({ id: 'vol-loose', reason: 'conflict' })]);
    expect(engine.volumes.has('vol-loose')).toBe(true);
  });

  it('stops at an unreachable engine: the rest is aborted, what was done is reported', async () => {
    const engine = world();
    // The engine goes away just as the first image deletion is sent.
    const realDelete = engine.deleteImage.bind(engine);
    engine.deleteImage = async (id) => {
      engine.unreachable = true;
      return realDelete(id);
    };
    const { report, lines } = await cycle(engine, 'enforce');
    expect(report.removed.map((r) => r.id)).toEqual(['c-done']);
    expect(report.skipped.map((s) => [s.id, s.reason])).toEqual([
      ['i-1', 'aborted'],
      ['i-2', 'aborted'],
      ['vol-anon', 'aborted'],
      ['vol-loose', 'aborted'],
    ]);
    expect(report.interrupted).toMatch(/^engine unreachable/);
    // Nothing is attempted after the engine went away.
    expect(engine.calls.filter((c) => c.startsWith('deleteImage'))).toEqual(['deleteImage i-1']);
    expect(lines.some((l) => l['msg'] === 'engine unreachable; stopping this cycle')).toBe(true);
  });

  it('removes nothing when the plan exceeds limits.maxRemovalsPerRun', async () => {
    const engine = world();
    const { report } = await cycle(engine, 'enforce', { limits: { maxRemovalsPerRun: 4 } });
    expect(report.plan.blocked).toMatch(/removes 5 objects, more than limits.maxRemovalsPerRun \(4\)/);
    expect(removals(engine)).toEqual([]);
  });

  it('on shutdown the removal in flight finishes and no new one starts', async () => {
    const engine = world();
    const controller = new AbortController();
    engine.beforeRemoval = (call) => {
      if (call === 'removeContainer c-done') controller.abort();
    };
    const { report } = await cycle(engine, 'enforce', { signal: controller.signal });
    expect(removals(engine)).toEqual(['removeContainer c-done']);
    expect(report.removed.map((r) => r.id)).toEqual(['c-done']);
    expect(new Set(report.skipped.map((s) => s.reason))).toEqual(new Set(['aborted']));
    expect(report.interrupted).toBe('shutting down');
  });

  it('judges a selected container by its state when measured, not by the listing', async () => {
    const engine = world();
    // The container ran again and stopped a minute ago, after the listing said "2 days ago".
    const list = engine.snapshot.bind(engine);
    engine.snapshot = async (needs) => {
      const snap = await list(needs);
      (engine.containers.get('c-done') as { finishedAt: number }).finishedAt = NOW - 60_000;
      return snap;
    };
    const { report } = await cycle(engine, 'enforce');
    expect(removals(engine)).not.toContain('removeContainer c-done');
    expect(engine.containers.has('c-done')).toBe(true);
    // Its image is in use again, so it stays too; the other image and the loose volume go.
    expect(report.removed.map((r) => r.id)).toEqual(['i-1', 'vol-loose']);
  });

  it('in parallel: what removed containers hold waits for them, the rest goes alongside, under one bound, reported in plan order', async () => {
    const many = Array.from({ length: 6 }, (_, i) =>
      image({ id: `i-p${i}`, tags: [`app:p${i}`], layers: [[`P${i}`, 10 + i]], created: ago(60) }),
    );
    const free = image({ id: 'i-free', tags: ['app:free'], layers: [['F', 5]], created: ago(60) });
    const held = volume({ name: 'vol-held', size: 300 });
    const users = many.map((img, i) =>
      container({
        name: `u${i}`,
        id: `c-u${i}`,
        image: img,
        state: 'exited',
        finishedAt: ago(2),
        exitCode: 0,
        sizeRw: 1,
        volumes: i === 0 ? ['vol-held'] : [],
      }),
    );
    const engine = new FakeEngine({ images: [...many, free], containers: users, volumes: [loose, held] });
    // Every removal request waits a turn of the event loop, so requests really overlap and
    // the bound is what limits them.
    let inFlight = 0;
    let most = 0;
    for (const method of ['removeContainer', 'imageRefs', 'deleteImage', 'removeVolume'] as const) {
      const original = engine[method].bind(engine) as (id: string) => Promise<unknown>;
      (engine as unknown as Record<string, (id: string) => Promise<unknown>>)[method] = async (id) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        try {
          return await original(id);
        } finally {
          inFlight--;
        }
      };
    }
    const { log } = captureLog();
    const report = await runCycle(engine, parallelConfig(4), { mode: 'enforce', now: NOW }, log);
    const calls = removals(engine);
    const at = (call: string) => calls.indexOf(call);
    const lastContainer = Math.max(...calls.map((c, i) => (c.startsWith('removeContainer') ? i : -1)));
    // Held by a removed container: only after every container is gone.
    for (const img of many) expect(at(`imageRefs ${img.id}`)).toBeGreaterThan(lastContainer);
    expect(at('removeVolume vol-held')).toBeGreaterThan(lastContainer);
    // Held by none: alongside the containers.
    expect(at('imageRefs i-free')).toBeLessThan(lastContainer);
    expect(at('removeVolume vol-loose')).toBeLessThan(lastContainer);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    expect(report.skipped).toEqual([]);
    expect(report.removed.map((r) => r.id)).toEqual([
      ...users.map((c) => c.id),
      'i-free',
      ...many.map((i) => i.id),
      'vol-held',
      'vol-loose',
    ]);
    expect(report.removed.map((r) => r.id)).toEqual(report.plan.actions.map((a) => a.id));
    expect(report.reclaimedBytes).toBe(report.plan.totals.bytes);
  });
});

function parallelConfig(concurrentRemovals: number) {
  return config({
    policies: [
      { name: 'exited', resource: 'container', match: { stoppedFor: '1d' } },
      { name: 'apps', resource: 'image', match: { repositories: ['app'] } },
      { name: 'volumes', resource: 'volume', match: { names: ['vol-loose', 'vol-held'] } },
    ],
    limits: { concurrentRemovals },
  });
}

describe('images that changed after the plan', () => {
  it('a tag pushed onto an image after the plan makes its removal a counted skip', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeContainer c-done') engine.images.get('i-2')?.tags.push('app:hotfix');
    };
    const { report } = await cycle(engine, 'enforce');
    expect(report.skipped).toEqual([
      expect.objectContaining({ id: 'i-2', reason: 'conflict', message: 'gained app:hotfix since the plan was made' }),
    ]);
    expect(engine.images.get('i-2')?.tags).toEqual(['app:2', 'app:hotfix']);
  });

  it('a tag moved to another image after the plan is never untagged', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call !== 'removeContainer c-done') return;
      // A build elsewhere takes the name app:1 for a new image.
      (engine.images.get('i-1') as { tags: string[] }).tags = ['app:1b'];
      engine.addImage(image({ id: 'i-new', tags: ['app:1'], layers: [['N', 5]] }));
    };
    const { report } = await cycle(engine, 'enforce');
    expect(removals(engine)).not.toContain('untag app:1');
    expect(engine.images.get('i-new')?.tags).toEqual(['app:1']);
    expect(report.removed.map((r) => r.id)).toContain('i-1');
  });

  it('a parent whose planned child stays is not touched', async () => {
    const root = image({ id: 'p-root', layers: [['R', 50]] });
    const kid = image({
      id: 'p-kid',
      parent: root,
      tags: ['kid:1'],
      layers: [
        ['R', 50],
        ['K', 5],
      ],
      created: ago(60),
    });
    const user = container({ name: 'late', id: 'late', image: kid, state: 'created' });
    const engine = new FakeEngine({ images: [root, kid] });
    engine.beforeRemoval = (call) => {
      if (call === 'deleteImage p-kid') engine.containers.set('late', { ...user, volumes: [] });
    };
    const { log } = captureLog();
    const report = await runCycle(
      engine,
      config({
        policies: [{ name: 'kids', resource: 'image', match: { repositories: ['kid'] } }],
        limits: { concurrentRemovals: 1 },
      }),
      { mode: 'enforce', now: NOW },
      log,
    );
    expect(report.plan.actions.map((a) => a.id)).toEqual(['p-kid', 'p-root']);
    expect(report.skipped.map((s) => [s.id, s.reason, s.message])).toEqual([
      ['p-kid', 'conflict', expect.stringMatching(/being used/)],
      ['p-root', 'conflict', 'its child image p-kid was not deleted'],
    ]);
    expect(removals(engine)).not.toContain('deleteImage p-root');
  });
});

describe('more changes between plan and removal', () => {
  it('a digest gained after the plan (pulled by digest onto a dangling image) stops the removal', async () => {
    const dangling = image({ id: 'i-d', layers: [['D', 5]], created: ago(60) });
    const engine = new FakeEngine({ images: [dangling] });
    const list = engine.snapshot.bind(engine);
    engine.snapshot = async (needs) => {
      const snap = await list(needs);
      engine.images.get('i-d')?.digests.push('prod/app@sha256:abc');
      return snap;
    };
    const { log } = captureLog();
    const report = await runCycle(
      engine,
      config({ policies: [{ name: 'd', resource: 'image', match: { dangling: true } }] }),
      { mode: 'enforce', now: NOW },
      log,
    );
    expect(report.skipped.map((s) => [s.id, s.reason, s.message])).toEqual([
      ['i-d', 'conflict', 'gained prod/app@sha256:abc since the plan was made'],
    ]);
    expect(engine.images.has('i-d')).toBe(true);
  });

  it('a parent whose planned child someone else removed first is still removed', async () => {
    const root = image({ id: 'p-root', layers: [['R', 50]] });
    const kid = image({
      id: 'p-kid',
      parent: root,
      tags: ['kid:1'],
      layers: [
        ['R', 50],
        ['K', 5],
      ],
      created: ago(60),
    });
    const engine = new FakeEngine({ images: [root, kid] });
    const realRefs = engine.imageRefs.bind(engine);
    engine.imageRefs = async (id) => {
      if (id === 'p-kid') engine.images.delete('p-kid');
      return realRefs(id);
    };
    const { log } = captureLog();
    const report = await runCycle(
      engine,
      config({ policies: [{ name: 'kids', resource: 'image', match: { repositories: ['kid'] } }] }),
      { mode: 'enforce', now: NOW },
      log,
    );
    expect(report.skipped.map((s) => [s.id, s.reason])).toEqual([['p-kid', 'gone']]);
    expect(report.removed.map((r) => r.id)).toEqual(['p-root']);
    expect(engine.images.size).toBe(0);
  });
});
