/**
 * What the daemon needs from an engine. The real adapter (adapter.ts) is the only code that
 * talks to Docker; tests of the sweep can substitute their own implementation.
 */
import type { RegistryAnswer, Snapshot } from '../core/model/snapshot.js';
import type { BuildCachePrune } from '../core/model/plan.js';
import type { ImageStore } from './client.js';
import type { EngineErrorKind } from './errors.js';

export interface SnapshotNeeds {
  /** Inspect stopped containers for finish time and exit code (container policies need them). */
  readonly containerDetails: boolean;
  /** List networks (a network policy exists). */
  readonly networks?: boolean;
  /** List build-cache records (a buildCache policy exists): that is the engine's costly disk-usage walk. */
  readonly buildCache?: boolean;
  /**
   * Read the images swarm services name (/info, then /services on a manager); listed unless
   * false. Off when nothing would use them: they only protect images, so without an image
   * policy, or with inUse.swarmServices false, a proxy refusing /services or a manager without
   * quorum must not fail the cycle.
   */
  readonly swarmServices?: boolean;
}

/**
 * The outcome of one removal request. `deleted` lists what the engine reported deleted;
 * `bytes`, what it freed where the engine says (prunes): null when that is not known.
 */
export type RemovalOutcome =
  | { readonly ok: true; readonly deleted: readonly string[]; readonly bytes?: number | null }
  | { readonly ok: false; readonly kind: EngineErrorKind; readonly message: string };

/** A container inspected just now: its writable-layer size and fresh finish details. */
export interface ContainerMeasure {
  readonly sizeRw: number;
  readonly state: string;
  readonly finishedAt: number | undefined;
  readonly exitCode: number | undefined;
}

/**
 * What changed on the engine since a cycle began (changes.ts): lets the checks before each
 * removal cost nothing while nothing happened. When not `intact`, it vouches for nothing.
 */
export interface Changes {
  readonly intact: boolean;
  /**
   * When the watch began, on the monotonic clock (`performance.now()`): what was read before
   * it, it cannot vouch for.
   */
  readonly began: number;
  /** True while nothing may have given any image a new name, digest or user since the watch began. */
  imagesQuiet(): boolean;
  /** True when the container had any event since the watch began (or the watch is not intact). */
  containerChanged(id: string): boolean;
  close(): void;
}

export interface Engine {
  readonly apiVersion: string;
  /**
   * Where the engine keeps images. Only the classic store's deletions list the layers they
   * freed; on the containerd image store what a deletion freed follows from the parts of the
   * snapshot (image-parts.ts), measured by imageDiskUsage where those are estimates.
   */
  readonly imageStore: ImageStore;
  /** The engine's data root as it reports it (`docker info` DockerRootDir), if it does. */
  readonly dataRoot?: string | undefined;
  snapshot(needs: SnapshotNeeds): Promise<Snapshot>;
  /** Starts watching the engine's events for a cycle; absent, or not intact: every check is made. */
  watchChanges?(): Changes;
  /**
   * Writable-layer sizes and finish details of these containers, as they are now. With
   * `changes`, a container whose details were read since the watch began and that had no event
   * since is measured from one list call instead of an inspect.
   */
  measureContainers(ids: readonly string[], changes?: Changes): Promise<Map<string, ContainerMeasure>>;
  /** Sizes of all volumes, from the engine's disk-usage walk. Costly: call only when needed. */
  measureVolumes(): Promise<Map<string, number>>;
  /** Size of a layer by chain ID, as used for the plan, so reports use the same figures. */
  layerSize(chain: string): number | undefined;
  /**
   * The engine's own figure for the disk its images use (`/system/df` LayersSize: on the
   * containerd image store every snapshot and every image's content, each once). Costly.
   */
  imageDiskUsage(): Promise<number>;
  /** True when any container (any state) now uses this image, checked just before untagging. */
  imageInUse(id: string): Promise<boolean>;
  /** The image's tags and digests now, or undefined when it is gone; checked before removal. */
  imageRefs(id: string): Promise<{ tags: string[]; digests: string[] } | undefined>;
  /** The image a reference names now, checked just before untagging it. */
  imageIdOf(reference: string): Promise<string | undefined>;
  /**
   * Whether the registry of a repository digest (`repo@sha256:…`) has it now, asked through
   * the engine (`GET /distribution/{reference}/json`, with the engine's registry settings and
   * no credentials). Never throws for the registry's sake: an unreachable, refusing or silent
   * registry is a `found: false` with the reason; only an unreachable engine rejects.
   */
  registryHas(reference: string): Promise<RegistryAnswer>;
  removeContainer(id: string): Promise<RemovalOutcome>;
  untagImage(reference: string): Promise<RemovalOutcome>;
  /** Deletes by ID, never forced and always with noprune (parents are planned on their own). */
  deleteImage(id: string): Promise<RemovalOutcome>;
  removeVolume(name: string): Promise<RemovalOutcome>;
  /**
   * True when any container, in any state, refers to the network now: checked just before
   * deleting it, because the engine itself only refuses while a container on it is running.
   */
  networkInUse(id: string, name: string): Promise<boolean>;
  /** Deletes a network by ID; one with running endpoints is a conflict. */
  removeNetwork(id: string): Promise<RemovalOutcome>;
  /** One engine-side build-cache prune: `deleted` are the record IDs, `bytes` the engine's SpaceReclaimed. */
  pruneBuildCache(prune: BuildCachePrune): Promise<RemovalOutcome>;
  /**
   * Saves the image in `docker save` format to the file `path`, atomically (complete or not at
   * all), under its ID and these of its tags, so `docker load` restores both. Resolves with the
   * bytes written; rejects with an EngineError (gone, unreachable, failed) or a file-system error.
   */
  saveImage(id: string, tags: readonly string[], path: string): Promise<number>;
}
