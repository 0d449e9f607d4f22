/**
 * The image graph every image rule reads: images by ID, children by parent, and the remaining
 * containers that use them. Shared by the image planner, the byte simulation and pressure.
 */
import type { ContainerObj, ImageObj } from '../../model/snapshot.js';
import { shortId } from '../../model/snapshot.js';
import { firstUsers } from './first-users.js';

export interface ImageIndex {
  readonly byId: ReadonlyMap<string, ImageObj>;
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Image ID → the first remaining container that uses it. */
  readonly usedBy: ReadonlyMap<string, ContainerObj>;
  /** Image ID → why something deployed (a swarm service, a Compose project) uses it; see deployed.ts. */
  readonly deployed?: ReadonlyMap<string, string>;
}

/** Indexes images by ID and parent, and records which images remaining containers use. */
export function indexImages(images: readonly ImageObj[], remaining: readonly ContainerObj[]): ImageIndex {
  const byId = new Map(images.map((i) => [i.id, i]));
  const children = new Map<string, string[]>();
  for (const i of images) {
    if (i.parentId === undefined || !byId.has(i.parentId)) continue;
    const list = children.get(i.parentId) ?? [];
    list.push(i.id);
    children.set(i.parentId, list);
  }
  return { byId, children, usedBy: firstUsers(remaining, (c) => [c.imageId]) };
}

/** The name an image is shown by: its first tag, or its short ID. */
export function imageName(image: ImageObj): string {
  return image.tags[0] ?? `<none>@${shortId(image.id)}`;
}

/**
 * An image that may go with its last child: untagged, with no repository digest (so nothing
 * names it), used by no remaining container, and not held. The byte simulation asks this when
 * it adds parents a deletion frees, and the image planner when it decides which selected
 * images stay because a child stays.
 */
export function prunableParent(
  image: ImageObj,
  used: { has(id: string): boolean },
  isHeld: (i: ImageObj) => boolean,
): boolean {
  return image.tags.length === 0 && image.digests.length === 0 && !used.has(image.id) && !isHeld(image);
}
