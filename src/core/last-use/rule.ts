/** The `unusedFor` match condition of image and volume policies. */
import type { Usage } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';

/**
 * Whether the object was last used (or, never seen in use, first seen) at least `minMs` ago,
 * and the reason if so. Unknown usage (no state directory, an object the store has no entry
 * for) never matches: a rule on last use must not select what it knows nothing about.
 */
export function unusedForMatch(
  usage: Usage | undefined,
  kind: 'images' | 'volumes',
  key: string,
  unusedFor: string,
  minMs: number,
  now: number,
): string | undefined {
  const at = usage?.[kind].get(key);
  if (at === undefined || now - at < minMs) return undefined;
  const ago = formatDuration(now - at);
  return usage?.firstSeenOnly?.[kind].has(key) === true
    ? `never seen in use; first seen ${ago} ago (unusedFor ${unusedFor})`
    : `last used ${ago} ago (unusedFor ${unusedFor})`;
}
