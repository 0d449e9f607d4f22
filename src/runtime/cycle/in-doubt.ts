/**
 * Removals whose outcome is in doubt: reclaimd sent the request and no answer said what the
 * engine did. Either the connection broke after the request went out (the engine stopped or
 * crashed, `docker.timeout` passed), or the engine answered with an error of its own, or with
 * one reclaimd cannot read. An engine that is shutting down does all of these: Docker 28.5
 * answered 500 for containers and images it had removed, Docker 20.10 for images it had only
 * untagged, and either dropped connections whose requests it had carried out.
 *
 * Such a removal is neither counted as removed nor as skipped, and its cycle fails. It is
 * carried to the next cycle, whose snapshot settles it: an object no longer listed was removed
 * and counts for its policy, with the bytes its removal freed; one still listed is forgotten,
 * and the plan selects it again if it still should. All of it is pure: the snapshot decides.
 */
import type { Action, ResourceKind } from '../../core/model/plan.js';
import type { ImageLayer, Snapshot } from '../../core/model/snapshot.js';
import type { RemovalRecord } from './removal-record.js';

/** One removal in doubt, with what the next cycle needs to count it should it turn out done. */
export interface InDoubt {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  /** What the plan predicted; for containers and volumes measured just before the request. */
  readonly predictedBytes: number | null;
  /**
   * Images: the parts (layers, snapshots, content) the image held when the request was sent,
   * less those the cycle's confirmed deletions were credited with, so none is counted twice.
   */
  readonly parts?: readonly ImageLayer[];
  /** Build cache: the records the prune was to delete. */
  readonly records?: readonly string[];
  /** The engine's error, or why no answer came. */
  readonly message: string;
}

/** The outcome of carried removals, as one snapshot shows it. */
export interface Settled {
  /** Objects gone from the snapshot: removed by the request whose answer was lost. */
  readonly removed: RemovalRecord[];
  /** Objects the snapshot still lists, by resource and ID: a 404 for one of them later in the cycle means that request did it. */
  readonly listed: ReadonlyMap<string, InDoubt>;
  /** Objects the snapshot cannot tell about (their kind was not listed): forgotten uncounted. */
  readonly unknown: InDoubt[];
}

/**
 * The entry for a removal of this cycle whose outcome is in doubt. `credited` are the parts the
 * engine said the cycle's confirmed image deletions deleted (the classic store's chain IDs).
 */
export function inDoubtOf(action: Action, message: string, snapshot: Snapshot, credited: ReadonlySet<string>): InDoubt {
  const base = {
    resource: action.resource,
    id: action.id,
    name: action.name,
    policy: action.policy,
    predictedBytes: action.bytes,
    message,
  };
  if (action.resource === 'image') {
    const layers = snapshot.images.find((i) => i.id === action.id)?.layers ?? [];
    return { ...base, parts: layers.filter((l) => !credited.has(l.chain)) };
  }
  if (action.resource === 'buildCache') return { ...base, records: action.prune?.records ?? [] };
  return base;
}

/**
 * Whether a failed removal request leaves its outcome in doubt: the connection broke (unless
 * it never opened: then nothing reached the engine), the engine answered with an error of its
 * own (404 and 409 are definite answers), or the answer could not be read.
 */
export function leavesInDoubt(outcome: { readonly kind: string; readonly message: string }): boolean {
  if (outcome.kind === 'unreachable') return !NEVER_CONNECTED.test(outcome.message);
  return outcome.kind === 'failed' || outcome.kind === 'malformed';
}

/** Socket errors of a connection that never opened, as classify() puts their code first. */
const NEVER_CONNECTED = /^(ECONNREFUSED|ENOENT|EACCES|ENOTFOUND|EHOSTUNREACH)\b/;

/** The key of an object among the carried ones. */
export function doubtKey(resource: ResourceKind, id: string): string {
  return `${resource}:${id}`;
}

/** Sorts carried removals by what `snapshot` lists, and counts those it shows done. */
export function settleInDoubt(entries: readonly InDoubt[], snapshot: Snapshot): Settled {
  const removed: RemovalRecord[] = [];
  const listed = new Map<string, InDoubt>();
  const unknown: InDoubt[] = [];
  let held: ReadonlySet<string> | undefined;
  // A part two carried images both held is counted once, for the first.
  const counted = new Set<string>();
  for (const entry of entries) {
    const gone = isGone(entry, snapshot);
    if (gone === undefined) unknown.push(entry);
    else if (!gone) listed.set(doubtKey(entry.resource, entry.id), entry);
    else {
      const bytes =
        entry.resource === 'image'
          ? freedParts(entry.parts ?? [], (held ??= heldParts(snapshot)), counted)
          : bytesOf(entry);
      removed.push({
        resource: entry.resource,
        id: entry.id,
        name: entry.name,
        policy: entry.policy,
        predictedBytes: entry.predictedBytes,
        bytes,
      });
    }
  }
  return { removed, listed, unknown };
}

/**
 * What the removal of a carried object that the snapshot still listed freed, once the engine
 * answers 404 for it: removed meanwhile by the request whose answer was lost. Its parts that no
 * other image of the snapshot holds went with it.
 */
export function freedSinceListed(entry: InDoubt, snapshot: Snapshot): number | null {
  if (entry.resource !== 'image') return bytesOf(entry);
  const layers = snapshot.images.find((i) => i.id === entry.id)?.layers ?? entry.parts ?? [];
  return freedParts(layers, heldParts(snapshot, entry.id), new Set());
}

/** True when the snapshot no longer lists the object, undefined when it does not list its kind. */
function isGone(entry: InDoubt, snapshot: Snapshot): boolean | undefined {
  switch (entry.resource) {
    case 'image':
      return !snapshot.images.some((i) => i.id === entry.id);
    case 'container':
      return !snapshot.containers.some((c) => c.id === entry.id);
    case 'volume':
      return !snapshot.volumes.some((v) => v.name === entry.id);
    case 'network':
      return snapshot.networks === undefined ? undefined : !snapshot.networks.some((n) => n.id === entry.id);
    case 'buildCache': {
      if (snapshot.buildCache === undefined) return undefined;
      const left = new Set(snapshot.buildCache.map((r) => r.id));
      return !(entry.records ?? []).some((id) => left.has(id));
    }
  }
}

/**
 * Containers, volumes and networks: the size measured before the request, which nothing but
 * the removal changes. A prune's bytes were in its lost answer only: unknown.
 */
function bytesOf(entry: InDoubt): number | null {
  return entry.resource === 'buildCache' ? null : entry.predictedBytes;
}

/** Every part an image of the snapshot (but `except`) or a ghost container holds. */
function heldParts(snapshot: Snapshot, except?: string): Set<string> {
  const held = new Set<string>();
  for (const image of snapshot.images) if (image.id !== except) for (const l of image.layers) held.add(l.chain);
  for (const chains of Object.values(snapshot.ghostLayers ?? {})) for (const chain of chains) held.add(chain);
  return held;
}

/**
 * The bytes of the parts nothing holds any more, each counted once: what the deletion freed.
 * Unknown (null) when one of them is an estimate (containerd image store: a layer blob sized
 * by inference), since no measurement was taken around a deletion nobody saw happen.
 */
function freedParts(parts: readonly ImageLayer[], held: ReadonlySet<string>, counted: Set<string>): number | null {
  let bytes = 0;
  let estimated = false;
  for (const part of parts) {
    if (held.has(part.chain) || counted.has(part.chain)) continue;
    counted.add(part.chain);
    bytes += part.size;
    if (part.bounds !== undefined) estimated = true;
  }
  return estimated ? null : bytes;
}
