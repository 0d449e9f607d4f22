// When the pressure watch starts another cycle after one that could do nothing more. Issue 19
// saw 7 pressure cycles in 3.5 minutes for 28 KB of growth, each logged "pressure condition
// holds", though nothing could be removed. Now, after such a cycle (whatever started it), the
// next pressure cycle waits until usage grows by a step (1% of the disk, or of the totalSize
// target), the images or containers change, or the condition clears; and the wait is logged
// once, not at every check.
import { describe, expect, it } from 'vitest';
import { checkPressure, PressureWatch, type Holding } from '../../src/runtime/pressure/watch.js';
import type { CycleReport } from '../../src/runtime/cycle/sweep.js';
import type { PressureSummary } from '../../src/core/model/plan.js';
import { resolveConfig } from '../../src/core/config/config.js';
import { FakeEngine } from '../support/fake-engine.js';
import { image } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

const GB = 1_000_000_000;
const STEP = GB; // 1% of a 100 GB disk

interface CycleSpec {
  mode?: 'dry-run' | 'enforce';
  removed?: number;
  reached?: boolean;
  blocked?: string;
  seen?: string;
  /** The condition held in the plan (false: the policy was idle). */
  active?: boolean;
}

function report(spec: CycleSpec = {}): CycleReport {
  const summary: PressureSummary = {
    policy: 'disk',
    measure: 'diskUsage',
    state: spec.active === false ? 'idle' : 'active',
    when: '85%',
    until: '70%',
    before: 90 * GB,
    capacity: 100 * GB,
    target: 70 * GB,
    freedEarlier: 0,
    freed: 0,
    predictedAfter: 90 * GB,
    selected: 0,
    spared: 0,
    reached: spec.reached ?? false,
  };
  return {
    mode: spec.mode ?? 'enforce',
    plan: {
      actions: [],
      reported: [],
      kept: [],
      totals: { count: 0, bytes: 0 },
      blocked: spec.blocked,
      pressure: [summary],
    },
    removed: Array.from({ length: spec.removed ?? 0 }, (_, i) => ({ resource: 'image', id: `i${i}` })),
    inDoubt: [],
    interrupted: undefined,
    seen: spec.seen ?? 'S1',
  } as unknown as CycleReport;
}

const at = (figure: number): Holding => ({ policy: 'disk', figure, step: STEP });

/**
 * A watch whose checks return `script` in turn and whose cycles answer `cycles` in turn, each
 * handed to settle() as the daemon does; `engine` is the digest of what the engine holds.
 */
function harness(script: Array<Holding | undefined>, cycles: CycleSpec[] = [], engine = () => 'S1') {
  const { log, lines } = captureLog();
  const triggered: Array<{ figure: number; because: string | undefined }> = [];
  const w: PressureWatch = new PressureWatch({
    log,
    busy: () => false,
    check: async () => script.shift(),
    trigger: async (h, because) => {
      triggered.push({ figure: h.figure, because });
      const r = report(cycles.shift());
      w.settle(r);
      return r;
    },
    seen: async () => engine(),
  });
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await w.tick();
  };
  return { w, lines, triggered, ticks };
}

const waitLines = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => /^pressure condition holds(,|;) .*the next pressure cycle waits/.test(String(l['msg'])));

