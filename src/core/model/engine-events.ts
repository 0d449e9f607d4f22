/**
 * What the engine's event stream and listings tell the last-use rules, reduced to our own
 * types: the engine adapter fills them, core/last-use reads them.
 */

/** One engine event, reduced to what reclaimd reads from it. */
export interface EngineEvent {
  readonly type: string;
  readonly action: string;
  readonly actorId: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly time: number;
}

/** What a full listing of the engine shows. */
export interface Listing {
  readonly images: readonly string[];
  /** Image IDs of every container, whatever its state. */
  readonly containerImages: readonly string[];
  readonly volumes: readonly string[];
  /** Volume names mounted by any container, whatever its state. */
  readonly mountedVolumes: readonly string[];
}
