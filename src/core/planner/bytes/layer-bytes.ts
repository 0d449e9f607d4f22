/** The total size of a set of images as the engine counts it. */
import type { ImageObj } from '../../model/snapshot.js';

/** Bytes of all image layers, each shared layer once: what `docker system df` calls LayersSize. */
export function uniqueLayerBytes(images: readonly ImageObj[]): number {
  const sizes = new Map<string, number>();
  for (const image of images) for (const l of image.layers) sizes.set(l.chain, l.size);
  let total = 0;
  for (const s of sizes.values()) total += s;
  return total;
}
