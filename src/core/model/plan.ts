/** The planner's output: data that says what will be removed, what was kept, and why. */

/** The span an estimate lies in: the least and the most the bytes can be (image-parts.ts). */
export interface ByteRange {
  readonly low: number;
  readonly high: number;
}

export type ResourceKind = 'image' | 'container' | 'volume' | 'network' | 'buildCache';

/** What one engine-side build-cache prune is asked to do, and the records it is predicted to remove. */
export interface BuildCachePrune {
  /** BuildKit's `until` filter: a Go duration in seconds, e.g. "604800s". */
  readonly until?: string;
  /** `keep-storage` in bytes. */
  readonly keepStorage?: number;
  readonly all: boolean;
  /** IDs of the records the planner predicts the prune removes, in the order BuildKit would. */
  readonly records: readonly string[];
  /**
   * `all` prunes only: the size of every listed record shared with an image, by ID. A prune
   * that deletes one frees none of its data (the image holds it), so these sizes are taken out
   * of the engine's SpaceReclaimed, as they are out of the prediction.
   */
  readonly shared?: Readonly<Record<string, number>>;
}

/** What every removal (or report) carries, whatever the resource. */
interface ActionBase {
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  readonly reason: string;
  /** Bytes this removal frees, predicted; null when the engine gave no size to predict from. */
  readonly bytes: number | null;
}

export interface ContainerAction extends ActionBase {
  readonly resource: 'container';
}

export interface ImageAction extends ActionBase {
  readonly resource: 'image';
  /**
   * Set when `bytes` is an estimate (containerd image store: content shared with other images,
   * which the engine does not size blob by blob), with the range the true figure is certain to
   * lie in. See src/core/model/image-parts.ts.
   */
  readonly bytesRange?: ByteRange;
  /** Every tag the image had when planned; one it has gained since stops the removal. Absent on a report. */
  readonly tags?: readonly string[];
  /** Every digest the image had when planned; one it has gained since stops the removal. Absent on a report. */
  readonly digests?: readonly string[];
  /** Planned children that must be deleted first; if one is not, this one is skipped. */
  readonly dependsOn?: readonly string[];
  /** Part of a parent/child tree, so deleted one at a time in plan order. */
  readonly inTree?: boolean;
  /** Save it (`docker save`) into this archive first; if that fails, it stays. */
  readonly archive?: ArchivePlan;
}

export interface VolumeAction extends ActionBase {
  readonly resource: 'volume';
}

export interface NetworkAction extends ActionBase {
  readonly resource: 'network';
}

export interface BuildCacheAction extends ActionBase {
  readonly resource: 'buildCache';
  /** containerd image store: records shared with images free an unknown part of their size. */
  readonly bytesRange?: ByteRange;
  /** The action is one engine-side prune; see BuildCachePrune. */
  readonly prune: BuildCachePrune;
}

/** One removal (or report), by resource: only images and build-cache prunes carry more than the base. */
export type Action = ContainerAction | ImageAction | VolumeAction | NetworkAction | BuildCacheAction;

/** The action of one resource. */
export type ActionOf<R extends ResourceKind> = Extract<Action, { readonly resource: R }>;

/** Where an image is archived before removal, and about how large the archive will be. */
export interface ArchivePlan {
  readonly dir: string;
  /** The image's size as the engine reports it: an estimate of the archive (uncompressed layers). */
  readonly estimatedBytes: number;
}

export interface Kept {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  readonly reason: string;
}

/**
 * How far a pressure policy (one with `when`) got: the figure it measured, the target, and
 * what the plan is predicted to leave. Bytes throughout; `capacity` only for disk usage.
 */
export interface PressureSummary {
  readonly policy: string;
  readonly measure: 'diskUsage' | 'totalSize';
  /** `active`: the condition held and the policy ran; `idle`: it did not hold; `unknown`: the figure could not be read, so the policy removed nothing. */
  readonly state: 'active' | 'idle' | 'unknown';
  /** The `when` and `until` thresholds as written. */
  readonly when: string;
  readonly until: string;
  /** The measured figure: bytes used on the file system, or the resource's total; null when unknown. */
  readonly before: number | null;
  /** The file system's size (disk usage only). */
  readonly capacity: number | null;
  /** The figure the policy removes down to, in bytes; null when unknown. */
  readonly target: number | null;
  /** Bytes earlier policies' image removals in this plan are predicted to free (credited first). */
  readonly freedEarlier: number;
  /** Bytes this policy's own selections are predicted to free. */
  readonly freed: number;
  /** `before` minus everything credited; null when unknown. */
  readonly predictedAfter: number | null;
  /** Objects this policy selected (or reported). */
  readonly selected: number;
  /** Objects it matched but left alone because the target was already reached. */
  readonly spared: number;
  /** True when the predicted figure is at or below the target. */
  readonly reached: boolean;
}

export interface Plan {
  /** Removals in the order they must run: containers, images (stand-alone, then trees children first), volumes, networks, build-cache prunes. */
  readonly actions: readonly Action[];
  /** Selected by a policy whose action is `report`: never removed. */
  readonly reported: readonly Action[];
  /** Objects a policy matched but something exempted, each once, with the first reason. */
  readonly kept: readonly Kept[];
  /**
   * `bytes` adds up the removals whose bytes are known; `unknown` (only when not 0) counts the
   * others; `range` (only when some bytes are estimates) is where the true total lies.
   */
  readonly totals: {
    readonly count: number;
    readonly bytes: number;
    readonly unknown?: number;
    readonly range?: ByteRange;
  };
  /** Set when a safety limit forbids this plan; then nothing is removed. */
  readonly blocked: string | undefined;
  /** One entry per pressure policy (with `when`), in policy order; absent when there are none. */
  readonly pressure?: readonly PressureSummary[];
}
