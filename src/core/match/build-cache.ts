/**
 * A build-cache policy's `match`. Unlike other resources, its conditions are not tested object
 * by object here: they become the options of one engine-side prune, whose rules the planner
 * repeats record by record (planner/resources/build-cache.ts simulatePrune).
 */
import type { CompiledBuildCachePolicy } from '../config/compiled-policy.js';

export interface PruneOptions {
  /** Milliseconds: only records last used at least this long ago. */
  readonly unusedFor: number | undefined;
  readonly keepStorage: number | undefined;
  readonly all: boolean;
}

/** A policy's match as the prune (and its simulation) reads it: durations in milliseconds, sizes in bytes. */
export function pruneOptions(policy: CompiledBuildCachePolicy): PruneOptions {
  const m = policy.match;
  return { unusedFor: m.unusedFor?.ms, keepStorage: m.keepStorage, all: m.all };
}
