// How a cycle on the containerd image store knows what its image deletions freed: exact parts
// as the plan counted them, estimated ones settled by the engine's own disk-usage figure read
// around the image removals, and unknown (never a guess) when that figure does not fit.
import { describe, expect, it } from 'vitest';
import { settleImageBytes } from '../../src/runtime/cycle/image-accounting.js';
import type { RemovalRecord } from '../../src/runtime/cycle/removal-record.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import type { ImageObj } from '../../src/core/model/snapshot.js';
import { FakeEngine } from '../support/fake-engine.js';
import { config, container, image, NOW } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

const record = (id: string, bytes: number, range?: { low: number; high: number }): RemovalRecord => ({
  resource: 'image',
  id,
  name: id,
  policy: 'p',
  predictedBytes: bytes,
  bytes,
  ...(range ? { range } : {}),
});

describe('settleImageBytes', () => {
  const exact = record('exact', 1000);
  const a = record('a', 300, { low: 100, high: 900 });
  const b = record('b', 100, { low: 50, high: 400 });

  it('shares the measured drop, less the exact removals, among the estimated ones by their estimates', () => {
    const { removed, measurement } = settleImageBytes([exact, a, b], { before: 10_000, after: 10_000 - 1000 - 500 });
    expect(removed.map((r) => r.bytes)).toEqual([1000, 375, 125]);
    expect(measurement).toEqual({ before: 10_000, after: 8500, range: { low: 1150, high: 2300 }, settled: true });
  });

  it('keeps whole bytes that add up to the drop', () => {
    const { removed } = settleImageBytes(
      [a, record('c', 300, { low: 0, high: 900 }), record('d', 300, { low: 0, high: 900 })],
      { before: 1000, after: 0 },
    );
    expect(removed.map((r) => r.bytes)).toEqual([334, 333, 333]);
  });

  it('makes the estimated bytes unknown when the drop is outside what the removals can free', () => {
    for (const after of [10_000 - 1149, 10_000 - 2301, 10_500]) {
      const { removed, measurement } = settleImageBytes([exact, a, b], { before: 10_000, after });
      expect(removed.map((r) => r.bytes)).toEqual([1000, null, null]);
      expect(measurement?.settled).toBe(false);
    }
  });

  it('makes them unknown when the figure could not be read', () => {
    expect(settleImageBytes([exact, a], { before: undefined, after: 5 }).removed.map((r) => r.bytes)).toEqual([
      1000,
      null,
    ]);
    expect(settleImageBytes([exact, a], undefined).removed.map((r) => r.bytes)).toEqual([1000, null]);
  });

  it('leaves exact removals alone and measures nothing for them', () => {
    expect(settleImageBytes([exact, record('e', 7)], undefined)).toEqual({ removed: [exact, record('e', 7)] });
  });
});

describe('a cycle on the containerd image store', () => {
  // Two images sharing a content blob whose size is estimated; a third shares nothing.
  const shared = { chain: 'blob:base', size: 1000, bounds: { unshared: 0, shared: 0 } };
  const withShared = (id: string, own: number): ImageObj => ({
    ...image({ id, tags: [`app:${id}`], layers: [[`snap-${id}`, 4096]] }),
    layers: [
      { chain: `snap-${id}`, size: 4096 },
      { chain: `manifest:${id}`, size: own, bounds: { unshared: own + 1000, shared: 500 } },
      shared,
    ],
  });
  const alone = image({
    id: 'solo',
    tags: ['app:solo'],
    layers: [
      ['snap-solo', 8192],
      ['manifest:solo', 2000],
    ],
  });
  const cfg = config({
    policies: [{ name: 'apps', resource: 'image', match: { repositories: ['app'] } }],
    limits: { concurrentRemovals: 1 },
  });

  function engine(): FakeEngine {
    const e = new FakeEngine({
      images: [withShared('x', 700), withShared('y', 900), alone],
      containers: [container({ name: 'keep', image: 'app:solo', imageId: 'other' })],
    });
    e.imageStore = 'containerd';
    return e;
  }

  it('measures the engine disk usage around the image removals only, and reports what it fell by', async () => {
    const e = engine();
    const { log } = captureLog();
    const report = await runCycle(e, cfg, { mode: 'enforce', now: NOW }, log);
    const calls = e.calls.filter((c) => c === 'imageDiskUsage' || c.startsWith('deleteImage'));
    expect(calls).toEqual(['imageDiskUsage', 'deleteImage solo', 'deleteImage x', 'deleteImage y', 'imageDiskUsage']);
    // The fake's disk usage is what the parts add up to: all of them went.
    expect(report.reclaimedBytes).toBe(4096 + 700 + 4096 + 900 + 1000 + 8192 + 2000);
    expect(report.unknownBytes).toBe(0);
    expect(report.imageMeasurement?.settled).toBe(true);
    expect(report.removed.find((r) => r.id === 'solo')?.bytes).toBe(10_192);
  });

  it('reports the bytes of estimated removals as unknown when something else changed the figure meanwhile', async () => {
    const e = engine();
    let reads = 0;
    // A pull of 50 MB during the removals: the figure grows instead of falling.
    e.diskUsage = () => (reads++ === 0 ? 1_000_000 : 51_000_000);
    const { log, lines } = captureLog();
    const report = await runCycle(e, cfg, { mode: 'enforce', now: NOW }, log);
    expect(report.removed.map((r) => [r.id, r.bytes])).toEqual([
      ['solo', 10_192],
      ['x', null],
      ['y', null],
    ]);
    expect(report.reclaimedBytes).toBe(10_192);
    expect(report.unknownBytes).toBe(2);
    expect(
      lines.some(
        (l) => l['level'] === 40 && /changed by more than the image removals can explain/.test(String(l['msg'])),
      ),
    ).toBe(true);
  });

  it('measures nothing when no planned image holds an estimated part', async () => {
    const e = new FakeEngine({ images: [alone] });
    e.imageStore = 'containerd';
    const { log } = captureLog();
    const report = await runCycle(e, cfg, { mode: 'enforce', now: NOW }, log);
    expect(e.calls).not.toContain('imageDiskUsage');
    expect(report.removed.map((r) => r.bytes)).toEqual([10_192]);
  });
});
