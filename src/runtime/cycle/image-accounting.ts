/**
 * How a cycle knows what its image deletions freed on the containerd image store, whose
 * answers name only the image deleted. The parts of the snapshot the plan was made from are
 * released deletion by deletion, in the order the engine made them (FreedTally): a part goes
 * with its last holder, as the store's garbage collector frees it. Parts the engine sizes on
 * its own (snapshots, content no other image shares) make exact figures. Where an image shares
 * layer blobs with others their sizes are estimates (src/core/model/image-parts.ts); then the
 * engine's own disk-usage figure, read just before and just after the image removals, settles
 * them, provided the change lies within what those removals can have freed. If it does not
 * (something else was pulled, built or written meanwhile) or cannot be read, their bytes are
 * unknown: never a guess.
 *
 * The classic store needs none of this: its answers list the layers they freed (execute.ts).
 */
import type { Engine } from '../../engine/engine.js';
import { FreedTally } from '../../core/planner/bytes/image-bytes.js';
import type { ByteRange, Plan } from '../../core/model/plan.js';
import type { Snapshot } from '../../core/model/snapshot.js';
import type { ExecuteOptions } from './execute.js';
import type { RemovalRecord } from './removal-record.js';
import type { Logger } from '../logger.js';

/** The measurement that settled (or could not settle) estimated image bytes. */
export interface ImageMeasurement {
  /** The engine's image disk usage just before and just after the image removals. */
  readonly before: number;
  readonly after: number;
  /** What the image removals can have freed: the drop had to lie in it to be taken as theirs. */
  readonly range: ByteRange;
  /** True: the drop settled the estimated removals' bytes; false: it did not fit, and they are unknown. */
  readonly settled: boolean;
}

/** The execute() options that account for image deletions on this engine's store. */
export function imageAccountingFor(
  engine: Engine,
  snapshot: Snapshot,
  plan: Plan,
): Pick<ExecuteOptions, 'images' | 'measureImages'> {
  const planned = new Set(plan.actions.filter((a) => a.resource === 'image').map((a) => a.id));
  // Nothing to account for: no tally of every image's parts for a cycle that deletes none.
  if (engine.imageStore !== 'containerd' || planned.size === 0) return {};
  const removedContainers = new Set(plan.actions.filter((a) => a.resource === 'container').map((a) => a.id));
  const ghostChains = snapshot.containers
    .filter((c) => !removedContainers.has(c.id))
    .flatMap((c) => snapshot.ghostLayers?.[c.id] ?? []);
  const tally = new FreedTally(snapshot.images, ghostChains);
  // Measured when a planned image holds an estimated part, whichever deletion ends up freeing it.
  const estimated = snapshot.images.some((i) => planned.has(i.id) && i.layers.some((l) => l.bounds !== undefined));
  return {
    images: { freed: (action) => tally.release(action.id), gone: (id) => void tally.release(id) },
    ...(estimated ? { measureImages: () => engine.imageDiskUsage().catch(() => undefined) } : {}),
  };
}

/**
 * Settles the bytes of image removals that rest on estimates by the measured drop in the
 * engine's image disk usage: the drop less the exactly known removals is shared among the
 * estimated ones in proportion to their estimates. Pure; returns the records in their order.
 */
export function settleImageBytes(
  removed: readonly RemovalRecord[],
  usage: { readonly before: number | undefined; readonly after: number | undefined } | undefined,
): { removed: RemovalRecord[]; measurement?: ImageMeasurement } {
  const images = removed.filter((r) => r.resource === 'image');
  const estimated = images.filter((r) => r.range !== undefined);
  if (estimated.length === 0) return { removed: [...removed] };
  const unknown = () => removed.map((r) => (r.range !== undefined ? { ...r, bytes: null } : r));
  if (usage?.before === undefined || usage.after === undefined) return { removed: unknown() };
  const exact = images.filter((r) => r.range === undefined).reduce((sum, r) => sum + (r.bytes ?? 0), 0);
  const range = {
    low: exact + estimated.reduce((s, r) => s + (r.range as ByteRange).low, 0),
    high: exact + estimated.reduce((s, r) => s + (r.range as ByteRange).high, 0),
  };
  const drop = usage.before - usage.after;
  const measurement = { before: usage.before, after: usage.after, range };
  if (drop < range.low || drop > range.high)
    return { removed: unknown(), measurement: { ...measurement, settled: false } };
  const shares = apportion(
    drop - exact,
    estimated.map((r) => r.bytes ?? 0),
  );
  const settled = new Map(estimated.map((r, i) => [r, shares[i] as number]));
  return {
    removed: removed.map((r) => (settled.has(r) ? { ...r, bytes: settled.get(r) as number } : r)),
    measurement: { ...measurement, settled: true },
  };
}

/** `total` split in proportion to `weights` (equally if they are all 0), in whole bytes that add up to it. */
function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const out = exact.map(Math.floor);
  // The bytes lost to rounding down go to the largest remainders, so the parts add up.
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] as number) + 1;
    left--;
  }
  return out;
}

/**
 * Logs what the measurement did, so an operator can see why estimated bytes became unknown.
 * `unseen`: an image deletion in doubt (in-doubt.ts) may have happened in the measured span.
 */
export function logMeasurement(
  log: Logger,
  measurement: ImageMeasurement | undefined,
  estimated: number,
  unseen = false,
): void {
  if (estimated === 0) return;
  if (unseen) {
    log.warn(
      { removals: estimated },
      "an image removal in doubt may have freed bytes while the engine's image disk usage was measured; the bytes of those whose content is shared with other images are unknown",
    );
  } else if (measurement === undefined) {
    log.warn(
      { removals: estimated },
      "could not read the engine's image disk usage around the image removals; the bytes of those whose content is shared with other images are unknown",
    );
  } else if (!measurement.settled) {
    log.warn(
      {
        drop: measurement.before - measurement.after,
        low: measurement.range.low,
        high: measurement.range.high,
        removals: estimated,
      },
      "the engine's image disk usage changed by more than the image removals can explain (something else was pulled, built or written meanwhile); the bytes of those whose content is shared with other images are unknown",
    );
  }
}
