/**
 * What the planner knows about the engine: our own narrow types, filled by src/docker from the
 * Engine API. Times are epoch milliseconds; sizes are bytes as the engine counts them.
 */
import type { Labels } from '../../lib/labels.js';

/**
 * One thing an image holds on disk, under a key that every image holding the same bytes
 * shares, so that shared bytes are counted once and freed only with their last holder. On the
 * classic store these are the layers: the key is the chain ID (as in the engine's layer store)
 * and the size the layer's diff size. On the containerd image store they are the unpacked
 * snapshots (keyed by chain ID too) and the content blobs (see image-parts.ts).
 */
export interface ImageLayer {
  readonly chain: string;
  readonly size: number;
  /**
   * Set when `size` is an estimate: the engine sizes an image's content as a whole, not each
   * of its layer blobs, so where blobs are shared with other images their sizes are inferred.
   * `unshared` is the size were no blob shared after all, `shared` were every shared blob as
   * large as it can be; the true size lies between (image-parts.ts says how).
   */
  readonly bounds?: PartBounds;
}

/** The two extremes an estimated part's size can take; see ImageLayer.bounds. */
export interface PartBounds {
  readonly unshared: number;
  readonly shared: number;
}

export interface ImageObj {
  readonly id: string;
  /** Set only for classic-builder and committed images. */
  readonly parentId: string | undefined;
  /** `repository:tag` references; empty for untagged images. */
  readonly tags: readonly string[];
  readonly digests: readonly string[];
  /**
   * Build time from the image config; undefined when the config has none (or a placeholder
   * before 2013, as reproducible builds write): no age condition then holds.
   */
  readonly created: number | undefined;
  readonly labels: Labels;
  /** Its size as the engine lists it (containerd image store: content and unpacked snapshots together). */
  readonly size: number;
  /** containerd image store: the bytes of its content blobs, which is what `docker save` writes. */
  readonly content?: number;
  /**
   * What it holds on disk: its layers oldest first, then (containerd image store) its content
   * blobs. Shared parts have the same key in every image that holds them.
   */
  readonly layers: readonly ImageLayer[];
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerObj {
  readonly id: string;
  readonly name: string;
  /** The reference it was created from, as the engine reports it. */
  readonly image: string;
  /**
   * The reference exactly as given at creation (inspect's `Config.Image`). The list shows the
   * image ID in `image` instead once the tag names another build; this does not change.
   * Known only for containers that were inspected (stopped ones, when a policy needs them).
   */
  readonly createdFrom?: string;
  readonly imageId: string;
  readonly state: ContainerState | string;
  readonly created: number;
  /** When it last stopped; undefined if it never ran or was not inspected. */
  readonly finishedAt: number | undefined;
  readonly exitCode: number | undefined;
  readonly labels: Labels;
  /** Size of the writable layer; undefined when not measured. */
  readonly sizeRw: number | undefined;
  /** Names of the volumes it mounts. */
  readonly volumes: readonly string[];
  /**
   * The networks it is attached to, in any state, as the engine refers to them: names, IDs
   * and the NetworkMode it was created with (which may be an ID prefix). Undefined when not
   * listed; a created container has no network ID yet, only the name.
   */
  readonly networks?: readonly string[];
}

export interface VolumeObj {
  readonly name: string;
  readonly driver: string;
  readonly created: number | undefined;
  readonly labels: Labels;
  /** Bytes on disk; undefined when not measured. */
  readonly size: number | undefined;
  /** Created with driver options (e.g. an NFS or bind mount of the local driver). */
  readonly driverOptions?: boolean;
}

export interface NetworkObj {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  /** local, global or swarm. */
  readonly scope: string;
  readonly created: number | undefined;
  readonly labels: Labels;
  /** The swarm routing-mesh network. */
  readonly ingress: boolean;
  /** A configuration template for swarm networks (`--config-only`), not a network itself. */
  readonly configOnly: boolean;
}

/** One BuildKit cache record, as the engine's disk-usage report lists it. */
export interface BuildCacheRecord {
  readonly id: string;
  /** The record this one was built on (API ≤ 1.41 `Parent`, 1.42+ first of `Parents`). */
  readonly parent: string | undefined;
  /** internal, frontend, source.local, source.git.checkout, exec.cachemount or regular. */
  readonly type: string;
  readonly description: string;
  /** Held by a build right now: no prune removes it. */
  readonly inUse: boolean;
  /** Shares its data with an image (or another record): only an `all` prune removes it. */
  readonly shared: boolean;
  readonly size: number;
  readonly createdAt: number | undefined;
  /** Undefined when the record was never used after creation; BuildKit then counts it as old. */
  readonly lastUsedAt: number | undefined;
  readonly usageCount: number;
}

/**
 * When reclaimd last saw each object used (epoch ms), kept by the daemon's last-use store.
 * Images: a container created or started from it, or the image pulled, tagged, loaded or
 * built; an image never seen in use counts from when reclaimd first saw it, never from its
 * build date. Volumes: a container that mounts it existed. Absent: nothing is known (e.g. the
 * `plan` command run without a state directory); then rules on last use match nothing.
 */
export interface Usage {
  readonly images: ReadonlyMap<string, number>;
  readonly volumes: ReadonlyMap<string, number>;
  /**
   * Keys whose time is when reclaimd first saw the object, not a use: only for reasons
   * ("never seen in use"); the time itself counts the same either way.
   */
  readonly firstSeenOnly?: { readonly images: ReadonlySet<string>; readonly volumes: ReadonlySet<string> };
}

export interface Snapshot {
  /** Where the engine keeps images (src/engine/client.ts ImageStore); absent: the classic store. */
  readonly store?: 'classic' | 'containerd';
  readonly images: readonly ImageObj[];
  readonly containers: readonly ContainerObj[];
  readonly volumes: readonly VolumeObj[];
  /**
   * Layer chain IDs still held by containers whose image is gone (deleted with force by
   * someone else), by container ID: while such a container stays, those layers stay on disk,
   * so deleting other images does not free them.
   */
  readonly ghostLayers?: Readonly<Record<string, readonly string[]>>;
  /** Last use by image ID and volume name; see Usage. */
  readonly usage?: Usage;
  /**
   * The image each swarm service's spec names (`repo:tag`, `repo@sha256:…` or both), read on
   * a swarm manager only; absent or empty elsewhere. A service scaled to 0 has no container,
   * yet scaling it up needs its image.
   */
  readonly serviceImages?: readonly ServiceImage[];
  /** Listed only when a network policy exists, so other cycles pay nothing for them. */
  readonly networks?: readonly NetworkObj[];
  /**
   * Build-cache records: listed only when a buildCache policy exists, because the listing is
   * the engine's full disk-usage walk (`/system/df`).
   */
  readonly buildCache?: readonly BuildCacheRecord[];
  /**
   * What registries said of the repository digests (`repo@sha256:…`) of images an archive
   * policy selects, asked through the engine just before planning: whether the image can be
   * pulled again, which decides whether it is archived first. Absent: not asked.
   */
  readonly registry?: ReadonlyMap<string, RegistryAnswer>;
}

/** A registry's answer for one repository digest; see Snapshot.registry. */
export interface RegistryAnswer {
  /** The registry has that manifest: the image can be pulled again. */
  readonly found: boolean;
  /** Why it was not confirmed (the registry's or the engine's words), when it was not. */
  readonly detail?: string;
}

/** One swarm service and the image reference its spec names. */
export interface ServiceImage {
  readonly service: string;
  readonly reference: string;
}

/** The 12-hex short ID the docker CLI prints. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Splits `registry:5000/ci/app:pr-1` into repository and tag (the tag follows the last `:` after the last `/`). */
export function splitReference(ref: string): { readonly repository: string; readonly tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash
    ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repository: ref, tag: 'latest' };
}

