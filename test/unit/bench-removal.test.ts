// The removal benchmark's figures and pages: how a side's runs are summarized, how reclaimd is
// set against the prunes, which of issue 20's targets hold, and what the pages say, from fixed
// results rather than a run.
import { describe, expect, it } from 'vitest';
import {
  checkRun,
  removalName,
  rotation,
  summarizeSide,
  targets,
  versus,
  type RemovalRun,
  type Side,
  type SideSummary,
} from '../../bench/removal-stats.js';
import { reclaimedSpace } from '../../bench/sides.js';
import { renderRemoval } from '../../bench/removal-report.js';
import { renderSummary, targetNotes } from '../../bench/summary-table.js';
import type { RemovalResult } from '../../bench/removal.js';

const REMOVABLE = { container: 100, image: 100, volume: 100 };

function run(side: Side, wallSeconds: number, engineCpuSeconds: number, gone = REMOVABLE): RemovalRun {
  return {
    side,
    wallSeconds,
    engineCpuSeconds,
    removed: gone,
    gone,
    bytes: { image: 5_000_000 },
    layersDrop: 4_000_000,
    servicesIntact: true,
    problems: checkRun(gone, REMOVABLE, true),
  };
}

describe('summarizeSide', () => {
  it("takes the median wall and the median of each run's engine CPU per removed object", () => {
    const s = summarizeSide('reclaimd', [
      run('reclaimd', 3, 0.6),
      run('system-prune', 9, 9),
      run('reclaimd', 1, 0.3),
      run('reclaimd', 2, 1.5),
    ]);
    expect(s.runs).toBe(3);
    expect(s.wallSeconds).toBe(2);
    expect([s.wallMin, s.wallMax]).toEqual([1, 3]);
    expect(s.engineCpuSeconds).toBe(0.6);
    // 300 objects each: 0.6 / 300, the middle of 0.001, 0.002 and 0.005.
    expect(s.engineCpuPerObject).toBeCloseTo(0.002, 12);
    expect(s.objects).toBe(300);
    expect(s.identical).toBe(true);
  });

  it('marks a side whose run removed too little, with the reason, rather than hide it', () => {
    const s = summarizeSide('prune-endpoints', [
      run('prune-endpoints', 2, 1),
      run('prune-endpoints', 2, 1, { container: 100, image: 90, volume: 100 }),
    ]);
    expect(s.identical).toBe(false);
    expect(s.problems).toEqual(['removed 90 images, expected 100']);
  });
});

describe('checkRun', () => {
  it('names every resource whose count is off, and a service that did not survive', () => {
    expect(checkRun({ container: 100, image: 101 }, REMOVABLE, false)).toEqual([
      'removed 101 images, expected 100',
      'removed 0 volumes, expected 100',
      'a service, its image or its volume did not survive',
    ]);
    expect(checkRun(REMOVABLE, REMOVABLE, true)).toEqual([]);
  });
});

const summary = (side: Side, wallSeconds: number, engineCpuPerObject: number): SideSummary => ({
  ...summarizeSide(side, [run(side, wallSeconds, engineCpuPerObject * 300)]),
});

describe('versus and targets', () => {
  it("gives the reference's wall over reclaimd's, and reclaimd's CPU per object over the reference's", () => {
    const v = versus(summary('reclaimd', 2, 0.003), summary('system-prune', 3, 0.002));
    expect(v.speedup).toBeCloseTo(1.5, 12);
    expect(v.cpuRatio).toBeCloseTo(1.5, 12);
  });

  it('asks for 1.3× only from 1,000 up and the fixed cost only at 100', () => {
    const fast = { speedup: 1.2, cpuRatio: 1.1 };
    expect(targets(100, [fast, fast], 0.1)).toEqual({ asFast: true, faster: null, engineCpu: true, fixedCost: true });
    expect(targets(300, [fast], 0.2)).toEqual({ asFast: true, faster: null, engineCpu: true, fixedCost: null });
    expect(targets(1000, [fast], 0.2)).toEqual({ asFast: true, faster: false, engineCpu: true, fixedCost: null });
  });

  it('holds a target only when it holds against both references', () => {
    const t = targets(
      5000,
      [
        { speedup: 1.4, cpuRatio: 1.0 },
        { speedup: 0.9, cpuRatio: 1.3 },
      ],
      0.5,
    );
    expect(t).toEqual({ asFast: false, faster: false, engineCpu: false, fixedCost: null });
  });
});

describe('rotation and names', () => {
  it('lets each side go first once in four runs', () => {
    expect([0, 1, 2, 3, 4].map((i) => rotation(i)[0])).toEqual([
      'reclaimd',
      'reclaimd-cycle',
      'system-prune',
      'prune-endpoints',
      'reclaimd',
    ]);
  });

  it('names contention results so', () => {
    expect(removalName(300, 'docker-28.5', false)).toBe('removal-300-docker-28.5');
    expect(removalName(300, 'docker-28.5-containerd', true)).toBe('removal-300-docker-28.5-containerd-contention');
  });

  it("reads the docker CLI's total in its decimal units", () => {
    expect(reclaimedSpace('Deleted Volumes:\nx\n\nTotal reclaimed space: 1.5MB\n')).toBe(1_500_000);
    expect(reclaimedSpace('Total reclaimed space: 12kB')).toBe(12_000);
    expect(reclaimedSpace('Total reclaimed space: 0B')).toBe(0);
    expect(reclaimedSpace('nothing')).toBe(0);
  });
});

