// Removals whose outcome is in doubt: the request went out, and no answer said what the engine
// did (the connection broke, or the engine answered with an error of its own, as Docker does
// while it shuts down). The cycle fails; the next one counts, from its snapshot, those the
// engine really carried out, with the bytes they freed, and forgets the others.
import { describe, expect, it } from 'vitest';
import { runCycle, type CycleReport } from '../../src/runtime/cycle/sweep.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { cycleResult, failureReason, recordCycle } from '../../src/runtime/cycle/record.js';
import type { InDoubt } from '../../src/runtime/cycle/in-doubt.js';
import type { RemovalOutcome } from '../../src/engine/engine.js';
import { EngineError } from '../../src/engine/errors.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, config, container, image, NOW, volume } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

// i-a and i-b share layer S; the container and the volume are measured before removal.
const a = image({
  id: 'i-a',
  tags: ['app:a'],
  layers: [
    ['A', 100],
    ['S', 50],
  ],
  created: ago(60),
});
const b = image({
  id: 'i-b',
  tags: ['app:b'],
  layers: [
    ['B', 200],
    ['S', 50],
  ],
  created: ago(60),
});
const c = image({ id: 'i-c', tags: ['app:c'], layers: [['C', 300]], created: ago(60) });
const keep = image({ id: 'i-keep', tags: ['base:1'], layers: [['K', 1000]] });
const done = container({
  name: 'done',
  id: 'c-done',
  image: keep,
  state: 'exited',
  finishedAt: ago(2),
  exitCode: 0,
  sizeRw: 4096,
});
const loose = volume({ name: 'vol-loose', size: 777 });
const ALL_IMAGE_BYTES = 100 + 200 + 50 + 300;

const cfg = config({
  policies: [
    { name: 'exited', resource: 'container', match: { stoppedFor: '1d' } },
    { name: 'apps', resource: 'image', match: { repositories: ['app'] } },
    { name: 'volumes', resource: 'volume', match: { names: ['vol-loose'] } },
  ],
  // One removal at a time, so which removals a lost engine stops is exact.
  limits: { concurrentRemovals: 1 },
});

const world = () => new FakeEngine({ images: [a, b, c, keep], containers: [done], volumes: [loose] });

async function cycle(engine: FakeEngine, inDoubt?: readonly InDoubt[]) {
  const { log, lines } = captureLog();
  const report = await runCycle(engine, cfg, { mode: 'enforce', now: NOW, ...(inDoubt ? { inDoubt } : {}) }, log);
  return { report, lines };
}

/** The engine carries out the request for `id`, then its answer is lost (or replaced by `answer`). */
function lostAnswer(
  engine: FakeEngine,
  method: 'deleteImage' | 'removeContainer' | 'removeVolume',
  id: string,
  answer: RemovalOutcome = { ok: false, kind: 'unreachable', message: 'ECONNRESET: socket hang up' },
) {
  const real = engine[method].bind(engine);
  engine[method] = async (target: string) => {
    const outcome = await real(target);
    return target === id ? answer : outcome;
  };
}

const counted = (report: CycleReport) => [...report.removed, ...report.earlier].map((r) => [r.resource, r.id, r.bytes]);

