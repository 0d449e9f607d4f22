// The removal benchmark's figures, kept pure so they can be unit-tested: one run of one side,
// the summary of a side's runs, the ratios against the references, and issue 20's targets.

/**
 * The sides compared: reclaimd's CLI from cron (cold start included), reclaimd's daemon cycle
 * (warm caches, as a daemon that has run before meets it), the docker CLI's system prune, the
 * prune endpoints.
 */
export const SIDES = ['reclaimd', 'reclaimd-cycle', 'system-prune', 'prune-endpoints'] as const;
export type Side = (typeof SIDES)[number];
/** reclaimd's two ways of running, each set against both references. */
export const MINE = ['reclaimd', 'reclaimd-cycle'] as const;
export type Mine = (typeof MINE)[number];
export const REFERENCES = ['system-prune', 'prune-endpoints'] as const;
export type Reference = (typeof REFERENCES)[number];

/** Object counts per resource: container, image, volume, network, buildCache. */
export type Counts = Record<string, number>;

export interface RemovalRun {
  readonly side: Side;
  readonly wallSeconds: number;
  /** utime + stime of dockerd and its containerd over the run (engine-cpu.ts). */
  readonly engineCpuSeconds: number;
  /** What the side said it removed, per resource (reclaimd's report; the prunes' answers; the CLI's listing diff). */
  readonly removed: Counts;
  /** The fixture's objects the engine no longer listed afterwards, per resource. */
  readonly gone: Counts;
  /** Bytes the side reported freed, per resource (`total` for the docker CLI, which gives one figure). */
  readonly bytes: Counts;
  /** How far the engine's LayersSize (`/system/df`) fell over the run. */
  readonly layersDrop: number;
  /** Services still running, with their image and volumes. */
  readonly servicesIntact: boolean;
  /** Problems: a removal count that is not the fixture's removable count, a side's failure. */
  readonly problems: readonly string[];
}

export interface SideSummary {
  readonly side: Side;
  readonly runs: number;
  readonly wallSeconds: number;
  readonly wallMin: number;
  readonly wallMax: number;
  readonly engineCpuSeconds: number;
  /** Median engine CPU seconds over the objects removed (counted as `gone`). */
  readonly engineCpuPerObject: number;
  readonly objects: number;
  readonly gone: Counts;
  readonly bytes: Counts;
  readonly layersDrop: number;
  /** Every run removed exactly the removable objects and left the services intact. */
  readonly identical: boolean;
  readonly problems: readonly string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

const total = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

/**
 * What a run must have removed: the fixture's removable containers, images and volumes, and
 * nothing of the services. Returns the problems found, in words.
 */
export function checkRun(gone: Counts, removable: Counts, servicesIntact: boolean): string[] {
  const problems: string[] = [];
  for (const [k, want] of Object.entries(removable)) {
    const got = gone[k] ?? 0;
    if (got !== want) problems.push(`removed ${got} ${k}s, expected ${want}`);
  }
  if (!servicesIntact) problems.push('a service, its image or its volume did not survive');
  return problems;
}

export function summarizeSide(side: Side, runs: readonly RemovalRun[]): SideSummary {
  const mine = runs.filter((r) => r.side === side);
  const first = mine[0];
  if (first === undefined) throw new Error(`no runs of ${side}`);
  const walls = mine.map((r) => r.wallSeconds);
  const problems = [...new Set(mine.flatMap((r) => r.problems))];
  return {
    side,
    runs: mine.length,
    wallSeconds: median(walls),
    wallMin: Math.min(...walls),
    wallMax: Math.max(...walls),
    engineCpuSeconds: median(mine.map((r) => r.engineCpuSeconds)),
    engineCpuPerObject: median(mine.map((r) => r.engineCpuSeconds / Math.max(1, total(r.gone)))),
    objects: total(first.gone),
    gone: first.gone,
    bytes: first.bytes,
    layersDrop: median(mine.map((r) => r.layersDrop)),
    identical: problems.length === 0 && mine.every((r) => total(r.gone) === total(first.gone)),
    problems,
  };
}

/**
 * reclaimd against one reference: `speedup` is the reference's median wall over reclaimd's
 * (≥ 1 means reclaimd is at least as fast); `cpuRatio` is reclaimd's engine CPU per object over
 * the reference's (≤ 1 means reclaimd makes the engine work less).
 */
export interface Versus {
  readonly speedup: number;
  readonly cpuRatio: number;
}

export function versus(reclaimd: SideSummary, reference: SideSummary): Versus {
  return {
    speedup: reference.wallSeconds / reclaimd.wallSeconds,
    cpuRatio: reclaimd.engineCpuPerObject / reference.engineCpuPerObject,
  };
}

/** Issue 20's targets for one scale, each true, false, or null where it does not apply. */
export interface Targets {
  /** At least as fast as every reference. */
  readonly asFast: boolean;
  /** 1.3× faster than every reference, from 1,000 objects up. */
  readonly faster: boolean | null;
  /** Engine CPU per removed object ≤ 1.2× every reference's. */
  readonly engineCpu: boolean;
  /** The in-process cycle with nothing to do ≤ 0.15 s, at 100 objects. */
  readonly fixedCost: boolean | null;
}

export function targets(scale: number, vs: readonly Versus[], fixedCostSeconds: number): Targets {
  return {
    asFast: vs.every((v) => v.speedup >= 1.0),
    faster: scale >= 1000 ? vs.every((v) => v.speedup >= 1.3) : null,
    engineCpu: vs.every((v) => v.cpuRatio <= 1.2),
    fixedCost: scale === 100 ? fixedCostSeconds <= 0.15 : null,
  };
}

/** The order of the sides in run `i`: rotated by one each run, so each goes first as often. */
export function rotation(i: number): Side[] {
  const k = i % SIDES.length;
  return [...SIDES.slice(k), ...SIDES.slice(0, k)];
}

/** The results' file name, without extension: removal-SCALE-ENGINE[-contention]. */
export function removalName(scale: number, engine: string, contention: boolean): string {
  return `removal-${scale}-${engine}${contention ? '-contention' : ''}`;
}