function result(engine: string, scale: number, reclaimdWall: number, contention = false): RemovalResult {
  const sides = {
    reclaimd: summary('reclaimd', reclaimdWall, 0.002),
    'reclaimd-cycle': summary('reclaimd-cycle', 1, 0.0015),
    'system-prune': summary('system-prune', 2, 0.002),
    'prune-endpoints': summary('prune-endpoints', 1.6, 0.0025),
  };
  const against = (m: 'reclaimd' | 'reclaimd-cycle') => ({
    'system-prune': versus(sides[m], sides['system-prune']),
    'prune-endpoints': versus(sides[m], sides['prune-endpoints']),
  });
  const vs = { reclaimd: against('reclaimd'), 'reclaimd-cycle': against('reclaimd-cycle') };
  return {
    kind: 'removal',
    when: '2026-12-07T16:00:00.000Z',
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      node: 'v20.0.0',
      engineVersion: '28.5.2',
      api: '1.51',
      store: 'overlay2',
    },
    engine,
    scale,
    seed: 1,
    contention,
    repeat: 1,
    fixture: {
      scale,
      images: scale + 1,
      dangling: 10,
      containers: { exited: scale, running: 2 },
      volumes: { named: scale + 2, written: 10, inUse: 2 },
      removable: { container: scale, image: scale, volume: scale },
      keep: { image: 'benchh/service:live', volumes: ['benchh-vol-100', 'benchh-vol-101'] },
      seconds: 12.5,
    },
    preparation: { method: 'restore' },
    fixed: {
      coldStart: { dryRun: { median: 0.31, seconds: [0.31] }, enforce: { median: 0.33, seconds: [0.33] } },
      steady: {
        cycleSeconds: 0.04,
        listSeconds: 0.02,
        ratio: 2,
        low: 1.8,
        high: 2.2,
        pairs: 30,
        callsPerCycle: 3,
        firstCycleSeconds: 0.5,
        firstCycleCalls: 300,
      },
    },
    order: ['reclaimd', 'reclaimd-cycle', 'system-prune', 'prune-endpoints'],
    runs: [],
    sides,
    versus: vs,
    targets: {
      reclaimd: targets(scale, Object.values(vs.reclaimd), 0.04),
      'reclaimd-cycle': targets(scale, Object.values(vs['reclaimd-cycle']), 0.04),
    },
  };
}

describe('the pages', () => {
  it('puts one row per side, with the ratios on the references, and the fixed costs', () => {
    const md = renderRemoval(result('docker-28.5', 100, 1.6));
    expect(md).toContain('## Removal benchmark (scale 100, docker-28.5)');
    expect(md).toContain(
      '| `reclaimd once --mode enforce` (CLI, spawn to exit) | 1.60 s (1.60–1.60) | 0.60 s | 2.000 ms | 1.25× / 1.00× | 1.00× / 0.80× | 300 (100 containers, 100 images, 100 volumes) |',
    );
    expect(md).toMatch(
      /\| reclaimd's daemon cycle, enforce [^|]* \| 1\.00 s \(1\.00–1\.00\) \| [^|]* \| 1\.500 ms \| 2\.00× \/ 1\.60× \| 0\.75× \/ 0\.60× \|/,
    );
    expect(md).toContain(
      '| `docker system prune -af --volumes` (CLI, spawn to exit; from API 1.42 followed by `docker volume prune -af`) | 2.00 s (2.00–2.00) | 0.60 s | 2.000 ms |  |  |',
    );
    expect(md).toContain('enforce (median of 1) | 0.330 |');
    expect(md).toContain('| steady cycle with nothing to do ≤ 0.15 s at 100 | met | met |');
    expect(md).toContain('| 1.3× faster than both, from 1,000 up | n/a | n/a |');
  });

  it('sums up every result in one table and says which targets hold and where not', () => {
    const md = renderSummary([
      result('docker-28.5', 1000, 1.5),
      result('docker-28.5', 100, 1.6),
      result('docker-28.5', 100, 3, true),
    ]);
    const rows = md.split('\n').filter((l) => l.startsWith('| [docker-28.5]'));
    expect(rows.map((r) => r.split(' | ')[1])).toEqual(['100', '100 (contention)', '1000']);
    expect(rows[0]).toContain(
      '| 2.00 s | 1.60 s | 2.000 ms | 2.500 ms | 1.60 s | 1.25× / 1.00× | 2.000 ms | 1.00× / 0.80× | 1.00 s | 2.00× / 1.60× | 1.500 ms | 0.75× / 0.60× | 0.330 s | 0.040 s |',
    );
    const both = 'docker-28.5 at 1000, docker-28.5 at 100';
    expect(targetNotes([result('docker-28.5', 1000, 1.5), result('docker-28.5', 100, 1.6)])).toEqual([
      '`once` (the CLI, cold start included):',
      `- reclaimd at least as fast as both prunes, at every scale: **holds** (${both}).`,
      '- 1.3× faster than both, from 1,000 up: **does not hold** at docker-28.5 at 1000.',
      `- engine CPU per removed object ≤ 1.2× both prunes': **holds** (${both}).`,
      '- cycle with nothing to do ≤ 0.15 s at 100 objects: **holds** (docker-28.5 at 100).',
      '',
      'The daemon cycle (warm caches):',
      `- reclaimd at least as fast as both prunes, at every scale: **holds** (${both}).`,
      '- 1.3× faster than both, from 1,000 up: **holds** (docker-28.5 at 1000).',
      `- engine CPU per removed object ≤ 1.2× both prunes': **holds** (${both}).`,
      '- cycle with nothing to do ≤ 0.15 s at 100 objects: **holds** (docker-28.5 at 100).',
    ]);
  });
});
