/**
 * What an image holds on the containerd image store, as parts the deletion simulation counts
 * (ImageLayer): what deleting images frees there, predicted from what the engine says.
 *
 * That store keeps every layer twice: the compressed blob it pulled, loaded or built (content)
 * and the unpacked snapshot containers run on; a deletion frees what no remaining image (or
 * container) references, as the store's garbage collector does it.
 *
 * Snapshots are keyed by chain ID like the classic store's layers. History gives each one's
 * own usage; the listing gives the unpacked total of the platform run here, which also counts
 * snapshots no layer names: a classic-builder step leaves its container's `-init` snapshot
 * between two layers. So a layer costs, best, the difference between the unpacked totals of
 * the images that end with it and with the layer below (a classic-builder intermediate is such
 * an image); else its own usage, and what the total leaves unexplained is a part of its own
 * (`hidden:<top chain ID>`, estimated, between none and all of it freed).
 *
 * Content the engine sizes only per manifest (`Manifests[].Size.Content`: the manifest, its
 * config and its layer blobs together), and a blob held by two images is stored once. Such a
 * blob has the same diff ID in both, so:
 *
 * - a layer blob whose diff ID no other manifest has is this manifest's alone: it is counted
 *   with the manifest, exactly;
 * - a layer blob that several manifests hold becomes a part of its own (`blob:<diff ID>`), and
 *   its size, which no answer gives, is inferred; the manifest keeps the rest of its content
 *   (`manifest:<digest>`). Such a manifest's part carries bounds that hold whatever the blobs'
 *   true sizes: all of its content if no blob is shared after all (one compressed differently
 *   has another digest), none but its manifest blob if all of it is shared.
 *
 * How a shared blob is sized. Best, by difference again: the content of the image that ends
 * with the blob's layer minus that of the image one layer shorter (both without their manifest
 * blobs; their configs, a few hundred bytes, make the error). Otherwise the holder's content
 * left unexplained is shared among its unsized layers by their unpacked sizes, taken from the
 * holder where the layer is the largest share.
 */
import type { ImageLayer } from './snapshot.js';

/** A layer of the platform an image runs as here: its diff ID, chain ID, and its snapshot's own usage (history). */
export interface StoredLayer {
  readonly diffId: string;
  readonly chain: string;
  readonly own: number;
}

/** One manifest of an image, as the containerd image store sizes it. */
export interface ManifestContent {
  /** The manifest's digest: for a single-platform image, the image ID. */
  readonly digest: string;
  /** Bytes of its blobs present here: the manifest, its config and every layer blob present. */
  readonly bytes: number;
  /** The manifest blob alone (its descriptor's size). */
  readonly manifestBytes: number;
  /**
   * `host`: the platform unpacked here, whose layers the image lists. `none`: it has no layers
   * of its own to share (an attestation). `unknown`: which layers it has, the API does not say
   * (another platform), so any of its content may be shared with others.
   */
  readonly layers: 'host' | 'none' | 'unknown';
}

/** What the adapter read of one image on the containerd image store. */
export interface StoredImage {
  readonly id: string;
  /** Oldest first: the platform run here. */
  readonly layers: readonly StoredLayer[];
  /** The listing's unpacked size of that platform (its snapshots and any between them); undefined where it does not say. */
  readonly unpacked: number | undefined;
  /** The image index blob of a multi-platform image; 0 for an image that is one manifest. */
  readonly indexBytes: number;
  readonly manifests: readonly ManifestContent[];
}

/** Each image's parts, by image ID: its layers' snapshots, then its content. */
export function containerdParts(images: readonly StoredImage[]): Map<string, ImageLayer[]> {
  const snapshots = snapshotSizes(images);
  const blobs = sizeSharedBlobs(images, snapshots);
  const out = new Map<string, ImageLayer[]>();
  for (const image of images) {
    const parts: ImageLayer[] = image.layers.map((l) => ({ chain: l.chain, size: snapshots.get(l.chain) ?? l.own }));
    const top = image.layers[image.layers.length - 1];
    const explained = parts.reduce((sum, p) => sum + p.size, 0);
    const hidden = image.unpacked === undefined ? 0 : image.unpacked - explained;
    if (top !== undefined && hidden > 0)
      parts.push({ chain: `hidden:${top.chain}`, size: hidden, bounds: { unshared: hidden, shared: 0 } });
    if (image.indexBytes > 0) parts.push({ chain: `manifest:${image.id}`, size: image.indexBytes });
    for (const m of image.manifests)
      parts.push(...manifestParts(m, m.layers === 'host' ? image.layers : undefined, blobs));
    out.set(image.id, parts);
  }
  return out;
}

/**
 * Each layer's snapshot cost, by chain ID: the unpacked total of the images ending with it less
 * that of the images ending one layer lower, where both are listed; else its own usage.
 */
function snapshotSizes(images: readonly StoredImage[]): Map<string, number> {
  const stack = new Map<string, number>();
  for (const image of images) {
    const top = image.layers[image.layers.length - 1];
    if (top !== undefined && image.unpacked !== undefined) stack.set(top.chain, image.unpacked);
  }
  const sizes = new Map<string, number>();
  for (const image of images) {
    image.layers.forEach((l, k) => {
      if (sizes.has(l.chain)) return;
      const upTo = stack.get(l.chain);
      const below = k === 0 ? 0 : stack.get((image.layers[k - 1] as StoredLayer).chain);
      // A difference below the layer's own usage cannot be right (another platform's total): use its own.
      sizes.set(l.chain, upTo !== undefined && below !== undefined && upTo - below >= l.own ? upTo - below : l.own);
    });
  }
  return sizes;
}

/** A manifest with the layers it is known to have (undefined: not known). */
interface Holder {
  readonly m: ManifestContent;
  readonly layers: readonly StoredLayer[] | undefined;
}

