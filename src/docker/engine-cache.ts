/** What the adapter remembers about one engine between cycles. */
import type { ContainerDetails } from './map-objects.js';

/**
 * What the adapter learns about one engine, kept across reconnects (it is keyed by immutable
 * IDs): forgetting it would also forget the layers of force-deleted images that containers
 * still hold, which can never be learned again.
 */
export class EngineCache {
  /** Chain IDs of each image, oldest first: images are immutable, so this never goes stale. */
  readonly layersById = new Map<string, readonly string[]>();
  /**
   * One size table for planning and reporting alike, so the two always agree. An estimate
   * (history that could not be aligned) is replaced as soon as another image sizes the layer.
   */
  readonly chainSize = new Map<string, { size: number; exact: boolean }>();
  /** Finish time and exit code of stopped containers; they change only when one runs again. */
  readonly details = new Map<string, { state: string; details: ContainerDetails }>();

  constructor(readonly engineId: string) {}
}
