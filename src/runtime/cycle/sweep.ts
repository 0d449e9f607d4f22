/**
 * One cycle: snapshot → plan → measure what the plan removes → plan again with sizes → guard
 * → execute → report. The plan is computed the same way in dry-run and enforce, so a dry-run
 * predicts the real run; dry-run stops exactly before the first removal.
 */
import type { Changes, ContainerMeasure, Engine } from '../../engine/engine.js';
import type { Config, Mode } from '../../core/config/config.js';
import type { Action, Plan } from '../../core/model/plan.js';
import type { RegistryAnswer, Snapshot, Usage } from '../../core/model/snapshot.js';
import { mapLimit } from '../../lib/pool.js';
import { plan as makePlan } from '../../core/planner/plan.js';
import { uniqueLayerBytes } from '../../core/planner/bytes/layer-bytes.js';
import { dependsOnRemovedContainers, execute, type SkipRecord } from './execute.js';
import type { RemovalRecord } from './removal-record.js';
import type { Logger } from '../logger.js';
import type { DiskReading } from '../pressure/disk.js';
import type { DiskFigures } from '../../core/planner/pressure/pressure.js';
import { hasPressurePolicies, leftAfter } from '../pressure/fingerprint.js';
import { gatherInputs } from './inputs.js';
import { logBlocked, logWouldRemove } from './plan-log.js';
import { imageAccountingFor, logMeasurement, settleImageBytes, type ImageMeasurement } from './image-accounting.js';
import { doubtKey, freedSinceListed, inDoubtOf, settleInDoubt, type InDoubt, type Settled } from './in-doubt.js';

export interface CycleReport {
  readonly mode: Mode;
  readonly startedAt: number;
  readonly plan: Plan;
  readonly removed: readonly RemovalRecord[];
  readonly skipped: readonly SkipRecord[];
  /** Bytes the engine reported freed by this cycle's removals (those whose bytes are known). */
  readonly reclaimedBytes: number;
  /** Removals whose freed bytes are unknown, and so not in reclaimedBytes. */
  readonly unknownBytes: number;
  /** containerd image store: the disk-usage measurement that settled estimated image bytes, if one was made. */
  readonly imageMeasurement?: ImageMeasurement;
  readonly engine: {
    readonly images: number;
    readonly containers: number;
    readonly volumes: number;
    readonly imageLayerBytes: number;
  };
  /** Why the cycle stopped early (engine lost, shutdown), if it did. */
  readonly interrupted: string | undefined;
  /**
   * Removals sent whose outcome no answer told (in-doubt.ts): they fail the cycle, and the next
   * cycle takes them (CycleOptions.inDoubt) to count those its snapshot shows done.
   */
  readonly inDoubt: readonly InDoubt[];
  /** Removals of an earlier cycle that were in doubt and that this cycle's snapshot shows done. */
  readonly earlier: readonly RemovalRecord[];
  /** Where the time went: listing and inspecting, planning and measuring, removing. */
  readonly timings: { readonly snapshotSeconds: number; readonly planSeconds: number; readonly executeSeconds: number };
  /** The data-root file system, read when a policy has `when.diskUsageAbove`. */
  readonly disk?: DiskReading;
  /**
   * With pressure policies: a digest of the images, containers (with their removable states) and
   * service images the cycle leaves behind (fingerprint.ts), so the pressure watch can tell whether anything a policy could act on
   * changed since.
   */
  readonly seen?: string;
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
  /** The previous cycle's removals in doubt (its report's `inDoubt`), on this same engine. */
  readonly inDoubt?: readonly InDoubt[];
  /** Told when a removal starts (+1) and when it has ended (-1): shutdown says whether one is in flight. */
  readonly inFlight?: (change: 1 | -1) => void;
}

export async function runCycle(
  engine: Engine,
  config: Config,
  options: CycleOptions,
  log: Logger,
): Promise<CycleReport> {
  // Opened before anything is listed, so that every change after the listing is in it.
  const changes = engine.watchChanges?.();
  try {
    const { snapshot, ...report } = await cycleOf(engine, config, options, log, changes);
    return hasPressurePolicies(config) ? { ...report, seen: leftAfter(snapshot, report.removed) } : report;
  } finally {
    changes?.close();
  }
}

