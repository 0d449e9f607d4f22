// The removal benchmark of issue 20: reclaimd against the engine's own prune on a build host's
// state, every run on an identical copy of it, in rotating order, with wall time and the
// engine's CPU time; and the fixed costs of a cycle with nothing to do.
import { dirname } from 'node:path';
import type Docker from 'dockerode';
import type { ThrowawayEngine } from '../test/support/throwaway-engine.js';
import type { EngineVariant } from '../test/support/engine-variant.js';
import { buildBuildHost, type BuildHost } from './build-host.js';
import { engineCpu } from './engine-cpu.js';
import { fixtureCounts, makeGolden, type Preparation } from './golden.js';
import { NOTHING, layersSize, steadyState, type SteadyState } from './measure.js';
import {
  MINE,
  SIDES,
  checkRun,
  median,
  rotation,
  summarizeSide,
  targets,
  versus,
  type Counts,
  type Mine,
  type RemovalRun,
  type Side,
  type SideSummary,
  type Targets,
  type Versus,
} from './removal-stats.js';
import {
  SYSTEM_PRUNE_EQUIVALENT,
  dockerCli,
  pruneEndpoints,
  reclaimdConfig,
  reclaimdCycle,
  reclaimdOnce,
  startHog,
  systemPrune,
  type Timed,
} from './sides.js';

/** The cold start of `once` with nothing to do: spawn to exit, every run and the median. */
export interface ColdStart {
  readonly dryRun: { readonly median: number; readonly seconds: readonly number[] };
  readonly enforce: { readonly median: number; readonly seconds: readonly number[] };
}

export interface RemovalResult {
  readonly kind: 'removal';
  readonly when: string;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly engine: string;
  readonly scale: number;
  readonly seed: number;
  readonly contention: boolean;
  readonly repeat: number;
  readonly fixture: BuildHost;
  /** How each run's state was made, and why restoring was given up if it was. */
  readonly preparation: { readonly method: Preparation; readonly fallbackReason?: string };
  readonly fixed: { readonly coldStart: ColdStart; readonly steady: SteadyState };
  readonly order: readonly Side[];
  readonly runs: readonly RemovalRun[];
  readonly sides: Readonly<Record<Side, SideSummary>>;
  /** Each of reclaimd's two ways of running against each reference. */
  readonly versus: Readonly<Record<Mine, { readonly 'system-prune': Versus; readonly 'prune-endpoints': Versus }>>;
  readonly targets: Readonly<Record<Mine, Targets>>;
}

export interface RemovalOptions {
  readonly engine: ThrowawayEngine;
  readonly docker: Docker;
  readonly variant: EngineVariant;
  readonly apiVersion: string;
  readonly scale: number;
  readonly seed: number;
  readonly repeat: number;
  readonly contention: boolean;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly say: (msg: string) => void;
}

const RUN = 'h';
const COLD_STARTS = 5;

const diff = (before: Counts, after: Counts): Counts =>
  Object.fromEntries(Object.keys(before).map((k) => [k, (before[k] ?? 0) - (after[k] ?? 0)]));

/** Whether every service still runs and its image and volume are still there. */
async function servicesIntact(docker: Docker, fixture: BuildHost): Promise<boolean> {
  const { running } = await fixtureCounts(docker, RUN);
  if (running !== fixture.containers.running) return false;
  try {
    await docker.getImage(fixture.keep.image).inspect();
    for (const v of fixture.keep.volumes) await docker.getVolume(v).inspect();
    return true;
  } catch {
    return false;
  }
}

async function coldStarts(host: string, mode: 'dry-run' | 'enforce') {
  const config = reclaimdConfig(host, NOTHING);
  const seconds: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const r = await reclaimdOnce(config, mode);
    if (r.problems.length > 0) throw new Error(`cold start of once (${mode}): ${r.problems.join('; ')}`);
    seconds.push(r.wallSeconds);
  }
  return { median: median(seconds), seconds };
}