describe('a removal whose answer was lost', () => {
  it('fails the cycle without counting it; the next cycle counts it with the bytes it freed, once', async () => {
    const engine = world();
    lostAnswer(engine, 'deleteImage', 'i-a');
    const first = await cycle(engine);
    expect(engine.images.has('i-a')).toBe(false);
    expect(first.report.removed.map((r) => r.id)).toEqual(['c-done']);
    expect(first.report.inDoubt).toEqual([
      expect.objectContaining({ resource: 'image', id: 'i-a', policy: 'apps', message: 'ECONNRESET: socket hang up' }),
    ]);
    // Neither removed nor skipped: the engine may have done it.
    expect(first.report.skipped.map((s) => [s.id, s.reason])).toEqual([
      ['i-b', 'aborted'],
      ['i-c', 'aborted'],
      ['vol-loose', 'aborted'],
    ]);
    expect(cycleResult(first.report)).toBe('failure');
    expect(failureReason(first.report)).toMatch(/^engine unreachable: ECONNRESET: socket hang up; 1 removal in doubt/);

    const second = await cycle(engine, first.report.inDoubt);
    // i-a freed only A: S stayed with i-b, which frees it now.
    expect(second.report.earlier.map((r) => [r.id, r.policy, r.bytes])).toEqual([['i-a', 'apps', 100]]);
    expect(second.report.removed.map((r) => [r.id, r.bytes])).toEqual([
      ['i-b', 250],
      ['i-c', 300],
      ['vol-loose', 777],
    ]);
    expect(second.report.inDoubt).toEqual([]);
    expect(cycleResult(second.report)).toBe('success');
    expect(
      second.lines.filter(
        (l) => l['msg'] === 'removed by an earlier cycle: the engine carried out a removal whose outcome was in doubt',
      ),
    ).toEqual([expect.objectContaining({ id: 'i-a', policy: 'apps', resource: 'image', bytes: 100 })]);

    // Counted in the metrics as the disk got the bytes back: every image byte, once.
    const metrics = createMetrics();
    recordCycle(metrics, first.report, 1);
    recordCycle(metrics, second.report, 1);
    const removed = await metrics.removed.get();
    const bytes = await metrics.reclaimedBytes.get();
    expect(removed.values.find((v) => v.labels.resource === 'image')?.value).toBe(3);
    expect(bytes.values.find((v) => v.labels.resource === 'image')?.value).toBe(ALL_IMAGE_BYTES);
    expect((await metrics.cycles.get()).values.map((v) => [v.labels.result, v.value])).toEqual([
      ['failure', 1],
      ['success', 1],
    ]);
    // A third cycle has nothing left to settle and counts nothing again.
    const third = await cycle(engine, second.report.inDoubt);
    expect(counted(third.report)).toEqual([]);
  });

  it('a request that never reached the engine (connection refused) is no removal in doubt', async () => {
    const engine = world();
    const real = engine.deleteImage.bind(engine);
    engine.deleteImage = async (id) =>
      id === 'i-a'
        ? { ok: false, kind: 'unreachable', message: 'ECONNREFUSED: connect ECONNREFUSED /run/docker.sock' }
        : real(id);
    const { report } = await cycle(engine);
    expect(report.inDoubt).toEqual([]);
    expect(report.skipped.map((s) => s.id)).toEqual(['i-a', 'i-b', 'i-c', 'vol-loose']);
    expect(cycleResult(report)).toBe('failure');
  });

  it('a check that fails before anything was sent leaves nothing in doubt', async () => {
    const engine = world();
    const refs = engine.imageRefs.bind(engine);
    engine.imageRefs = async (id) => {
      if (id === 'i-a') throw new EngineError('unreachable', 'ECONNRESET: socket hang up', undefined);
      return refs(id);
    };
    const { report } = await cycle(engine);
    expect(report.inDoubt).toEqual([]);
    expect(report.interrupted).toMatch(/^engine unreachable/);
  });
});

describe('a removal the engine answered with an error of its own', () => {
  it('carried out all the same (Docker 28.5 shutting down): the cycle fails, and a layer is not counted twice', async () => {
    const engine = world();
    lostAnswer(engine, 'deleteImage', 'i-a', {
      ok: false,
      kind: 'failed',
      message: 'Canceled: grpc: the client connection is closing: context canceled',
    });
    const first = await cycle(engine);
    // The cycle went on: i-b's deletion freed S, which i-a no longer held.
    expect(first.report.interrupted).toBeUndefined();
    expect(first.report.removed.map((r) => [r.id, r.bytes])).toEqual([
      ['c-done', 4096],
      ['i-b', 250],
      ['i-c', 300],
      ['vol-loose', 777],
    ]);
    expect(first.report.skipped).toEqual([]);
    expect(cycleResult(first.report)).toBe('failure');
    expect(failureReason(first.report)).toMatch(/^1 removal in doubt .*: Canceled: grpc/);
    expect(first.lines.filter((l) => l['inDoubt'] === true).map((l) => [l['id'], l['msg']])).toEqual([
      ['i-a', 'the engine failed the removal; whether it was carried out, the next cycle sees'],
    ]);

    const second = await cycle(engine, first.report.inDoubt);
    expect(second.report.earlier.map((r) => [r.id, r.bytes])).toEqual([['i-a', 100]]);
    expect(
      [...first.report.removed, ...second.report.earlier]
        .filter((r) => r.resource === 'image')
        .reduce((s, r) => s + (r.bytes ?? 0), 0),
    ).toBe(ALL_IMAGE_BYTES);
  });

  it('not carried out (Docker 20.10 shutting down): forgotten, and the next plan removes it, counted once', async () => {
    const engine = world();
    const real = engine.deleteImage.bind(engine);
    let refused = false;
    engine.deleteImage = async (id) => {
      if (id !== 'i-c' || refused) return real(id);
      refused = true;
      return {
        ok: false,
        kind: 'failed',
        message: 'error deleting lease: grpc: the client connection is closing: context canceled',
      };
    };
    const first = await cycle(engine);
    expect(first.report.inDoubt.map((d) => d.id)).toEqual(['i-c']);
    const second = await cycle(engine, first.report.inDoubt);
    expect(second.report.earlier).toEqual([]);
    expect(
      second.lines
        .filter(
          (l) =>
            l['msg'] ===
            'a removal in doubt was not carried out: the object is still there, and the plan decides again',
        )
        .map((l) => l['id']),
    ).toEqual(['i-c']);
    expect(second.report.removed.map((r) => [r.id, r.bytes])).toEqual([['i-c', 300]]);
    expect(cycleResult(second.report)).toBe('success');
  });
});

