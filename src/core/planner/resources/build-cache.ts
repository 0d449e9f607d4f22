/**
 * What the buildCache policies would prune. The removal itself is one engine-side request,
 * POST /build/prune, because BuildKit offers no safe way to delete one record by ID (its `id`
 * filter is a fuzzy match). So that a dry-run still predicts the real run, this file repeats
 * BuildKit's own prune rules (moby 20.10 builder-next → buildkit cache manager `prune`) on the
 * listed records:
 *
 * - a record held by a build (`InUse`) is never removed, nor one that another record was
 *   built on until that record is removed too (the child holds a reference to its parent);
 * - without `all`, internal and frontend records and records shared with images are skipped;
 * - `until` skips records last used after now − until; a record never used counts as old;
 * - `keep-storage`: nothing happens while the cache (all records not shared) is smaller than
 *   it; otherwise records go one at a time, least recently and least often used first, until
 *   the cache is smaller than it.
 *
 * What it cannot foresee: records that cross the `until` line, or that builds create or use,
 * between this plan and the prune, and the order BuildKit gives records that rank the same
 * (its sort is not stable). The engine's own figures are reported for what was removed, less
 * the records shared with images (see BuildCachePrune.shared). On the containerd image store
 * such a record holds a snapshot of its own beside the content it shares, so removing it frees
 * some of its size, which no answer says: the prediction is then a range, and the prune is
 * measured (src/runtime/cycle/execute-prune.ts). The `until` sent at prune time
 * is lengthened by the time since the plan (src/runtime/cycle/execute-prune.ts), so records that
 * cross the line in between stay.
 */
import type { CompiledBuildCachePolicy } from '../../config/compiled-policy.js';
import type { BuildCacheAction, BuildCachePrune } from '../../model/plan.js';
import type { BuildCacheRecord, Snapshot } from '../../model/snapshot.js';
import type { PlanContext } from '../context.js';
import { pruneOptions, type PruneOptions } from '../../match/build-cache.js';
import { formatBytes } from '../../../lib/units.js';

/**
 * One Action per buildCache policy whose prune would remove anything. Policies run in file
 * order; a later one is predicted on what an earlier removing policy leaves.
 */
export function planBuildCache(ctx: PlanContext): { actions: BuildCacheAction[]; reported: BuildCacheAction[] } {
  const { now } = ctx;
  const records = ctx.snapshot.buildCache;
  const store = ctx.snapshot.store ?? 'classic';
  const actions: BuildCacheAction[] = [];
  const reported: BuildCacheAction[] = [];
  if (records === undefined) return { actions, reported };
  let left = records;
  for (const policy of ctx.policies) {
    if (policy.resource !== 'buildCache') continue;
    const options = pruneOptions(policy);
    const removed = simulatePrune(left, options, now);
    if (removed.length === 0) continue;
    const action = pruneAction(policy, options, removed, left, store);
    if (policy.action === 'report') {
      reported.push(action);
    } else {
      actions.push(action);
      const gone = new Set(removed.map((r) => r.id));
      left = left.filter((r) => !gone.has(r.id));
    }
  }
  return { actions, reported };
}

function pruneAction(
  policy: CompiledBuildCachePolicy,
  options: PruneOptions,
  removed: readonly BuildCacheRecord[],
  before: readonly BuildCacheRecord[],
  store: Snapshot['store'],
): BuildCacheAction {
  const m = policy.spec.match;
  // A record shared with an image (only an `all` prune takes one) frees none of its data: the
  // image keeps it on disk. The engine counts it in SpaceReclaimed all the same. On the
  // containerd image store it frees its own snapshot, of a size not known: up to all of it.
  const bytes = removed.reduce((sum, r) => sum + (r.shared ? 0 : r.size), 0);
  const sharedRemoved = removed.reduce((sum, r) => sum + (r.shared ? r.size : 0), 0);
  const range =
    store === 'containerd' && sharedRemoved > 0 ? { bytesRange: { low: bytes, high: bytes + sharedRemoved } } : {};
  const shared = options.all ? Object.fromEntries(before.filter((r) => r.shared).map((r) => [r.id, r.size])) : {};
  const reasons: string[] = [];
  if (m.unusedFor !== undefined) reasons.push(`unused for ${m.unusedFor} or more`);
  if (options.keepStorage !== undefined)
    reasons.push(`cache of ${formatBytes(cacheSize(before))} is over keepStorage ${m.keepStorage}`);
  reasons.push(
    options.all ? 'including shared, internal and frontend records' : 'not shared with images, not internal',
  );
  // BuildKit's `until` takes a Go duration; d and w are ours, so it is sent in seconds.
  const prune: BuildCachePrune = {
    ...(options.unusedFor !== undefined && options.unusedFor > 0
      ? { until: `${Math.floor(options.unusedFor / 1000)}s` }
      : {}),
    ...(options.keepStorage !== undefined ? { keepStorage: options.keepStorage } : {}),
    all: options.all,
    records: removed.map((r) => r.id),
    ...(Object.keys(shared).length > 0 ? { shared } : {}),
  };
  return {
    resource: 'buildCache',
    id: policy.name,
    name: `${removed.length} build cache record(s)`,
    policy: policy.name,
    reason: `not in use, ${reasons.join(', ')}`,
    bytes,
    ...range,
    prune,
  };
}