const refCache = new WeakMap<ImageObj, ReadonlyArray<{ readonly repository: string; readonly tag: string }>>();

/** An image's tags split into repository and tag, computed once per image object. */
export function referencesOf(image: ImageObj): ReadonlyArray<{ readonly repository: string; readonly tag: string }> {
  let refs = refCache.get(image);
  if (!refs) {
    refs = image.tags.map(splitReference);
    refCache.set(image, refs);
  }
  return refs;
}

const repoCache = new WeakMap<ImageObj, readonly string[]>();

/**
 * Every repository an image is known under: from its tags and from its digests
 * (`repo@sha256:…`). Computed once per image object, like referencesOf: the planner asks for
 * every selected image, once per policy and again for untagged parents.
 */
export function repositoriesOf(image: ImageObj): readonly string[] {
  let repos = repoCache.get(image);
  if (!repos) {
    const set = new Set(referencesOf(image).map((r) => r.repository));
    for (const d of image.digests) {
      const at = d.indexOf('@');
      if (at > 0) set.add(d.slice(0, at));
    }
    repos = [...set];
    repoCache.set(image, repos);
  }
  return repos;
}

/** The engine names anonymous volumes with 64 hex characters; 23.0+ also labels them. */
export function isAnonymousVolume(v: VolumeObj): boolean {
  return /^[0-9a-f]{64}$/.test(v.name) || Object.prototype.hasOwnProperty.call(v.labels, 'com.docker.volume.anonymous');
}