export async function removalBench(o: RemovalOptions): Promise<RemovalResult> {
  const { engine, docker, variant, scale, say } = o;
  say(`building the build-host fixture at scale ${scale}`);
  const fixture = await buildBuildHost(docker, scale, o.seed, RUN);
  say(`built in ${fixture.seconds.toFixed(1)} s; fixed costs (steady cycle, cold start of once)`);
  const steady = await steadyState(engine.host, docker);
  const coldStart = {
    dryRun: await coldStarts(engine.host, 'dry-run'),
    enforce: await coldStarts(engine.host, 'enforce'),
  };
  say('copying the data root aside');
  const golden = await makeGolden(engine, docker, fixture, o.seed, RUN, say);

  const config = reclaimdConfig(engine.host, SYSTEM_PRUNE_EQUIVALENT);
  const cli = dockerCli(variant.binDir);
  const marker = dirname(engine.dataRoot);
  const runs: RemovalRun[] = [];
  const order: Side[] = [];
  const cycle = reclaimdCycle(engine.host, SYSTEM_PRUNE_EQUIVALENT);
  // Outside the timing and the engine CPU: the daemon's earlier cycle.
  const prepares: Partial<Record<Side, () => Promise<void>>> = { 'reclaimd-cycle': () => cycle.prepare() };
  const sides: Record<Side, () => Promise<Timed>> = {
    reclaimd: () => reclaimdOnce(config, 'enforce'),
    'reclaimd-cycle': () => cycle.run(),
    'system-prune': () => systemPrune(cli, engine.host, o.apiVersion),
    'prune-endpoints': () => pruneEndpoints(docker, o.apiVersion),
  };
  for (let i = 0; i < o.repeat; i++) {
    for (const side of rotation(i)) {
      say(`restoring the fixture (${golden.method()}) for ${side}, run ${i + 1} of ${o.repeat}`);
      await golden.prepare();
      const before = await fixtureCounts(docker, RUN);
      const layersBefore = await layersSize(docker);
      await prepares[side]?.();
      const cpu = engineCpu(marker);
      const cpuBefore = cpu();
      const stopHog = o.contention ? startHog() : undefined;
      let timed: Timed;
      try {
        timed = await sides[side]();
      } finally {
        stopHog?.();
      }
      const engineCpuSeconds = cpu() - cpuBefore;
      const after = await fixtureCounts(docker, RUN);
      const gone = diff(
        { container: before.containers, image: before.images, volume: before.volumes },
        { container: after.containers, image: after.images, volume: after.volumes },
      );
      const intact = await servicesIntact(docker, fixture);
      const run: RemovalRun = {
        side,
        wallSeconds: timed.wallSeconds,
        engineCpuSeconds,
        // The docker CLI's output does not count objects; what it removed is what went.
        removed: side === 'system-prune' ? gone : timed.removed,
        gone,
        bytes: timed.bytes,
        layersDrop: layersBefore - (await layersSize(docker)),
        servicesIntact: intact,
        problems: [...timed.problems, ...checkRun(gone, fixture.removable, intact)],
      };
      runs.push(run);
      order.push(side);
      say(
        `  ${side}: ${run.wallSeconds.toFixed(2)} s wall, ${engineCpuSeconds.toFixed(2)} s engine CPU${run.problems.length ? `; ${run.problems.join('; ')}` : ''}`,
      );
    }
  }
  const summaries = Object.fromEntries(SIDES.map((s) => [s, summarizeSide(s, runs)])) as Record<Side, SideSummary>;
  const vsOf = (mine: Mine) => ({
    'system-prune': versus(summaries[mine], summaries['system-prune']),
    'prune-endpoints': versus(summaries[mine], summaries['prune-endpoints']),
  });
  const vs = Object.fromEntries(MINE.map((m) => [m, vsOf(m)])) as RemovalResult['versus'];
  const reason = golden.fallbackReason();
  return {
    kind: 'removal',
    when: new Date().toISOString(),
    machine: o.machine,
    engine: variant.name,
    scale,
    seed: o.seed,
    contention: o.contention,
    repeat: o.repeat,
    fixture,
    preparation: { method: golden.method(), ...(reason === undefined ? {} : { fallbackReason: reason }) },
    fixed: { coldStart, steady },
    order,
    runs,
    sides: summaries,
    versus: vs,
    targets: Object.fromEntries(
      MINE.map((m) => [m, targets(scale, Object.values(vs[m]), steady.cycleSeconds)]),
    ) as RemovalResult['targets'],
  };
}