/** The cycle itself; runCycle adds what the pressure watch needs. */
async function cycleOf(
  engine: Engine,
  config: Config,
  options: CycleOptions,
  log: Logger,
  changes: Changes | undefined,
): Promise<CycleReport & { readonly snapshot: Snapshot }> {
  const clock = stopwatch();
  const { listed, snapshot: first, disk } = await gatherInputs(engine, config, options.usage, log);
  const settled = settleInDoubt(options.inDoubt ?? [], listed);
  logSettled(log, settled);
  const snapshotSeconds = clock();
  const initial = makePlan(config, first, options.now, disk?.figures);
  const snapshot = await withSizes(engine, config, first, initial, log, changes);
  const plan = snapshot === first ? initial : makePlan(config, snapshot, options.now, disk?.figures);
  const planSeconds = clock();
  const base = {
    mode: options.mode,
    startedAt: options.now,
    plan,
    snapshot,
    engine: {
      images: snapshot.images.length,
      containers: snapshot.containers.length,
      volumes: snapshot.volumes.length,
      imageLayerBytes: uniqueLayerBytes(snapshot.images),
    },
    earlier: settled.removed,
    ...(disk ? { disk } : {}),
  };
  const timings = (executeSeconds: number) => ({ snapshotSeconds, planSeconds, executeSeconds });
  const nothing = {
    removed: [],
    skipped: [],
    inDoubt: [],
    reclaimedBytes: 0,
    unknownBytes: 0,
    interrupted: undefined,
    timings: timings(0),
  };
  if (plan.actions.length === 0) return { ...base, ...nothing };
  if (plan.blocked !== undefined) {
    logBlocked(log, config, plan, options.mode);
    return { ...base, ...nothing };
  }
  // Dry-run stops exactly here, and says what enforce would remove, one line per removal.
  if (options.mode === 'dry-run') {
    logWouldRemove(log, plan);
    return { ...base, ...nothing };
  }
  const result = await execute(engine, plan, log, {
    signal: options.signal,
    concurrency: config.limits.concurrentRemovals,
    waitsForContainers: dependsOnRemovedContainers(plan, snapshot.containers),
    planTime: { plannedAt: options.now, clock: options.clock ?? Date.now },
    ...(options.inFlight ? { inFlight: options.inFlight } : {}),
    ...(changes ? { changes } : {}),
    ...imageAccountingFor(engine, snapshot, plan),
    ...(settled.listed.size > 0 ? { removedEarlier: removedEarlier(settled, snapshot) } : {}),
  });
  // An image deletion nobody saw end may have freed its bytes inside the measured span; the
  // drop then says nothing certain about the deletions that were seen.
  const unseen =
    result.inDoubt.some((d) => d.action.resource === 'image') ||
    result.removed.some((r) => r.resource === 'image' && r.earlier === true);
  const { removed, measurement } = settleImageBytes(result.removed, unseen ? undefined : result.imageUsage);
  logMeasurement(log, measurement, result.removed.filter((r) => r.range !== undefined).length, unseen);
  const reclaimedBytes = removed.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
  const unknownBytes = removed.filter((r) => r.bytes === null).length;
  const credited = new Set(result.deleted);
  const inDoubt = result.inDoubt.map((d) => inDoubtOf(d.action, d.message, snapshot, credited));
  return {
    ...base,
    skipped: result.skipped,
    inDoubt,
    interrupted: result.interrupted,
    removed,
    reclaimedBytes,
    unknownBytes,
    ...(measurement ? { imageMeasurement: measurement } : {}),
    timings: timings(clock()),
  };
}

/** For execute(): what a carried object the snapshot still listed freed, if the engine now answers 404 for it. */
function removedEarlier(
  carried: Settled,
  snapshot: Snapshot,
): (action: Action) => { bytes: number | null } | undefined {
  return (action) => {
    const entry = carried.listed.get(doubtKey(action.resource, action.id));
    return entry === undefined ? undefined : { bytes: freedSinceListed(entry, snapshot) };
  };
}

