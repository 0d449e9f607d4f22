/**
 * What every per-resource planner reads, in one object instead of a different row of
 * positional parameters for each. A plan builds it in two stages: the base, and once the
 * containers are planned, what their removal leaves (which images and volumes are still used).
 */
import type { Config } from '../config/config.js';
import type { CompiledPolicy, CompiledProtect } from '../config/compiled-policy.js';
import type { ContainerObj, ImageObj, Snapshot } from '../model/snapshot.js';
import type { Ledger } from './ledger.js';
import type { ImageIndex } from './shared/image-index.js';

export interface PlanContext {
  /** The configuration as loaded; the planners read its compiled policies. */
  readonly config: Config;
  /** In evaluation order: the first policy that matches an object decides. */
  readonly policies: readonly CompiledPolicy[];
  readonly protect: CompiledProtect;
  readonly snapshot: Snapshot;
  /** The plan's time; no planner reads the clock. */
  readonly now: number;
  readonly ledger: Ledger;
}

/** The context once containers are planned. */
export interface AfterContainers extends PlanContext {
  /** Containers that stay; whatever they use is in use. */
  readonly remaining: readonly ContainerObj[];
  /** Containers the plan removes, by ID. */
  readonly removed: ReadonlyMap<string, ContainerObj>;
  /** Images by ID and parent, with the remaining containers that use them. */
  readonly index: ImageIndex;
  /** An untagged parent that stays even when its last child goes (see orphanHold). */
  readonly isHeld: (image: ImageObj) => boolean;
  /** Layers remaining containers hold whose image is no longer listed. */
  readonly ghostChains: readonly string[];
}

/** The base context of one plan. */
export function planContext(config: Config, snapshot: Snapshot, now: number, ledger: Ledger): PlanContext {
  return { config, policies: config.compiled.policies, protect: config.compiled.protect, snapshot, now, ledger };
}
