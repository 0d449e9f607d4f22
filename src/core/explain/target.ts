/** The objects `reclaimd explain` looks at. */
import type { ContainerObj, ImageObj, VolumeObj } from '../model/snapshot.js';

/** One of the objects `explain` looks at. */
export type Target =
  | { readonly resource: 'image'; readonly image: ImageObj }
  | { readonly resource: 'container'; readonly container: ContainerObj }
  | { readonly resource: 'volume'; readonly volume: VolumeObj };
