/**
 * Finding the one object `reclaimd explain` is asked about: an image by ID, short ID,
 * reference (`repo:tag`, `repo` meaning `repo:latest`, or `repo@sha256:…`); a container by
 * ID, short ID or name; a volume by name. Exact matches win over ID prefixes.
 */
import type { Target } from './target.js';
import type { Snapshot } from '../model/snapshot.js';
import { shortId } from '../model/snapshot.js';

export type FindResult =
  | { readonly ok: true; readonly target: Target }
  | { readonly ok: false; readonly reason: 'not-found' | 'ambiguous'; readonly candidates: readonly string[] };

/** A line naming the object, for lists of candidates. */
export function describeTarget(t: Target): string {
  if (t.resource === 'image')
    return `image ${shortId(t.image.id)}${t.image.tags.length > 0 ? ` (${t.image.tags.join(', ')})` : ''}`;
  if (t.resource === 'container') return `container ${t.container.name} (${shortId(t.container.id)})`;
  return `volume ${t.volume.name}`;
}

/** Looks `query` up among every image, container and volume of the snapshot. */
export function findObject(snapshot: Snapshot, query: string): FindResult {
  const q = query.trim();
  const hex = q.replace(/^sha256:/, '');
  const withLatest = /:[^/]*$/.test(q) || q.includes('@') ? q : `${q}:latest`;
  const exact: Target[] = [
    ...snapshot.images
      .filter(
        (i) =>
          i.id === q ||
          i.id === `sha256:${hex}` ||
          i.tags.includes(q) ||
          i.tags.includes(withLatest) ||
          i.digests.includes(q),
      )
      .map((image) => ({ resource: 'image' as const, image })),
    ...snapshot.containers
      .filter((c) => c.id === q || c.name === q.replace(/^\//, ''))
      .map((container) => ({ resource: 'container' as const, container })),
    ...snapshot.volumes.filter((v) => v.name === q).map((volume) => ({ resource: 'volume' as const, volume })),
  ];
  const found = exact.length > 0 ? exact : prefixMatches(snapshot, hex);
  const [only] = found;
  if (found.length === 1 && only !== undefined) return { ok: true, target: only };
  return { ok: false, reason: found.length === 0 ? 'not-found' : 'ambiguous', candidates: found.map(describeTarget) };
}

/** Images and containers whose ID starts with `hex`, as `docker inspect` accepts them. */
function prefixMatches(snapshot: Snapshot, hex: string): Target[] {
  if (!/^[0-9a-f]+$/.test(hex)) return [];
  return [
    ...snapshot.images
      .filter((i) => i.id.replace(/^sha256:/, '').startsWith(hex))
      .map((image) => ({ resource: 'image' as const, image })),
    ...snapshot.containers
      .filter((c) => c.id.startsWith(hex))
      .map((container) => ({ resource: 'container' as const, container })),
  ];
}
