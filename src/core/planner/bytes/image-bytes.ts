/**
 * Which images a deletion really takes, in what order, and the bytes each frees — the way the
 * engine frees them: a layer goes only when no remaining image (or container) holds its
 * chain ID. Shared layers are counted once, by the deletion that releases the last holder, and
 * layers still held elsewhere are not counted at all.
 *
 * reclaimd always deletes with `noprune`, so the engine never removes a parent on its own (it
 * would decide at deletion time, after our checks). Instead, untagged parents that nothing
 * else needs are planned here as deletions of their own, after their children.
 */
import type { ImageLayer, ImageObj } from '../../model/snapshot.js';
import { prunableParent, type ImageIndex } from '../shared/image-index.js';
import type { ByteRange, ImageAction } from '../../model/plan.js';
import type { Draft } from '../ledger.js';

/** What one image deletion frees: bytes, and where they are an estimate, the range they lie in. */
export interface Freed {
  readonly bytes: number;
  readonly range?: ByteRange;
}

export interface ImageDeletion extends Freed {
  readonly id: string;
  /** Set for an untagged parent planned because its children go: the child that frees it. */
  readonly parentOf: string | undefined;
  /** Planned children that must be deleted first, or this deletion is skipped. */
  readonly dependsOn: readonly string[];
  /** Part of a parent/child tree: deleted one at a time, in this order. */
  readonly inTree: boolean;
}

export interface ImageSimulation {
  /** Stand-alone images first (any order among them), then tree images children first. */
  readonly deletions: readonly ImageDeletion[];
  /** Bytes that deleting `id` alone would free after all the deletions; for reports. */
  marginalBytes(id: string): number;
}

/**
 * @param index images by ID and parent, and those remaining containers use (indexImages)
 * @param selected images the policies selected (their children all selected too)
 * @param isHeld an image that must stay even if it becomes a childless untagged parent
 * @param ghostChains layers held by remaining containers whose image is no longer listed
 */
export function simulateImageDeletions(
  images: readonly ImageObj[],
  index: ImageIndex,
  selected: readonly string[],
  isHeld: (image: ImageObj) => boolean,
  ghostChains: readonly string[] = [],
): ImageSimulation {
  const going = new Set(selected);
  const parentOf = addPrunableParents(going, index, isHeld);
  const order = deletionOrder([...going], index);

  // Every layer's holders, counted only when a deletion or a report needs them: a cycle
  // that selects no image should not walk every layer of every image.
  let counted: FreedTally | undefined;
  const tally = () => (counted ??= new FreedTally(images, ghostChains));

  const deletions: ImageDeletion[] = order.map((id) => {
    const dependsOn = (index.children.get(id) ?? []).filter((c) => going.has(c)).sort();
    return { id, ...tally().release(id), parentOf: parentOf.get(id), dependsOn, inTree: inTree(id, index) };
  });

  return {
    deletions,
    marginalBytes(id) {
      const image = index.byId.get(id);
      if (!image || going.has(id)) return 0;
      return tally().soleBytes(image);
    },
  };
}

/**
 * What image deletions free, as they happen: each part (layer, snapshot or content blob) goes
 * with the last image (or ghost container) that holds it, and its bytes are that deletion's.
 * The planner runs it over a plan's deletions; the containerd image store's reports run it
 * over the deletions the engine made, since its answers do not say what they freed.
 */
export class FreedTally {
  private readonly refs = new Map<string, number>();
  private readonly parts = new Map<string, ImageLayer>();
  private readonly layersOf = new Map<string, readonly ImageLayer[]>();

  constructor(images: readonly ImageObj[], ghostChains: readonly string[] = []) {
    for (const image of images) {
      this.layersOf.set(image.id, image.layers);
      for (const layer of image.layers) {
        this.refs.set(layer.chain, (this.refs.get(layer.chain) ?? 0) + 1);
        this.parts.set(layer.chain, layer);
      }
    }
    // A container whose image was deleted by force still holds its layers on disk.
    for (const chain of ghostChains) this.refs.set(chain, (this.refs.get(chain) ?? 0) + 1);
  }

