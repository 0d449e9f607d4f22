// A cycle with network and buildCache policies against the fake engine: networks and the cache
// are listed only when such a policy exists, networks go after the containers attached to them,
// the prune is one request with the planned parameters, and its bytes are the engine's figure.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import type { Policy } from '../../src/core/config/schema.js';
import type { BuildCacheRecord, NetworkObj } from '../../src/core/model/snapshot.js';
import type { Action } from '../../src/core/model/plan.js';

/** The records a build-cache prune removes; other actions have none. */
const recordsOf = (a: Action) => (a.resource === 'buildCache' ? a.prune.records : undefined);
import { FakeEngine } from '../support/fake-engine.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { recordCycle } from '../../src/runtime/cycle/record.js';
import { ago, config, container, NOW } from '../support/builders.js';

const log = createLogger('info', new Writable({ write: (_c, _e, done) => done() }));

const net = (name: string, id: string): NetworkObj => ({
  id,
  name,
  driver: 'bridge',
  scope: 'local',
  created: ago(30),
  labels: { ci: '' },
  ingress: false,
  configOnly: false,
});
const rec = (id: string, lastUsedAt: number, size: number): BuildCacheRecord => ({
  id,
  parent: undefined,
  type: 'regular',
  description: id,
  inUse: false,
  shared: false,
  size,
  createdAt: ago(30),
  lastUsedAt,
  usageCount: 1,
});

function world() {
  const engine = new FakeEngine({
    containers: [
      { ...container({ name: 'job', id: 'c-job', state: 'exited', finishedAt: ago(3) }), networks: ['job-net'] },
      { ...container({ name: 'web', id: 'c-web', state: 'running' }), networks: ['web-net'] },
      { ...container({ name: 'idle', id: 'c-idle', state: 'created' }), networks: ['idle-net'] },
    ],
    networks: [
      net('bridge', 'n-bridge'),
      net('job-net', 'n-job'),
      net('web-net', 'n-web'),
      net('idle-net', 'n-idle'),
      net('free-net', 'n-free'),
    ],
    buildCache: [rec('old', ago(20), 5000), rec('new', ago(1), 700)],
  });
  engine.now = () => NOW;
  return engine;
}

const policies: Policy[] = [
  { name: 'jobs', resource: 'container', match: { names: ['job'] } },
  { name: 'nets', resource: 'network', match: { labels: ['ci'] } },
  { name: 'cache', resource: 'buildCache', match: { unusedFor: '7d' } },
];