/** The content of a manifest other than the manifest blob: its config and layer blobs. */
function payload(m: ManifestContent): number {
  return Math.max(0, m.bytes - m.manifestBytes);
}

/** Diff IDs held by more than one manifest, each with its inferred size. */
function sizeSharedBlobs(images: readonly StoredImage[], snapshots: ReadonlyMap<string, number>): Map<string, number> {
  // Every manifest once, by digest: two images can hold the same one (an index and a tag of one of its platforms).
  const manifests = new Map<string, Holder>();
  for (const image of images) {
    for (const m of image.manifests)
      if (!manifests.has(m.digest))
        manifests.set(m.digest, {
          m,
          layers: m.layers === 'host' ? image.layers : m.layers === 'none' ? [] : undefined,
        });
  }
  const holders = new Map<string, Holder[]>();
  for (const h of manifests.values()) {
    for (const diffId of new Set((h.layers ?? []).map((l) => l.diffId))) {
      const list = holders.get(diffId);
      if (list) list.push(h);
      else holders.set(diffId, [h]);
    }
  }
  const shared = new Map([...holders].filter(([, list]) => list.length > 1));
  if (shared.size === 0) return new Map();

  // The content of each stack of layers that some manifest is exactly (by its top chain ID):
  // the smallest, since configs differ and the blobs do not.
  const stack = new Map<string, number>();
  for (const h of manifests.values()) {
    const top = h.layers?.[h.layers.length - 1];
    if (top === undefined) continue;
    const had = stack.get(top.chain);
    if (had === undefined || payload(h.m) < had) stack.set(top.chain, payload(h.m));
  }
  const sizes = new Map<string, number>();
  for (const [diffId, list] of shared) {
    const byDifference = differenceSize(diffId, list, stack);
    if (byDifference !== undefined) sizes.set(diffId, byDifference);
  }
  for (const [diffId, list] of shared)
    if (!sizes.has(diffId)) sizes.set(diffId, apportionedSize(diffId, list, sizes, snapshots));
  // No more than any holder's content: the blob is in each.
  const out = new Map<string, number>();
  for (const [diffId, list] of shared)
    out.set(diffId, Math.min(sizes.get(diffId) ?? 0, ...list.map((h) => payload(h.m))));
  return out;
}

/** A blob's size as the difference of two stacks' content, where both stacks exist as images. */
function differenceSize(
  diffId: string,
  holders: readonly Holder[],
  stack: ReadonlyMap<string, number>,
): number | undefined {
  let best: number | undefined;
  for (const { layers = [] } of holders) {
    const at = layers.findIndex((l) => l.diffId === diffId);
    const upTo = stack.get((layers[at] as StoredLayer).chain);
    const below = at === 0 ? 0 : stack.get((layers[at - 1] as StoredLayer).chain);
    if (upTo === undefined || below === undefined) continue;
    const size = Math.max(0, upTo - below);
    if (best === undefined || size < best) best = size;
  }
  return best;
}

/**
 * A blob's size as its share of a holder's content left unexplained (by blobs already sized),
 * shared among the holder's unsized layers by unpacked size; from the holder where it is the
 * largest share, where the config and the other layers weigh least.
 */
function apportionedSize(
  diffId: string,
  holders: readonly Holder[],
  sized: ReadonlyMap<string, number>,
  snapshots: ReadonlyMap<string, number>,
): number {
  let best: { share: number; size: number } | undefined;
  for (const { m, layers = [] } of holders) {
    let explained = 0;
    let unsizedWeight = 0;
    let unsized = 0;
    let weight = 0;
    for (const l of new Map(layers.map((x) => [x.diffId, x])).values()) {
      const w = snapshots.get(l.chain) ?? l.own;
      const known = sized.get(l.diffId);
      if (known !== undefined) explained += known;
      else {
        unsizedWeight += w;
        unsized++;
      }
      if (l.diffId === diffId) weight = w;
    }
    // No unpacked sizes to go by (nothing unpacked here): equal shares.
    const share = unsizedWeight > 0 ? weight / unsizedWeight : 1 / Math.max(1, unsized);
    const size = Math.floor(Math.max(0, payload(m) - explained) * share);
    if (best === undefined || share > best.share || (share === best.share && size < best.size)) best = { share, size };
  }
  return best?.size ?? 0;
}

/**
 * A manifest's parts: the rest of its content, then its shared blobs each on its own. The
 * bounds sit on the manifest's part alone (a shared blob counts 0 at either extreme), so that
 * summed over whatever a deletion frees they bound what it frees.
 */
function manifestParts(
  m: ManifestContent,
  layers: readonly StoredLayer[] | undefined,
  blobs: ReadonlyMap<string, number>,
): ImageLayer[] {
  const key = `manifest:${m.digest}`;
  const bounds = { unshared: m.bytes, shared: m.manifestBytes };
  // Which layers it has is not known, so all but the manifest blob may be another's too.
  if (m.layers === 'unknown')
    return [m.bytes > m.manifestBytes ? { chain: key, size: m.bytes, bounds } : { chain: key, size: m.bytes }];
  const parts: ImageLayer[] = [];
  let estimated = 0;
  for (const diffId of new Set((layers ?? []).map((l) => l.diffId))) {
    const size = blobs.get(diffId);
    if (size === undefined) continue;
    parts.push({ chain: `blob:${diffId}`, size, bounds: { unshared: 0, shared: 0 } });
    estimated += size;
  }
  if (parts.length === 0) return [{ chain: key, size: m.bytes }];
  // At least the manifest blob is its own, whatever the estimates say.
  return [{ chain: key, size: Math.max(m.manifestBytes, m.bytes - estimated), bounds }, ...parts];
}
