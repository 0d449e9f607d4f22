/**
 * One cycle: snapshot → plan → measure what the plan removes → plan again with sizes → guard
 * → execute → report. The plan is computed the same way in dry-run and enforce, so a dry-run
 * predicts the real run; dry-run stops exactly before the first removal.
 */
import type { ContainerMeasure, Engine } from '../docker/engine.js';
import type { Config, Mode } from '../policy/config.js';
import type { Plan } from '../policy/plan-types.js';
import type { Snapshot, Usage } from '../policy/snapshot.js';
import { plan as makePlan } from '../policy/plan.js';
import { dependsOnRemovedContainers, execute, type RemovalRecord, type SkipRecord } from './execute.js';
import type { Logger } from './logger.js';
import { needsDisk, readDisk, type DiskReading } from './pressure-disk.js';

export interface CycleReport {
  readonly mode: Mode;
  readonly startedAt: number;
  readonly plan: Plan;
  readonly removed: readonly RemovalRecord[];
  readonly skipped: readonly SkipRecord[];
  /** Bytes the engine reported freed by this cycle's removals. */
  readonly reclaimedBytes: number;
  readonly engine: { readonly images: number; readonly containers: number; readonly volumes: number; readonly imageLayerBytes: number };
  /** Why the cycle stopped early (engine lost, shutdown), if it did. */
  readonly interrupted: string | undefined;
  /** Where the time went: listing and inspecting, planning and measuring, removing. */
  readonly timings: { readonly snapshotSeconds: number; readonly planSeconds: number; readonly executeSeconds: number };
  /** The data-root file system, read when a policy has `when.diskUsageAbove`. */
  readonly disk?: DiskReading;
}

export interface CycleOptions {
  readonly mode: Mode;
  readonly now: number;
  /** Aborted on shutdown: the removal in flight finishes, no new one starts. */
  readonly signal?: AbortSignal;
  /**
   * The last-use store: merges the snapshot (existing containers are a use, now) and returns
   * the usage to plan with; undefined means last use is unknown.
   */
  readonly usage?: (snapshot: Snapshot) => Usage | undefined;
  /** The clock `now` was read from (default Date.now): how long ago the plan was made, at prune time. */
  readonly clock?: () => number;
}

export async function runCycle(engine: Engine, config: Config, options: CycleOptions, log: Logger): Promise<CycleReport> {
  const clock = stopwatch();
  const needs = {
    containerDetails: config.policies.some((p) => p.resource === 'container'),
    networks: config.policies.some((p) => p.resource === 'network'),
    buildCache: config.policies.some((p) => p.resource === 'buildCache'),
    swarmServices: config.inUse.swarmServices && config.policies.some((p) => p.resource === 'image'),
  };
  const listed = await engine.snapshot(needs);
  const usage = options.usage?.(listed);
  const first = usage === undefined ? listed : { ...listed, usage };
  // Read once per cycle, so both plans of the cycle judge pressure by the same figures.
  const disk = needsDisk(config) ? await readDisk(config, engine.dataRoot) : undefined;
  if (disk?.error !== undefined) log.error({ path: disk.path, err: disk.error }, 'disk usage unknown: policies with when.diskUsageAbove are skipped and remove nothing');
  const snapshotSeconds = clock();
  const initial = makePlan(config, first, options.now, disk?.figures);
  const snapshot = await withSizes(engine, first, initial, log);
  const plan = snapshot === first ? initial : makePlan(config, snapshot, options.now, disk?.figures);
  const planSeconds = clock();
  const base = {
    mode: options.mode,
    startedAt: options.now,
    plan,
    engine: { images: snapshot.images.length, containers: snapshot.containers.length, volumes: snapshot.volumes.length, imageLayerBytes: uniqueLayerBytes(snapshot) },
    ...(disk ? { disk } : {}),
  };
  const timings = (executeSeconds: number) => ({ snapshotSeconds, planSeconds, executeSeconds });
  if (options.mode === 'dry-run' || plan.actions.length === 0) {
    return { ...base, removed: [], skipped: [], reclaimedBytes: 0, interrupted: undefined, timings: timings(0) };
  }
  if (plan.blocked !== undefined) {
    log.warn({ count: plan.totals.count, bytes: plan.totals.bytes, limit: config.limits.maxRemovalsPerRun, byPolicy: countByPolicy(plan) }, 'plan blocked by limits; nothing removed');
    return { ...base, removed: [], skipped: [], reclaimedBytes: 0, interrupted: undefined, timings: timings(0) };
  }
  const result = await execute(engine, plan, options.signal, log, config.limits.concurrentRemovals, dependsOnRemovedContainers(plan, snapshot.containers), { plannedAt: options.now, clock: options.clock ?? Date.now });
  const reclaimedBytes = result.removed.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
  return { ...base, ...result, reclaimedBytes, timings: timings(clock()) };
}

