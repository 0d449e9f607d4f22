/**
 * One build-cache prune, as planned. The engine measures `until` from its own clock when the
 * prune runs, and the prune runs last in a cycle, possibly minutes after the plan; sent as
 * planned, it would also take the records that crossed the line in between. So the time since
 * the plan is added to it, rounded up to whole seconds: the engine's cutoff is then no later
 * than the plan's. What the engine deleted anyway without the plan naming it (a build finished
 * meanwhile, BuildKit ranked a tie the other way) is logged and returned as `unplanned`.
 */
import type { Engine, RemovalOutcome } from '../../engine/engine.js';
import type { BuildCacheAction, BuildCachePrune } from '../../core/model/plan.js';
import type { Logger } from '../logger.js';

/** When the plan was made, and the clock that tells how long ago that was. */
export interface PlanTime {
  readonly plannedAt: number;
  readonly clock: () => number;
}

/** A prune's outcome; `bytes` no longer count records shared with images, `unplanned` lists deleted records the plan did not name. */
export type PruneOutcome = RemovalOutcome & { readonly unplanned?: readonly string[] };

/**
 * Runs the action's prune with `until` lengthened by the time since the plan. Bytes are the
 * engine's SpaceReclaimed less the sizes of deleted records the snapshot marked shared. Where
 * those free an unknown part of their size (the containerd image store: the plan gave a
 * range), the engine's disk usage is read around the prune, which runs alone, and its drop is
 * the bytes if it fits what the prune can have freed; otherwise they are unknown.
 */
export async function runPrune(
  engine: Engine,
  action: BuildCacheAction,
  time: PlanTime | undefined,
  log: Logger,
): Promise<PruneOutcome> {
  const prune = withUntilAt(action.prune, time);
  const measure = action.bytesRange === undefined ? undefined : () => engine.imageDiskUsage().catch(() => undefined);
  const before = await measure?.();
  const outcome = await engine.pruneBuildCache(prune);
  if (!outcome.ok) return outcome;
  const after = await measure?.();
  const planned = new Set(prune.records);
  const unplanned = outcome.deleted.filter((id) => !planned.has(id));
  if (unplanned.length > 0)
    log.warn(
      { policy: action.policy, resource: 'buildCache', unplanned },
      'the prune deleted build cache records the plan did not name',
    );
  const shared = prune.shared ?? {};
  const sharedBytes = outcome.deleted.reduce((sum, id) => sum + (shared[id] ?? 0), 0);
  const reclaimed = outcome.bytes ?? undefined;
  let bytes: number | null | undefined = reclaimed === undefined ? undefined : Math.max(0, reclaimed - sharedBytes);
  if (measure !== undefined && bytes !== undefined) {
    const drop = before === undefined || after === undefined ? undefined : before - after;
    const fits = drop !== undefined && drop >= bytes && drop <= (reclaimed as number);
    if (!fits)
      log.warn(
        { policy: action.policy, resource: 'buildCache', drop: drop ?? null, low: bytes, high: reclaimed },
        "the engine's disk usage did not show what the prune freed of records shared with images; its bytes are unknown",
      );
    bytes = fits ? drop : null;
  }
  return {
    ok: true,
    deleted: outcome.deleted,
    ...(bytes === undefined ? {} : { bytes }),
    ...(unplanned.length > 0 ? { unplanned } : {}),
  };
}

/** The prune with `until` (whole seconds) plus the seconds since the plan, rounded up. */
export function withUntilAt(prune: BuildCachePrune, time: PlanTime | undefined): BuildCachePrune {
  if (prune.until === undefined || time === undefined) return prune;
  const planned = Number(prune.until.replace(/s$/, ''));
  // A clock set back since the plan must never shorten `until`.
  const elapsed = Math.max(0, Math.ceil((time.clock() - time.plannedAt) / 1000));
  return { ...prune, until: `${planned + elapsed}s` };
}
