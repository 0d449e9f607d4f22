/** Which container uses what, named the same way whatever order the engine listed them in. */
import type { ContainerObj } from '../../model/snapshot.js';

/**
 * Each key to the first container, by name then ID, that has it, so a reason names the same
 * container whatever the listing order. One pass keeping the least, not a sort of them all.
 */
export function firstUsers(
  containers: readonly ContainerObj[],
  keysOf: (c: ContainerObj) => readonly string[],
): Map<string, ContainerObj> {
  const users = new Map<string, ContainerObj>();
  for (const c of containers) {
    for (const key of keysOf(c)) {
      const had = users.get(key);
      if (had === undefined || byNameThenId(c, had) < 0) users.set(key, c);
    }
  }
  return users;
}

/** Orders containers by name, then ID. */
export function byNameThenId(a: ContainerObj, b: ContainerObj): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