describe('networks and build cache in a cycle', () => {
  it('enforce: container, then its network and the free one, then one prune; bytes from the engine', async () => {
    const engine = world();
    const report = await runCycle(
      engine,
      config({ policies, limits: { concurrentRemovals: 1 } }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      log,
    );
    expect(engine.calls.filter((c) => !c.startsWith('snapshot') && !c.startsWith('measure'))).toEqual([
      'removeContainer c-job',
      'networkInUse n-free',
      'removeNetwork n-free',
      'networkInUse n-job',
      'removeNetwork n-job',
      'pruneBuildCache until=604800s',
    ]);
    expect([...engine.networks.keys()].sort()).toEqual(['n-bridge', 'n-idle', 'n-web']);
    expect(engine.buildCache.map((r) => r.id)).toEqual(['new']);
    expect(report.removed.map((r) => [r.resource, r.name, r.bytes, r.predictedBytes])).toEqual([
      ['container', 'job', 0, 0],
      ['network', 'free-net', 0, 0],
      ['network', 'job-net', 0, 0],
      ['buildCache', '1 build cache record(s)', 5000, 5000],
    ]);
    expect(report.plan.kept.map((k) => [k.name, k.reason])).toEqual([
      ['bridge', '"bridge" is a predefined network'],
      ['idle-net', 'container idle (created) is attached'],
      ['web-net', 'container web (running) is attached'],
    ]);
  });

  it('a network a container was created on after the plan is skipped as a conflict, not deleted', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeContainer c-job')
        engine.containers.set('c-late', {
          ...container({ name: 'late', id: 'c-late', state: 'created' }),
          volumes: [],
          networks: ['free-net'],
        });
    };
    const report = await runCycle(
      engine,
      config({ policies, limits: { concurrentRemovals: 1 } }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      log,
    );
    expect(report.skipped.map((s) => [s.name, s.reason, s.message])).toEqual([
      ['free-net', 'conflict', 'a container was attached to the network after the plan was made'],
    ]);
    expect(engine.networks.has('n-free')).toBe(true);
    expect(engine.calls.filter((c) => c.startsWith('removeNetwork'))).toEqual(['removeNetwork n-job']);
  });

  it('a container created after the plan on an ID prefix of the network also makes it a conflict', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'removeContainer c-job')
        engine.containers.set('c-late', {
          ...container({ name: 'late', id: 'c-late', state: 'created' }),
          volumes: [],
          networks: ['n-fr'],
        });
    };
    const report = await runCycle(
      engine,
      config({ policies, limits: { concurrentRemovals: 1 } }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      log,
    );
    expect(report.skipped.map((s) => [s.name, s.reason])).toEqual([['free-net', 'conflict']]);
    expect(engine.networks.has('n-free')).toBe(true);
  });

  it('reports the bytes the engine says, not the prediction, when they differ', async () => {
    const engine = world();
    // A record crosses the unusedFor line between the plan and the prune.
    engine.beforeRemoval = (call) => {
      if (call.startsWith('pruneBuildCache'))
        engine.buildCache = engine.buildCache.map((r) => (r.id === 'new' ? { ...r, lastUsedAt: ago(30) } : r));
    };
    const report = await runCycle(
      engine,
      config({ policies: [policies[2] as Policy] }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      log,
    );
    expect(report.removed.map((r) => [r.bytes, r.predictedBytes])).toEqual([[5700, 5000]]);
    expect(report.reclaimedBytes).toBe(5700);
  });

  it('lists neither networks nor the build cache without such a policy', async () => {
    const engine = world();
    const spy: string[] = [];
    const snapshot = engine.snapshot.bind(engine);
    engine.snapshot = async (needs) => {
      spy.push(JSON.stringify(needs));
      return snapshot(needs);
    };
    await runCycle(engine, config({ policies: [policies[0] as Policy] }), { mode: 'dry-run', now: NOW }, log);
    await runCycle(engine, config({ policies }), { mode: 'dry-run', now: NOW }, log);
    expect(spy).toEqual([
      '{"containerDetails":true,"networks":false,"buildCache":false,"swarmServices":false}',
      '{"containerDetails":true,"networks":true,"buildCache":true,"swarmServices":false}',
    ]);
    expect(engine.calls.filter((c) => c.startsWith('remove') || c.startsWith('prune'))).toEqual([]);
  });

  it('lengthens until by the time since the plan: a record that crossed the line meanwhile stays', async () => {
    const engine = world();
    // Used 7 days minus 5 minutes before the plan: kept by the plan, but 7 days unused by the
    // time the prune runs 10 minutes later.
    engine.buildCache.push(rec('edge', NOW - 7 * 86_400_000 + 300_000, 900));
    const later = NOW + 600_000;
    engine.now = () => later;
    const report = await runCycle(
      engine,
      config({ policies: [policies[2] as Policy] }),
      { mode: 'enforce', now: NOW, clock: () => later },
      log,
    );
    expect(report.plan.actions.map((a) => recordsOf(a))).toEqual([['old']]);
    expect(engine.calls.filter((c) => c.startsWith('prune'))).toEqual(['pruneBuildCache until=605400s']);
    expect(engine.buildCache.map((r) => r.id).sort()).toEqual(['edge', 'new']);
    expect(report.removed.map((r) => [r.bytes, r.unplanned])).toEqual([[5000, undefined]]);
  });

  it('logs and counts the records a prune deleted that the plan did not name', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call.startsWith('pruneBuildCache'))
        engine.buildCache = engine.buildCache.map((r) => (r.id === 'new' ? { ...r, lastUsedAt: ago(30) } : r));
    };
    const lines: string[] = [];
    const seen = createLogger('info', new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    const report = await runCycle(
      engine,
      config({ policies: [policies[2] as Policy] }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      seen,
    );
    expect(report.removed.map((r) => r.unplanned)).toEqual([['new']]);
    expect(
      lines.some(
        (l) => l.includes('the prune deleted build cache records the plan did not name') && l.includes('"new"'),
      ),
    ).toBe(true);
    const metrics = createMetrics();
    recordCycle(metrics, report, 1);
    expect(await metrics.registry.metrics()).toMatch(/^reclaimd_build_cache_unplanned_total\{policy="cache"\} 1$/m);
  });

  it('all: records shared with images count neither in the prediction nor in the reported bytes', async () => {
    const engine = world();
    engine.buildCache.push({ ...rec('layer', ago(20), 3000), shared: true });
    const all: Policy = { name: 'cache', resource: 'buildCache', match: { unusedFor: '7d', all: true } };
    const report = await runCycle(
      engine,
      config({ policies: [all] }),
      { mode: 'enforce', now: NOW, clock: () => NOW },
      log,
    );
    expect(report.plan.actions.map((a) => [recordsOf(a), a.bytes])).toEqual([[['old', 'layer'], 5000]]);
    expect(engine.buildCache.map((r) => r.id)).toEqual(['new']);
    // The engine's SpaceReclaimed says 8000; the shared record's data stays with its image.
    expect(report.removed.map((r) => [r.bytes, r.predictedBytes])).toEqual([[5000, 5000]]);
    expect(report.reclaimedBytes).toBe(5000);
  });

  it('reads swarm services only when an image policy exists and inUse.swarmServices is on', async () => {
    const engine = world();
    const spy: boolean[] = [];
    const snapshot = engine.snapshot.bind(engine);
    engine.snapshot = async (needs) => {
      spy.push(needs.swarmServices !== false);
      return snapshot(needs);
    };
    const images: Policy = { name: 'imgs', resource: 'image', match: { dangling: true } };
    await runCycle(engine, config({ policies }), { mode: 'dry-run', now: NOW }, log);
    await runCycle(engine, config({ policies: [...policies, images] }), { mode: 'dry-run', now: NOW }, log);
    await runCycle(
      engine,
      config({ policies: [...policies, images], inUse: { swarmServices: false } }),
      { mode: 'dry-run', now: NOW },
      log,
    );
    expect(spy).toEqual([false, true, false]);
  });
});
