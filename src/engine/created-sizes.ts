/**
 * Measuring the selected containers that never ran (state `created`) with one list call
 * instead of one inspect each. `status=created` with `size=1` walks only the writable layers
 * of created containers, which are empty unless something was copied in (`docker cp` can),
 * and the list is as fresh as an inspect. A container listed as created now and created when
 * the snapshot inspected it has no other state to refresh: no finish time, no exit code of a
 * run. Any other (started, stopped or removed since, or never inspected) is left to the
 * inspect.
 */
import type Docker from 'dockerode';
import type { ContainerMeasure } from './engine.js';
import type { ContainerDetails } from './map-objects.js';

/** A list entry with the `SizeRw` and `SizeRootFs` that `size=1` adds (SizeRw omitted when it is 0, API 1.41). */
export type SizedContainerInfo = Docker.ContainerInfo & { SizeRw?: number; SizeRootFs?: number };

/**
 * @param list lists the created containers with their sizes (one API call)
 * @param cached what the snapshot's inspect said about each container, with the state it was in
 * @returns the measures of the containers still created, and the IDs left to inspect
 */
export async function measureCreated(
  ids: readonly string[],
  cached: ReadonlyMap<string, { readonly state: string; readonly details: ContainerDetails }>,
  list: () => Promise<SizedContainerInfo[]>,
  bytesOf: (raw: SizedContainerInfo) => number,
): Promise<{ measured: Map<string, ContainerMeasure>; rest: readonly string[] }> {
  const measured = new Map<string, ContainerMeasure>();
  if (!ids.some((id) => cached.get(id)?.state === 'created')) return { measured, rest: ids };
  const nowCreated = new Map((await list()).filter((c) => c.State === 'created').map((c) => [c.Id, c]));
  const rest: string[] = [];
  for (const id of ids) {
    const raw = nowCreated.get(id);
    const before = cached.get(id);
    if (raw === undefined || before?.state !== 'created') rest.push(id);
    else measured.set(id, { sizeRw: bytesOf(raw), state: 'created', ...before.details });
  }
  return { measured, rest };
}