/** The cache size BuildKit compares with keep-storage: every record not shared, in use or not. */
export function cacheSize(records: readonly BuildCacheRecord[]): number {
  return records.reduce((sum, r) => sum + (r.shared ? 0 : r.size), 0);
}

/** The records a prune with these options would remove, in the order BuildKit removes them. */
export function simulatePrune(
  records: readonly BuildCacheRecord[],
  options: PruneOptions,
  now: number,
): BuildCacheRecord[] {
  const cutoff = options.unusedFor === undefined || options.unusedFor === 0 ? undefined : now - options.unusedFor;
  const eligible = (r: BuildCacheRecord): boolean => {
    if (r.inUse) return false;
    if (!options.all && (r.type === 'internal' || r.type === 'frontend' || r.shared)) return false;
    return cutoff === undefined || r.lastUsedAt === undefined || r.lastUsedAt <= cutoff;
  };
  const present = new Set(records.map((r) => r.id));
  const children = new Map<string, number>();
  for (const r of records)
    if (r.parent !== undefined && present.has(r.parent)) children.set(r.parent, (children.get(r.parent) ?? 0) + 1);
  const removed: BuildCacheRecord[] = [];
  const remove = (r: BuildCacheRecord): void => {
    removed.push(r);
    present.delete(r.id);
    if (r.parent !== undefined && children.has(r.parent))
      children.set(r.parent, (children.get(r.parent) as number) - 1);
  };
  const ready = () => records.filter((r) => present.has(r.id) && (children.get(r.id) ?? 0) === 0 && eligible(r));

  if (options.keepStorage === undefined || options.keepStorage === 0) {
    // Each round removes what is free now; a parent becomes free once its children are gone.
    for (let round = ready(); round.length > 0; round = ready()) for (const r of round) remove(r);
    return removed;
  }
  let total = cacheSize(records);
  while (total >= options.keepStorage) {
    const next = rankForDeletion(ready())[0];
    if (next === undefined) break;
    remove(next);
    total -= next.size;
  }
  return removed;
}

/**
 * BuildKit's `sortDeleteRecords`: each record gets a rank by last use and a rank by use count,
 * each scaled to 0..1, and the smallest sum goes first. Ties are broken by last use, then ID,
 * where BuildKit's unstable sort may pick either.
 */
export function rankForDeletion(records: readonly BuildCacheRecord[]): BuildCacheRecord[] {
  const lastUsed = (r: BuildCacheRecord) => r.lastUsedAt ?? 0;
  const byLastUse = [...records].sort((a, b) => lastUsed(a) - lastUsed(b));
  const lastIndex = new Map<string, number>();
  let maxLast = 0;
  let val = -Infinity;
  for (const r of byLastUse) {
    if (lastUsed(r) > val) {
      val = lastUsed(r);
      maxLast++;
    }
    lastIndex.set(r.id, maxLast);
  }
  const byCount = [...records].sort((a, b) => a.usageCount - b.usageCount);
  const countIndex = new Map<string, number>();
  let maxCount = 0;
  let count = 0;
  for (const r of byCount) {
    if (r.usageCount !== count) {
      count = r.usageCount;
      maxCount++;
    }
    countIndex.set(r.id, maxCount);
  }
  const scaled = (n: number, max: number) => (max === 0 ? 0 : n / max);
  const score = (r: BuildCacheRecord) =>
    scaled(lastIndex.get(r.id) ?? 0, maxLast) + scaled(countIndex.get(r.id) ?? 0, maxCount);
  return [...records].sort(
    (a, b) => score(a) - score(b) || lastUsed(a) - lastUsed(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
