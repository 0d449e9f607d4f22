/**
 * One removal the engine confirmed, as the cycle records it. Its own file because both the
 * executor and the in-doubt rules (which settle removals of earlier cycles) produce them.
 */
import type { ByteRange, ResourceKind } from '../../core/model/plan.js';
import type { Archived } from './archive.js';

export interface RemovalRecord {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  /** What the plan predicted. */
  readonly predictedBytes: number | null;
  /** What the engine reported freed; null when unknown. */
  readonly bytes: number | null;
  /**
   * Images on the containerd image store whose bytes rest on estimated parts: the range they
   * lie in. The cycle then measures the engine's disk usage to settle them (sweep.ts).
   */
  readonly range?: ByteRange;
  /** Images: the archive written before the removal (Action.archive). */
  readonly archived?: Archived;
  /** Build cache: record IDs the prune deleted that the plan did not name. */
  readonly unplanned?: readonly string[];
  /** Removed by a request of an earlier cycle whose answer was lost (the engine now answered 404). */
  readonly earlier?: true;
}
