/** Words shared by the matchers' reasons. */
import type { Usage } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';

/** How long ago `since` was, never negative. */
export function age(now: number, since: number): string {
  return formatDuration(Math.max(0, now - since));
}

/** Why `unusedFor` does not hold for an object (see unusedForMatch, which decides it). */
export function unusedMiss(
  usage: Usage | undefined,
  kind: 'images' | 'volumes',
  key: string,
  unusedFor: string,
  now: number,
): string {
  if (usage === undefined) return 'its last use is unknown (no last-use data; unusedFor needs state.dir)';
  const at = usage[kind].get(key);
  if (at === undefined) return 'no last use is recorded for it, so unusedFor cannot hold';
  return `last used ${age(now, at)} ago, not longer than unusedFor ${unusedFor}`;
}