describe('what the next cycle counts', () => {
  it('a 404 for an object the earlier request removed only after the next listing counts it, with its bytes', async () => {
    const engine = world();
    const real = engine.deleteImage.bind(engine);
    let slowDone = false;
    // The engine is slow: the request times out, and the engine goes on with it.
    engine.deleteImage = async (id) =>
      id === 'i-c' && !slowDone
        ? {
            ok: false,
            kind: 'unreachable',
            message: 'ETIMEDOUT: DELETE /images/i-c: no answer for 1000 ms (docker.timeout)',
          }
        : real(id);
    const first = await cycle(engine);
    expect(first.report.inDoubt.map((d) => d.id)).toEqual(['i-c']);
    // It finishes between the next cycle's listing and its own request.
    const refs = engine.imageRefs.bind(engine);
    engine.imageRefs = async (id) => {
      if (id === 'i-c' && !slowDone) {
        slowDone = true;
        engine.images.delete('i-c');
      }
      return refs(id);
    };
    const second = await cycle(engine, first.report.inDoubt);
    expect(second.report.earlier).toEqual([]);
    expect(second.report.removed.filter((r) => r.id === 'i-c')).toEqual([
      expect.objectContaining({ bytes: 300, earlier: true }),
    ]);
    expect(second.report.skipped).toEqual([]);
    expect(
      second.lines
        .filter((l) => l['msg'] === 'removed by an earlier request whose answer was lost')
        .map((l) => l['id']),
    ).toEqual(['i-c']);
  });

  it('a container with its measured bytes; a volume whose size was unknown as unknown, never as 0', async () => {
    const engine = world();
    lostAnswer(engine, 'removeContainer', 'c-done', {
      ok: false,
      kind: 'failed',
      message: 'cannot remove container "c-done": Canceled: grpc: the client connection is closing',
    });
    lostAnswer(engine, 'removeVolume', 'vol-loose');
    engine.measureVolumes = async () => {
      throw new EngineError('failed', 'disk usage walk failed', 500);
    };
    const first = await cycle(engine);
    expect(first.report.inDoubt.map((d) => [d.id, d.predictedBytes])).toEqual([
      ['c-done', 4096],
      ['vol-loose', null],
    ]);
    const second = await cycle(engine, first.report.inDoubt);
    expect(second.report.earlier.map((r) => [r.resource, r.bytes])).toEqual([
      ['container', 4096],
      ['volume', null],
    ]);
    const metrics = createMetrics();
    recordCycle(metrics, second.report, 1);
    expect((await metrics.reclaimedUnknown.get()).values).toEqual([
      expect.objectContaining({ labels: { resource: 'volume', policy: 'volumes' }, value: 1 }),
    ]);
    expect((await metrics.reclaimedBytes.get()).values.filter((v) => v.labels.resource === 'volume')).toEqual([]);
  });

  it('on the containerd image store, an image whose content was estimated counts as unknown', async () => {
    const engine = world();
    engine.imageStore = 'containerd';
    const shared = { chain: 'blob:base', size: 1000, bounds: { unshared: 0, shared: 0 } };
    engine.addImage({
      ...a,
      layers: [
        { chain: 'snap-a', size: 4096 },
        { chain: 'manifest:i-a', size: 300, bounds: { unshared: 1300, shared: 100 } },
        shared,
      ],
    });
    engine.addImage({
      ...c,
      layers: [
        { chain: 'snap-c', size: 4096 },
        { chain: 'manifest:i-c', size: 500 },
      ],
    });
    lostAnswer(engine, 'deleteImage', 'i-a', { ok: false, kind: 'failed', message: 'Canceled: context canceled' });
    lostAnswer(engine, 'deleteImage', 'i-c');
    const first = await cycle(engine);
    const second = await cycle(engine, first.report.inDoubt);
    // i-c's parts are the engine's own figures, so exact; i-a's manifest part was inferred.
    expect(second.report.earlier.map((r) => [r.id, r.bytes])).toEqual([
      ['i-a', null],
      ['i-c', 4096 + 500],
    ]);
  });
});
