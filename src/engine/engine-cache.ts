/** What the adapter remembers about one engine between cycles. */
import type { CachedDetails } from './listed-sizes.js';
import type { ImageLayer } from '../core/model/snapshot.js';
import type { Platform } from './image-content.js';
import type { StoredLayer } from '../core/model/image-parts.js';

type ChainSize = { readonly size: number; readonly exact: boolean };

/**
 * containerd image store: what inspect and history say of an image (it never changes), for
 * its parts (image-parts.ts). `unpacked` is what the listing said when they were asked; when
 * it says otherwise (the image unpacked since), the image is learned again.
 */
export interface ContainerdImageMeta {
  readonly layers: readonly StoredLayer[];
  readonly platform: Platform;
  readonly unpacked: number | undefined;
}

/**
 * What the adapter learns about one engine, kept across reconnects (it is keyed by immutable
 * IDs): forgetting it would also forget the layers of force-deleted images that containers
 * still hold, which can never be learned again.
 */
export class EngineCache {
  /** Chain IDs of each image, oldest first: images are immutable, so this never goes stale. */
  private readonly chains = new Map<string, readonly string[]>();
  /**
   * One size table for planning and reporting alike, so the two always agree. An estimate
   * (history that could not be aligned) is replaced as soon as another image sizes the layer.
   */
  private readonly sizes = new Map<string, ChainSize>();
  /**
   * Each image's layers with their sizes, as the planner takes them, made again only after a
   * size changed: a steady-state cycle reuses them instead of allocating one per layer.
   */
  private readonly lists = new Map<string, readonly ImageLayer[]>();
  /** containerd image store only, by image ID. */
  private readonly meta = new Map<string, ContainerdImageMeta>();
  /** Finish time and exit code of stopped containers, and when they were read; they change only when one runs again. */
  readonly details = new Map<string, CachedDetails>();

  constructor(readonly engineId: string) {}

  layersOf(imageId: string): readonly string[] | undefined {
    return this.chains.get(imageId);
  }

  hasImage(imageId: string): boolean {
    return this.chains.has(imageId);
  }

  sizeOf(chain: string): ChainSize | undefined {
    return this.sizes.get(chain);
  }

  /** Records an image's layers; a size is replaced only by a better one (exact over estimate). */
  learnImage(imageId: string, layers: readonly { chain: string; size: number }[], exact: boolean): void {
    for (const l of layers) {
      const had = this.sizes.get(l.chain);
      if (had && (had.exact || !exact)) continue;
      this.sizes.set(l.chain, { size: l.size, exact });
      // Lists holding this layer now have a stale size. (A layer new to the table is in none:
      // every learned image has a size for each of its layers.)
      if (had) this.lists.clear();
    }
    this.chains.set(
      imageId,
      layers.map((l) => l.chain),
    );
  }

  /** containerd image store: records what inspect and history said of the image. */
  learnStored(imageId: string, meta: ContainerdImageMeta): void {
    this.chains.set(
      imageId,
      meta.layers.map((l) => l.chain),
    );
    this.meta.set(imageId, meta);
  }

  metaOf(imageId: string): ContainerdImageMeta | undefined {
    return this.meta.get(imageId);
  }

  /** The image's layers with their sizes (0 when unknown), or undefined for an image not learned. */
  layerList(imageId: string): readonly ImageLayer[] | undefined {
    const had = this.lists.get(imageId);
    if (had) return had;
    const chains = this.chains.get(imageId);
    if (!chains) return undefined;
    const layers = chains.map((chain) => ({ chain, size: this.sizes.get(chain)?.size ?? 0 }));
    this.lists.set(imageId, layers);
    return layers;
  }

  /**
   * Drops images that are gone and that no container still holds, so the cache follows the
   * engine instead of growing on a host that builds all day; then, once the size table is
   * well over what the images left use, the sizes of layers none of them has.
   */
  forgetImagesExcept(keep: (imageId: string) => boolean): void {
    for (const id of this.chains.keys()) {
      if (keep(id)) continue;
      this.chains.delete(id);
      this.lists.delete(id);
      this.meta.delete(id);
    }
    if (this.sizes.size <= 2 * this.chains.size + 1000) return;
    const live = new Set([...this.chains.values()].flat());
    for (const chain of this.sizes.keys()) if (!live.has(chain)) this.sizes.delete(chain);
  }
}
