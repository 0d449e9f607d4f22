/**
 * Measuring selected stopped containers with one list call instead of one inspect each:
 * `/containers/json?all=1&size=1` filtered by their states walks the writable layers of the
 * containers in those states, as the inspects would, and is as fresh as an inspect; what it
 * lacks is the finish time and exit code, so those must be known to be current already. They
 * are for a container that never ran (`created`: it has none to refresh) and for one whose
 * details were read in this cycle after the event watch began and that had no event since
 * (`trusted`). Any other container (started, stopped or removed since, details from an
 * earlier cycle, no intact watch) is left to the inspect. One list instead of hundreds of
 * inspects is most of what the engine spends on measuring a large removal.
 */
import type Docker from 'dockerode';
import type { ContainerMeasure } from './engine.js';
import type { ContainerDetails } from './map-objects.js';

/** A list entry with the `SizeRw` and `SizeRootFs` that `size=1` adds (SizeRw omitted when it is 0, API 1.41). */
export type SizedContainerInfo = Docker.ContainerInfo & { SizeRw?: number; SizeRootFs?: number };

/** What the snapshot's inspect said about a container, in the state it was in, and when (`performance.now()`). */
export interface CachedDetails {
  readonly state: string;
  readonly details: ContainerDetails;
  readonly at: number;
}

/**
 * @param trusted whether a container's cached details are current (see above); created ones always are
 * @param list lists the containers in these states with their sizes (one API call)
 * @returns the measures taken from the list, and the IDs left to inspect
 */
export async function measureListed(
  ids: readonly string[],
  cached: ReadonlyMap<string, CachedDetails>,
  trusted: (id: string) => boolean,
  list: (states: readonly string[]) => Promise<SizedContainerInfo[]>,
  bytesOf: (raw: SizedContainerInfo) => number,
): Promise<{ measured: Map<string, ContainerMeasure>; rest: readonly string[] }> {
  const measured = new Map<string, ContainerMeasure>();
  const listable = (id: string) => {
    const before = cached.get(id);
    return before !== undefined && (before.state === 'created' || trusted(id));
  };
  const states = [...new Set(ids.filter(listable).map((id) => (cached.get(id) as CachedDetails).state))].sort();
  if (states.length === 0) return { measured, rest: ids };
  const now = new Map((await list(states)).map((c) => [c.Id, c]));
  const rest: string[] = [];
  for (const id of ids) {
    const raw = now.get(id);
    const before = cached.get(id);
    if (raw === undefined || before === undefined || !listable(id) || raw.State !== before.state) rest.push(id);
    else measured.set(id, { sizeRw: bytesOf(raw), state: before.state, ...before.details });
  }
  return { measured, rest };
}
