/**
 * Container `keep.newestPerImage` and `keep.newestPerProject`: the N newest containers of each
 * image reference or Compose project, so that "the last three runs of each job" survive a
 * policy that removes every stopped container.
 */
import type { ContainerObj } from '../../model/snapshot.js';
import type { Ledger } from '../ledger.js';
import { canonicalReference } from '../../../lib/reference.js';

/** The label Docker Compose puts on every container of a project. */
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** Why a container is among the newest of its group, by container ID. */
export type NewestContainers = ReadonlyMap<string, string>;

/**
 * The containers a policy's `keep.newestPerImage` / `keep.newestPerProject` keep, with the
 * reason. `candidates` are the containers that pass the policy's name, image and label
 * filters, in any state: a running container stays, so it counts towards N like a stopped
 * one, just as an image in use counts towards an image policy's keep.newest. A container an
 * earlier policy removes will not remain, so it does not count. Newest by creation time; equal
 * times are ordered by ID so the choice never depends on the order the engine listed them.
 */
export function newestContainers(
  keep: { readonly newestPerImage?: number | undefined; readonly newestPerProject?: number | undefined } | undefined,
  candidates: readonly ContainerObj[],
  ledger: Ledger,
): NewestContainers {
  const kept = new Map<string, string>();
  if (!keep) return kept;
  const staying = candidates.filter((c) => !ledger.isSelected('container', c.id));
  const perImage = keep.newestPerImage;
  if (perImage !== undefined && perImage > 0) {
    // By the reference given at creation where known: the listing shows the image ID instead
    // once the tag names a newer build, which would split one job's runs into many groups.
    for (const [ref, list] of groupBy(staying, (c) => canonicalReference(c.createdFrom ?? c.image))) {
      for (const c of newestFirst(list).slice(0, perImage))
        kept.set(c.id, `among the ${perImage} newest containers of image ${ref} (keep.newestPerImage)`);
    }
  }
  const perProject = keep.newestPerProject;
  if (perProject !== undefined && perProject > 0) {
    // Containers without the label belong to no project and are not counted.
    for (const [project, list] of groupBy(staying, (c) => c.labels[COMPOSE_PROJECT_LABEL])) {
      for (const c of newestFirst(list).slice(0, perProject)) {
        if (!kept.has(c.id))
          kept.set(
            c.id,
            `among the ${perProject} newest containers of compose project ${project} (keep.newestPerProject)`,
          );
      }
    }
  }
  return kept;
}

function groupBy(
  containers: readonly ContainerObj[],
  key: (c: ContainerObj) => string | undefined,
): Map<string, ContainerObj[]> {
  const groups = new Map<string, ContainerObj[]>();
  for (const c of containers) {
    const k = key(c);
    if (k === undefined) continue;
    const list = groups.get(k) ?? [];
    list.push(c);
    groups.set(k, list);
  }
  return groups;
}

/** Newer first; equal creation times by ID, so the order is total and independent of listing. */
export function newestFirst(containers: readonly ContainerObj[]): ContainerObj[] {
  return [...containers].sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
