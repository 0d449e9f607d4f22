// The shell side of disk pressure: reading the data-root file system, a cycle that skips a
// disk policy on an unknown disk (and says what to mount), a budget cycle on the fake engine
// that removes exactly the oldest images, the metrics, and the watch that triggers cycles.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/runtime/metrics.js';
import { readDisk } from '../../src/runtime/pressure/disk.js';
import { recordPressure } from '../../src/runtime/pressure/metrics.js';
import { PressureWatch, type Holding } from '../../src/runtime/pressure/watch.js';
import { planText } from '../../src/cli/render.js';
import { runCycle, type CycleReport } from '../../src/runtime/cycle/sweep.js';
import { resolveConfig, type Config } from '../../src/core/config/config.js';
import type { RawConfig } from '../../src/core/config/schema.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, image, NOW } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

function cfg(policies: unknown[], extra: Partial<RawConfig> = {}): Config {
  const r = resolveConfig(
    '/etc/reclaimd/config.yaml',
    { policies: ['p.yaml'], limits: { concurrentRemovals: 1 }, ...extra },
    [{ file: 'p.yaml', text: JSON.stringify({ policies }) }],
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

// Created 40, 30, 20 and 10 days ago; no last-use store, so creation time orders them.
const images = [40, 30, 20, 10].map((d) =>
  image({ id: `i-${d}`, tags: [`ci/app:${d}`], created: ago(d), layers: [[`L${d}`, d * 1000]] }),
);
const budget = {
  name: 'budget',
  resource: 'image',
  match: { repositories: ['ci/**'] },
  when: { totalSizeAbove: '90kB' },
  until: { totalSizeBelow: '40kB' },
};
const disk = { name: 'disk', resource: 'image', match: {}, when: { diskUsageAbove: '1%' } };

describe('readDisk', () => {
  it('reads the file system at pressure.path', async () => {
    const r = await readDisk(cfg([], { pressure: { path: '/' } }), undefined);
    expect(r.error).toBeUndefined();
    expect(r.figures?.total).toBeGreaterThan(0);
    expect(r.figures?.used).toBeLessThanOrEqual(r.figures?.total ?? 0);
  });

  it('names the path and what to mount when it cannot read it', async () => {
    const r = await readDisk(cfg([]), '/no/such/data-root');
    expect(r.figures).toBeUndefined();
    expect(r.error).toMatch(
      /^cannot read disk usage at \/no\/such\/data-root: ENOENT.*mount it read-only at the same path \(e\.g\. -v \/no\/such\/data-root:\/no\/such\/data-root:ro\) or set pressure\.path/,
    );
  });

  it('asks for pressure.path when the engine names no data root', async () => {
    const r = await readDisk(cfg([]), undefined);
    expect(r).toMatchObject({
      path: undefined,
      figures: undefined,
      error: expect.stringMatching(/set pressure\.path/) as unknown,
    });
  });
});

describe('a cycle with pressure policies', () => {
  it('enforce: removes least recently used (here: oldest) first and stops at the target', async () => {
    const engine = new FakeEngine({ images });
    const { log } = captureLog();
    // 100 kB in all; down to 40 kB needs 60 kB: the 40 kB and 30 kB images (the two oldest) suffice.
    const report = await runCycle(engine, cfg([budget]), { mode: 'enforce', now: NOW }, log);
    expect(report.removed.map((r) => r.id).sort()).toEqual(['i-30', 'i-40']);
    expect([...engine.images.keys()].sort()).toEqual(['i-10', 'i-20']);
    expect(report.plan.pressure?.[0]).toMatchObject({
      before: 100_000,
      target: 40_000,
      predictedAfter: 30_000,
      reached: true,
      spared: 2,
    });
    expect(planText(report.plan, 'enforce')).toMatch(
      /Pressure:\n {2}budget \(when totalSizeAbove 90kB, until 40kB\): 100\.0 kB → predicted 30\.0 kB, target 40\.0 kB; 2 selected freeing 70\.0 kB, 2 spared; target reached/,
    );
  });

  it('skips a disk policy on an unknown disk: logs what to mount, removes nothing, counts the skip', async () => {
    const engine = new FakeEngine({ images });
    const { log, lines } = captureLog();
    const report = await runCycle(
      engine,
      cfg([disk], { pressure: { path: '/no/such/mount' } }),
      { mode: 'enforce', now: NOW },
      log,
    );
    expect(report.removed).toEqual([]);
    expect(engine.images.size).toBe(4);
    expect(report.plan.pressure?.[0]).toMatchObject({ policy: 'disk', state: 'unknown' });
    const err = lines.find(
      (l) => l['msg'] === 'disk usage unknown: policies with when.diskUsageAbove are skipped and remove nothing',
    );
    expect(err?.['path']).toBe('/no/such/mount');
    expect(String(err?.['err'])).toMatch(/-v \/var\/lib\/docker:\/var\/lib\/docker:ro/);
    const metrics = createMetrics();
    metrics.diskUsageRatio.set({ path: '/x' }, 0.5);
    recordPressure(metrics, report);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/reclaimd_policy_skipped_total\{policy="disk",reason="disk_unknown"\} 1/);
    expect(text).not.toMatch(/^reclaimd_disk_usage_ratio/m);
  });

  it('runs a disk policy when the measured file system is fuller than the trigger', async () => {
    const engine = new FakeEngine({ images });
    const { log } = captureLog();
    const report = await runCycle(engine, cfg([disk], { pressure: { path: '/' } }), { mode: 'dry-run', now: NOW }, log);
    // "/" is more than 1% full on any machine that runs these tests; the plan records it.
    expect(report.disk?.figures?.total).toBeGreaterThan(0);
    expect(report.plan.pressure?.[0]?.state).toBe('active');
    const metrics = createMetrics();
    recordPressure(metrics, report);
    expect(await metrics.registry.metrics()).toMatch(/^reclaimd_disk_usage_ratio\{path="\/"\} 0\.\d+/m);
  });
});

describe('PressureWatch', () => {
  const report = (removed: number) =>
    ({ removed: Array.from({ length: removed }, () => ({})) }) as unknown as CycleReport;

  function watch(script: Array<Holding | undefined>, results: number[], busy = () => false) {
    const triggered: Holding[] = [];
    const w = new PressureWatch({
      log: captureLog().log,
      busy,
      check: async () => script.shift(),
      trigger: async (h) => {
        triggered.push(h);
        return report(results.shift() ?? 0);
      },
      seen: async () => '',
    });
    return { w, triggered };
  }

  it('triggers only while a condition holds', async () => {
    const { w, triggered } = watch([undefined, { policy: 'p', figure: 10, step: 1 }, undefined], [1]);
    for (let i = 0; i < 3; i++) await w.tick();
    expect(triggered).toEqual([{ policy: 'p', figure: 10, step: 1 }]);
  });

  // When it waits after a cycle that could do nothing more: test/unit/pressure-rearm.test.ts.

  it('does not even check while a cycle runs', async () => {
    let checks = 0;
    const w = new PressureWatch({
      log: captureLog().log,
      busy: () => true,
      check: async () => (checks++, { policy: 'p', figure: 1, step: 1 }),
      trigger: async () => undefined,
      seen: async () => '',
    });
    await w.tick();
    expect(checks).toBe(0);
  });
});