  /** The image is gone: its parts lose a holder, and those left with none are what it freed. */
  release(id: string): Freed {
    const layers = this.layersOf.get(id) ?? [];
    this.layersOf.delete(id);
    let bytes = 0;
    let low = 0;
    let high = 0;
    let estimated = false;
    for (const layer of layers) {
      const left = (this.refs.get(layer.chain) ?? 0) - 1;
      this.refs.set(layer.chain, left);
      if (left !== 0) continue;
      const part = this.parts.get(layer.chain) as ImageLayer;
      bytes += part.size;
      low += part.bounds?.shared ?? part.size;
      high += part.bounds?.unshared ?? part.size;
      if (part.bounds !== undefined) estimated = true;
    }
    return estimated ? { bytes, range: { low, high } } : { bytes };
  }

  /** Bytes only this image holds: what deleting it alone would free now. */
  soleBytes(image: ImageObj): number {
    return image.layers.reduce(
      (sum, l) => sum + (this.refs.get(l.chain) === 1 ? (this.parts.get(l.chain)?.size ?? 0) : 0),
      0,
    );
  }
}

/**
 * Adds, to fixpoint, the untagged parents that the deletions leave without a child and that no
 * remaining container uses — what `docker rmi` would prune — unless something holds them.
 * Returns, for each added parent, the child whose deletion frees it.
 */
function addPrunableParents(
  going: Set<string>,
  index: ImageIndex,
  isHeld: (i: ImageObj) => boolean,
): Map<string, string> {
  const parentOf = new Map<string, string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const id of [...going].sort()) {
      const parentId = index.byId.get(id)?.parentId;
      const parent = parentId === undefined ? undefined : index.byId.get(parentId);
      if (!parent || going.has(parent.id)) continue;
      const childless = (index.children.get(parent.id) ?? []).every((c) => going.has(c));
      if (!childless || !prunableParent(parent, index.usedBy, isHeld)) continue;
      going.add(parent.id);
      parentOf.set(parent.id, id);
      changed = true;
    }
  }
  return parentOf;
}

function inTree(id: string, index: ImageIndex): boolean {
  const parentId = index.byId.get(id)?.parentId;
  return (parentId !== undefined && index.byId.has(parentId)) || index.children.has(id);
}

/** Stand-alone images by ID, then tree images deepest first, so a child goes before its parent. */
function deletionOrder(ids: readonly string[], index: ImageIndex): string[] {
  const depth = (id: string): number => {
    let d = 0;
    for (let p = index.byId.get(id)?.parentId; p !== undefined && index.byId.has(p); p = index.byId.get(p)?.parentId)
      d++;
    return d;
  };
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const alone: string[] = [];
  const tree: string[] = [];
  for (const id of ids) (inTree(id, index) ? tree : alone).push(id);
  alone.sort(byId);
  const depths = new Map<string, number>();
  for (const id of tree) depths.set(id, depth(id));
  tree.sort((a, b) => (depths.get(b) as number) - (depths.get(a) as number) || byId(a, b));
  for (const id of tree) alone.push(id);
  return alone;
}

/**
 * The removal of one image, built field by field: the same keys in the same order as
 * `{ ...draft, bytes, tags, digests, dependsOn?, inTree? }`, without the cost of spreading
 * (and of spreading empty objects) for every image of a large plan.
 */
export function imageAction(draft: Draft<'image'>, del: ImageDeletion, image: ImageObj): ImageAction {
  const action: { -readonly [K in keyof ImageAction]: ImageAction[K] } = {
    resource: draft.resource,
    id: draft.id,
    name: draft.name,
    policy: draft.policy,
    reason: draft.reason,
    bytes: del.bytes,
    tags: image.tags,
    digests: image.digests,
  };
  if (del.range) action.bytesRange = del.range;
  if (del.dependsOn.length > 0) action.dependsOn = del.dependsOn;
  if (del.inTree) action.inTree = true;
  return action;
}