/** Seconds since the previous call (or since it was made). */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    return seconds;
  };
}

/**
 * Sizes that cost a walk of the disk (writable layers, volumes) are measured only for what the
 * plan selected, then the plan is made again with them; sizes never change what is selected.
 */
async function withSizes(engine: Engine, snapshot: Snapshot, plan: Plan, log: Logger): Promise<Snapshot> {
  const selected = [...plan.actions, ...plan.reported];
  const containerIds = selected.filter((a) => a.resource === 'container').map((a) => a.id);
  const needVolumes = selected.some((a) => a.resource === 'volume');
  if (containerIds.length === 0 && !needVolumes) return snapshot;
  const wanted = new Set(containerIds);
  // Side by side: the volume walk and the container inspects wait on different parts of the
  // engine, and together they are most of what an enforce cycle adds to the removals.
  const measuring = containerIds.length > 0 ? engine.measureContainers(containerIds) : Promise.resolve(new Map<string, ContainerMeasure>());
  const sizing = needVolumes ? volumeSizesOrNone(engine, log) : Promise.resolve(new Map<string, number>());
  // Both settle before either result is used, so neither rejection is left unobserved.
  const [measuredResult, volumeResult] = await Promise.allSettled([measuring, sizing]);
  if (measuredResult.status === 'rejected') throw measuredResult.reason;
  if (volumeResult.status === 'rejected') throw volumeResult.reason;
  const measured = measuredResult.value;
  const volumeSizes = volumeResult.value;
  return {
    ...snapshot,
    // Fresh state and finish time too: a container restarted since the listing must not be
    // judged by the old ones. One removed since the listing simply drops out.
    containers: snapshot.containers.flatMap((c) => {
      if (!wanted.has(c.id)) return [c];
      const m = measured.get(c.id);
      return m ? [{ ...c, state: m.state, finishedAt: m.finishedAt, exitCode: m.exitCode, sizeRw: m.sizeRw }] : [];
    }),
    volumes: snapshot.volumes.map((v) => (volumeSizes.has(v.name) ? { ...v, size: volumeSizes.get(v.name) } : v)),
  };
}

/** Volume sizes, or none when the walk failed (their bytes are then unknown); an unreachable engine still fails the cycle. */
async function volumeSizesOrNone(engine: Engine, log: Logger): Promise<Map<string, number>> {
  try {
    return await engine.measureVolumes();
  } catch (err) {
    const e = err as { kind?: string; message?: string };
    if (e.kind === 'unreachable') throw err;
    log.warn({ err: e.message }, 'could not measure volume sizes; their bytes are reported as unknown');
    return new Map<string, number>();
  }
}

/** Bytes of all image layers, each shared layer once: what `docker system df` calls LayersSize. */
function uniqueLayerBytes(snapshot: Snapshot): number {
  const sizes = new Map<string, number>();
  for (const image of snapshot.images) for (const l of image.layers) sizes.set(l.chain, l.size);
  let total = 0;
  for (const s of sizes.values()) total += s;
  return total;
}

function countByPolicy(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of plan.actions) out[a.policy] = (out[a.policy] ?? 0) + 1;
  return out;
}
