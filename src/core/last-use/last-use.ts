/**
 * Last use, remembered: the pure part. Which engine events count as a use, how uses and full
 * listings merge into the record, and the state file's text. No I/O and no clock: callers
 * pass `now`. The daemon's store (src/runtime/last-use/store.ts) owns the record and the file.
 *
 * The one rule everything here keeps: when in doubt, an object looks MORE recently used, never
 * less, because a later time can only make `unusedFor` select fewer objects.
 */
import type { Usage } from '../model/snapshot.js';
import type { EngineEvent, Listing } from '../model/engine-events.js';

/** When an object was last used, or (used: false) first seen without ever being seen in use. */
export interface LastUse {
  readonly at: number;
  readonly used: boolean;
}

/** Image ID → last use, volume name → last use. */
export interface UsageRecord {
  readonly images: Map<string, LastUse>;
  readonly volumes: Map<string, LastUse>;
}

export function emptyRecord(): UsageRecord {
  return { images: new Map(), volumes: new Map() };
}

/**
 * What an event says was used. A container names its image only by the reference it was
 * created with (which may since point elsewhere), so the shell resolves it to an image ID by
 * inspecting the container, falling back to the reference.
 */
export type UseTarget =
  | { readonly kind: 'container'; readonly containerId: string; readonly imageRef: string | undefined }
  | { readonly kind: 'image'; readonly ref: string }
  | { readonly kind: 'volume'; readonly name: string };

// A container that is created, started, stops or is destroyed was using its image until then.
const CONTAINER_ACTIONS = new Set(['create', 'start', 'restart', 'die', 'destroy']);
// Engine 20.10 (API 1.41) emits `load` and `tag` for `docker load`, `tag` for `docker tag` and
// for a tagged build, `pull` and `import` with the reference or ID; 1.46+ adds `create` for
// builds. `untag` and `delete` are not uses; `push` and `save` only read the image.
const IMAGE_ACTIONS = new Set(['pull', 'tag', 'load', 'import', 'create']);
// `create` is also re-sent when a container references an existing volume; `unmount` means a
// container had it mounted until now.
const VOLUME_ACTIONS = new Set(['create', 'mount', 'unmount']);

/** What an event counts as a use of, or undefined when it is not a use. */
export function useOf(event: EngineEvent): UseTarget | undefined {
  if (event.actorId === '') return undefined;
  if (event.type === 'container' && CONTAINER_ACTIONS.has(event.action)) {
    return { kind: 'container', containerId: event.actorId, imageRef: event.attributes['image'] };
  }
  if (event.type === 'image' && IMAGE_ACTIONS.has(event.action)) return { kind: 'image', ref: event.actorId };
  if (event.type === 'volume' && VOLUME_ACTIONS.has(event.action)) return { kind: 'volume', name: event.actorId };
  return undefined;
}

/** Records a use at `at`; an entry keeps the later of the two times. */
export function noteUse(map: Map<string, LastUse>, key: string, at: number): void {
  const old = map.get(key);
  if (old === undefined || at >= old.at) map.set(key, { at, used: true });
}

/**
 * Merges a full listing into the record. An existing container is a use, now, of its image
 * and its volumes. An object listed for the first time counts from now (first seen), never
 * from its build or creation date: a year-old image loaded today is new to this host. Entries
 * for objects no longer listed are dropped, so the record stays as large as the engine; one
 * that comes back starts again from first seen, which is later, so safe.
 */
export function resync(record: UsageRecord, listing: Listing, now: number): void {
  for (const id of listing.containerImages) noteUse(record.images, id, now);
  for (const name of listing.mountedVolumes) noteUse(record.volumes, name, now);
  merge(record.images, listing.images, now);
  merge(record.volumes, listing.volumes, now);
}

function merge(map: Map<string, LastUse>, listed: readonly string[], now: number): void {
  const present = new Set(listed);
  for (const key of [...map.keys()]) if (!present.has(key)) map.delete(key);
  for (const key of present) if (!map.has(key)) map.set(key, { at: now, used: false });
}

/**
 * Counts a span nobody watched as possible use: every entry's time becomes at least `now`.
 * Whether an entry was ever seen in use is kept. Only later times, so only fewer selections.
 */
export function assumeUsedUntil(record: UsageRecord, now: number): void {
  for (const map of [record.images, record.volumes]) {
    for (const [key, entry] of map) if (entry.at < now) map.set(key, { at: now, used: entry.used });
  }
}

/** The record as the planner reads it (Snapshot.usage). */
export function toUsage(record: UsageRecord): Usage {
  const times = (m: Map<string, LastUse>) => new Map([...m].map(([k, v]) => [k, v.at]));
  const firstSeen = (m: Map<string, LastUse>) => new Set([...m].filter(([, v]) => !v.used).map(([k]) => k));
  return {
    images: times(record.images),
    volumes: times(record.volumes),
    firstSeenOnly: { images: firstSeen(record.images), volumes: firstSeen(record.volumes) },
  };
}

const FORMAT = 1;

/**
 * The state file's text: the engine it belongs to, every entry, and `savedAt`: until when the
 * writer watched the engine's events (0 when it never did, e.g. `reclaimd once`).
 */
export function encodeState(engineId: string, record: UsageRecord, savedAt: number): string {
  const entries = (m: Map<string, LastUse>) =>
    Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, { at: v.at, used: v.used }]));
  return `${JSON.stringify({ format: FORMAT, engineId, savedAt, images: entries(record.images), volumes: entries(record.volumes) })}\n`;
}

export type DecodedState =
  | { readonly ok: true; readonly record: UsageRecord; readonly savedAt: number | undefined }
  | { readonly ok: false; readonly problem: 'corrupt' | 'other-engine'; readonly message: string };

/**
 * Reads a state file's text. Anything not exactly as written by `encodeState` is corrupt: the
 * caller then starts empty, and empty only makes objects look more recently used.
 */
export function decodeState(text: string, engineId: string): DecodedState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: 'corrupt', message: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(value) || value['format'] !== FORMAT)
    return { ok: false, problem: 'corrupt', message: `not a format-${FORMAT} state file` };
  if (typeof value['engineId'] !== 'string') return { ok: false, problem: 'corrupt', message: 'engineId missing' };
  if (value['engineId'] !== engineId)
    return { ok: false, problem: 'other-engine', message: `written for engine ${value['engineId']}` };
  const record = emptyRecord();
  for (const kind of ['images', 'volumes'] as const) {
    const entries = value[kind];
    if (!isObject(entries)) return { ok: false, problem: 'corrupt', message: `${kind} missing` };
    for (const [key, entry] of Object.entries(entries)) {
      if (
        !isObject(entry) ||
        typeof entry['at'] !== 'number' ||
        !Number.isFinite(entry['at']) ||
        typeof entry['used'] !== 'boolean'
      ) {
        return { ok: false, problem: 'corrupt', message: `${kind} entry ${JSON.stringify(key)} is malformed` };
      }
      record[kind].set(key, { at: entry['at'], used: entry['used'] });
    }
  }
  // `savedAt` is when the writer last knew it was watching the engine (0: it never was).
  const savedAt =
    typeof value['savedAt'] === 'number' && Number.isFinite(value['savedAt']) && value['savedAt'] > 0
      ? value['savedAt']
      : undefined;
  return { ok: true, record, savedAt };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
