/**
 * Bytes freed by deleting images, the way the engine frees them: a layer goes only when no
 * remaining image holds its chain ID. Shared layers are counted once, by the deletion that
 * releases the last holder, and layers still held by other images are not counted at all.
 *
 * The simulation runs the deletions in execution order and also models the engine's auto-prune:
 * deleting an image by ID also deletes its untagged parents that no container uses and that
 * have no other child left.
 */
import type { ContainerObj, ImageObj } from './snapshot.js';
import type { ImageIndex } from './plan-images.js';

export interface ImageDeletion {
  readonly id: string;
  readonly bytes: number;
  /** Parents the engine auto-prunes with this deletion. */
  readonly alsoDeletes: readonly string[];
  readonly noprune: boolean;
}

export interface ImageSimulation {
  readonly deletions: readonly ImageDeletion[];
  /** Bytes that deleting `id` alone would free after all the deletions above; for reports. */
  marginalBytes(id: string): number;
}

/**
 * @param order image IDs to delete, children before parents
 * @param isProtected an image that must not be auto-pruned (a protected parent stops pruning)
 */
export function simulateImageDeletions(
  images: readonly ImageObj[],
  index: ImageIndex,
  remainingContainers: readonly ContainerObj[],
  order: readonly string[],
  isProtected: (image: ImageObj) => boolean,
): ImageSimulation {
  const present = new Set(images.map((i) => i.id));
  const refs = new Map<string, number>();
  const sizeOf = new Map<string, number>();
  for (const image of images) {
    for (const layer of image.layers) {
      refs.set(layer.chain, (refs.get(layer.chain) ?? 0) + 1);
      sizeOf.set(layer.chain, layer.size);
    }
  }
  const used = new Set(remainingContainers.map((c) => c.imageId));

  const release = (id: string): number => {
    present.delete(id);
    let freed = 0;
    for (const layer of index.byId.get(id)?.layers ?? []) {
      const left = (refs.get(layer.chain) ?? 0) - 1;
      refs.set(layer.chain, left);
      if (left === 0) freed += sizeOf.get(layer.chain) ?? 0;
    }
    return freed;
  };

  const deletions: ImageDeletion[] = [];
  for (const id of order) {
    // An explicitly selected parent may already be gone, pruned with its last child.
    if (!present.has(id)) continue;
    let bytes = release(id);
    const chain = prunableParents(id, index, present, used);
    const noprune = chain.some((p) => isProtected(index.byId.get(p) as ImageObj));
    if (!noprune) for (const p of chain) bytes += release(p);
    deletions.push({ id, bytes, alsoDeletes: noprune ? [] : chain, noprune });
  }

  return {
    deletions,
    marginalBytes(id) {
      const image = index.byId.get(id);
      if (!image || !present.has(id)) return 0;
      return image.layers.reduce((sum, l) => sum + (refs.get(l.chain) === 1 ? (sizeOf.get(l.chain) ?? 0) : 0), 0);
    },
  };
}

/** The untagged ancestors the engine would delete after `id` is gone, nearest first. */
function prunableParents(
  id: string,
  index: ImageIndex,
  present: ReadonlySet<string>,
  used: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  let parentId = index.byId.get(id)?.parentId;
  // Each pruned image is gone by the time the engine looks at its own parent.
  const gone = new Set<string>([id]);
  while (parentId !== undefined && present.has(parentId)) {
    const parent = index.byId.get(parentId) as ImageObj;
    const otherChildren = (index.children.get(parentId) ?? []).filter((c) => present.has(c) && !gone.has(c)).length;
    if (parent.tags.length > 0 || parent.digests.length > 0 || used.has(parentId) || otherChildren > 0) break;
    out.push(parentId);
    gone.add(parentId);
    parentId = parent.parentId;
  }
  return out;
}

/** Deletion order: deepest images first, so a child always goes before its parent. */
export function childrenFirst(ids: readonly string[], index: ImageIndex): string[] {
  const depth = (id: string): number => {
    let d = 0;
    for (let p = index.byId.get(id)?.parentId; p !== undefined && index.byId.has(p); p = index.byId.get(p)?.parentId) d++;
    return d;
  };
  const depths = new Map(ids.map((id) => [id, depth(id)]));
  return [...ids].sort((a, b) => (depths.get(b) as number) - (depths.get(a) as number) || (a < b ? -1 : a > b ? 1 : 0));
}