/** Says once what became of each removal the previous cycle left in doubt. */
function logSettled(log: Logger, carried: Settled): void {
  for (const r of carried.removed) {
    log
      .child({ policy: r.policy, resource: r.resource })
      .info(
        { name: r.name, id: r.id, bytes: r.bytes, predictedBytes: r.predictedBytes },
        'removed by an earlier cycle: the engine carried out a removal whose outcome was in doubt',
      );
  }
  for (const d of carried.listed.values()) {
    log
      .child({ policy: d.policy, resource: d.resource })
      .info(
        { name: d.name, id: d.id },
        'a removal in doubt was not carried out: the object is still there, and the plan decides again',
      );
  }
  for (const d of carried.unknown) {
    log
      .child({ policy: d.policy, resource: d.resource })
      .warn(
        { name: d.name, id: d.id },
        'whether a removal in doubt was carried out is unknown (no policy lists its kind any more); it is not counted',
      );
  }
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
 * plan selected, and registries are asked only about the images archive policies selected;
 * then the plan is made again with the answers. Sizes never change what is selected; a
 * registry's answer decides only whether an image is archived first.
 */
async function withSizes(
  engine: Engine,
  config: Config,
  snapshot: Snapshot,
  plan: Plan,
  log: Logger,
  changes: Changes | undefined,
): Promise<Snapshot> {
  const selected = [...plan.actions, ...plan.reported];
  const containerIds = selected.filter((a) => a.resource === 'container').map((a) => a.id);
  const needVolumes = selected.some((a) => a.resource === 'volume');
  const digests = archiveDigests(config, snapshot, plan);
  if (containerIds.length === 0 && !needVolumes && digests.length === 0) return snapshot;
  const wanted = new Set(containerIds);
  // Side by side: the volume walk and the container inspects wait on different parts of the
  // engine, and together they are most of what an enforce cycle adds to the removals.
  const measuring =
    containerIds.length > 0
      ? engine.measureContainers(containerIds, changes)
      : Promise.resolve(new Map<string, ContainerMeasure>());
  const sizing = needVolumes ? volumeSizesOrNone(engine, log) : Promise.resolve(new Map<string, number>());
  const asking = askRegistries(engine, digests);
  // All settle before any result is used, so no rejection is left unobserved.
  const [measuredResult, volumeResult, registryResult] = await Promise.allSettled([measuring, sizing, asking]);
  if (measuredResult.status === 'rejected') throw measuredResult.reason;
  if (volumeResult.status === 'rejected') throw volumeResult.reason;
  if (registryResult.status === 'rejected') throw registryResult.reason;
  const measured = measuredResult.value;
  const volumeSizes = volumeResult.value;
  return {
    ...snapshot,
    ...(digests.length > 0 ? { registry: registryResult.value } : {}),
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

/** The repository digests of the images that archive policies selected: whether each can be pulled again decides its archive. */
function archiveDigests(config: Config, snapshot: Snapshot, plan: Plan): string[] {
  const archiving = new Set(config.policies.flatMap((p) => (p.resource === 'image' && p.archive ? [p.name] : [])));
  if (archiving.size === 0) return [];
  const images = new Map(snapshot.images.map((i) => [i.id, i]));
  const digests = plan.actions.flatMap((a) =>
    a.resource === 'image' && archiving.has(a.policy) ? (images.get(a.id)?.digests ?? []) : [],
  );
  return [...new Set(digests)];
}

/**
 * The snapshot with its registry answers, for `explain`, so that its verdict on an archive
 * policy's image is the cycle's (a cycle asks them while it measures, in withSizes).
 */
export async function withRegistryAnswers(
  engine: Engine,
  config: Config,
  snapshot: Snapshot,
  now: number,
  disk: DiskFigures | undefined,
): Promise<Snapshot> {
  const digests = archiveDigests(config, snapshot, makePlan(config, snapshot, now, disk));
  return digests.length === 0 ? snapshot : { ...snapshot, registry: await askRegistries(engine, digests) };
}

/** Each digest's registry answer, a few questions at a time (each may wait on a slow registry). */
async function askRegistries(engine: Engine, digests: readonly string[]): Promise<Map<string, RegistryAnswer>> {
  const answers = await mapLimit(digests, 4, (d) => engine.registryHas(d));
  return new Map(digests.map((d, i) => [d, answers[i] as RegistryAnswer]));
}

/** Volume sizes, or none when the walk failed (their bytes are then unknown); an unreachable engine still fails the cycle. */
async function volumeSizesOrNone(engine: Engine, log: Logger): Promise<Map<string, number>> {
  try {
    return await engine.measureVolumes();
  } catch (err) {
    const e = err as { kind?: string; message?: string };
    // An error answer leaves the sizes unknown; an engine gone or an answer unreadable is no
    // walk that failed, and ends the cycle.
    if (e.kind === 'unreachable' || e.kind === 'malformed') throw err;
    log.warn({ err: e.message }, 'could not measure volume sizes; their bytes are reported as unknown');
    return new Map<string, number>();
  }
}