describe('after a cycle that could remove nothing more', () => {
  it('28 KB of growth over 7 checks starts no cycle, and the wait is logged once', async () => {
    const figures = [90 * GB, ...Array.from({ length: 7 }, (_, i) => 90 * GB + (i + 1) * 4096)];
    const { w, lines, triggered, ticks } = harness(figures.map(at));
    // The scheduled cycle at start found the condition holding and nothing to take.
    w.settle(report());
    await ticks(8);
    expect(triggered).toEqual([]);
    // A later scheduled cycle finding the same nothing says nothing new.
    w.settle(report());
    const waits = waitLines(lines);
    expect(waits.map((l) => l['msg'])).toEqual([
      'pressure condition holds, but nothing more can be removed; the next pressure cycle waits until usage grows by a step or the images or containers change',
    ]);
    expect(waits[0]?.['policies']).toEqual([
      { policy: 'disk', before: 90 * GB, target: 70 * GB, predictedAfter: 90 * GB, reached: false },
    ]);
    expect(lines.some((l) => l['msg'] === 'pressure condition no longer holds')).toBe(false);
  });

  it('growth by a step starts one cycle, which says why; then it waits again from the new figure', async () => {
    const { w, triggered, lines, ticks } = harness([
      at(90 * GB),
      at(90.5 * GB),
      at(91 * GB), // a step above the first figure after the cycle
      at(91 * GB),
      at(91.9 * GB),
      at(92.1 * GB), // a step above 91 GB, the first figure after the second cycle
    ]);
    w.settle(report());
    await ticks(6);
    expect(triggered).toEqual([
      { figure: 91 * GB, because: 'usage grew by 1.00 GB (a step is 1.00 GB)' },
      { figure: 92.1 * GB, because: 'usage grew by 1.10 GB (a step is 1.00 GB)' },
    ]);
    // Still the same wait: logged when it began only.
    expect(waitLines(lines)).toHaveLength(1);
  });

  it('a change of images or containers starts one cycle', async () => {
    let engine = 'S1';
    const { w, triggered, ticks } = harness(
      [at(90 * GB), at(90 * GB), at(90 * GB), at(90 * GB)],
      [{ seen: 'S2' }],
      () => engine,
    );
    w.settle(report({ seen: 'S1' }));
    await ticks(2);
    expect(triggered).toEqual([]);
    engine = 'S2'; // say, an image was pulled, or a container that held one was removed
    await ticks(2);
    expect(triggered).toEqual([{ figure: 90 * GB, because: 'the images or containers changed' }]);
  });

  it('the condition clearing ends the wait, and is logged once', async () => {
    const { w, triggered, lines, ticks } = harness([at(90 * GB), undefined, undefined, at(86 * GB)]);
    w.settle(report());
    await ticks(4);
    expect(triggered).toEqual([{ figure: 86 * GB, because: undefined }]);
    expect(lines.filter((l) => l['msg'] === 'pressure condition no longer holds')).toHaveLength(1);
  });

  it('a cycle that removed something and may reach its target does not wait', async () => {
    const { w, triggered, ticks } = harness([at(88 * GB), at(88 * GB)], [{ removed: 2, reached: true }]);
    w.settle(report({ removed: 3, reached: true }));
    await ticks(2);
    expect(triggered.map((t) => t.figure)).toEqual([88 * GB, 88 * GB]);
  });

  it('a cycle that removed what it could and still falls short waits', async () => {
    const { w, triggered, ticks } = harness([at(88 * GB), at(88 * GB)]);
    w.settle(report({ removed: 3, reached: false }));
    await ticks(2);
    expect(triggered).toEqual([]);
  });

  it('dry-run and a blocked plan say why they wait', async () => {
    const dry = harness([]);
    dry.w.settle(report({ mode: 'dry-run', reached: true }));
    expect(waitLines(dry.lines).map((l) => l['msg'])).toEqual([
      'pressure condition holds; dry-run removes nothing, so the next pressure cycle waits until usage grows by a step or the images or containers change',
    ]);
    const blocked = harness([]);
    blocked.w.settle(report({ blocked: 'too many' }));
    expect(waitLines(blocked.lines).map((l) => l['msg'])).toEqual([
      'pressure condition holds, but the plan is blocked by limits; the next pressure cycle waits until usage grows by a step or the images or containers change',
    ]);
  });

  it('a new configuration ends the wait', async () => {
    const { w, triggered, ticks } = harness([at(90 * GB), at(90 * GB)]);
    w.settle(report());
    await ticks(1);
    w.reset();
    await ticks(1);
    expect(triggered).toEqual([{ figure: 90 * GB, because: undefined }]);
  });

  it('a cycle whose condition did not hold does not wait', async () => {
    const { w, triggered, ticks } = harness([at(90 * GB)]);
    w.settle(report({ active: false }));
    await ticks(1);
    expect(triggered).toHaveLength(1);
  });
});

describe('checkPressure', () => {
  it('a budget step is 1% of its target', async () => {
    const r = resolveConfig('/etc/reclaimd/config.yaml', { policies: ['p.yaml'] }, [
      {
        file: 'p.yaml',
        text: JSON.stringify({
          policies: [
            {
              name: 'budget',
              resource: 'image',
              match: {},
              when: { totalSizeAbove: '10kB' },
              until: { totalSizeBelow: '5kB' },
            },
          ],
        }),
      },
    ]);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const engine = new FakeEngine({ images: [image({ id: 'i1', layers: [['L1', 20_000]] })] });
    const { holding } = await checkPressure(r.value, engine);
    expect(holding).toEqual({ policy: 'budget', figure: 20_000, step: 50 });
  });

  it('a disk step is 1% of the file system', async () => {
    const r = resolveConfig('/etc/reclaimd/config.yaml', { policies: ['p.yaml'], pressure: { path: '/' } }, [
      {
        file: 'p.yaml',
        text: JSON.stringify({
          policies: [{ name: 'disk', resource: 'image', match: {}, when: { diskUsageAbove: '0%' } }],
        }),
      },
    ]);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const { holding, disk } = await checkPressure(r.value, new FakeEngine());
    const total = disk?.figures?.total ?? 0;
    expect(total).toBeGreaterThan(0);
    expect(holding?.step).toBe(Math.ceil(total / 100));
  });
});
