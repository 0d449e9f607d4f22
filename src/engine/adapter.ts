/**
 * The engine adapter: the one place that calls the Docker Engine API. It lists, inspects what
 * it has not seen (image layers are cached forever, since images are immutable), measures only
 * what a plan needs, and removes one object per call, never with `force`.
 */
import type Docker from 'dockerode';
import type { ContainerObj, ImageObj, RegistryAnswer, Snapshot } from '../core/model/snapshot.js';
import type { Changes, ContainerMeasure, Engine, RemovalOutcome, SnapshotNeeds } from './engine.js';
import { statusAge, statusExitCode } from './container-status.js';
import type { Connection, ImageStore } from './client.js';
import { classify, EngineError } from './errors.js';
import { layerSizes } from './layers.js';
import { mapContainer, mapDetails, mapImage, mapVolume, type ContainerDetails } from './map-objects.js';
import { EngineCache } from './engine-cache.js';
import { diskUsage } from './disk-usage.js';
import { limiter, mapLimit } from '../lib/pool.js';
import { measureListed, type SizedContainerInfo } from './listed-sizes.js';
import { UNWATCHED, watchChanges } from './changes.js';
import { listServiceImages } from './services.js';
import { containerNetworks, mapNetwork, removeNetwork } from './networks.js';
import { refersToNetwork } from '../core/model/network-refs.js';
import { mapBuildCache, pruneBuildCache } from './build-cache.js';
import type { BuildCachePrune } from '../core/model/plan.js';
import { saveImageTo } from './save-image.js';
import { registryHas } from './registry.js';
import { inPath } from './request-path.js';
import {
  listsManifests,
  storedImage,
  unpackedSize,
  withOwnDigests,
  type ContainerdImageInfo,
} from './image-content.js';
import { containerdParts, type StoredImage } from '../core/model/image-parts.js';

export { EngineCache };

/** At most so many calls of it in flight (pool.ts `limiter`). */
type Bound = ReturnType<typeof limiter>;

/** What a container list's `Status` says: see container-status.ts. */
type ParsedStatus = { readonly exitCode: number | undefined; readonly age: ReturnType<typeof statusAge> };

export interface AdapterOptions {
  /** Inspect calls in flight at once. */
  readonly concurrency: number;
}

export class EngineAdapter implements Engine {
  private readonly docker: Docker;
  /** API calls made, for the benchmark and debug logs. */
  calls = 0;

  constructor(
    private readonly connection: Connection,
    private readonly options: AdapterOptions = { concurrency: 8 },
    readonly cache: EngineCache = new EngineCache(connection.engineId),
  ) {
    this.docker = connection.docker;
  }

  get apiVersion(): string {
    return this.connection.apiVersion;
  }

  get imageStore(): ImageStore {
    return this.connection.imageStore;
  }

  get dataRoot(): string | undefined {
    return this.connection.dataRoot;
  }

  async snapshot(needs: SnapshotNeeds): Promise<Snapshot> {
    // Each list is mapped as soon as it arrives: the image list is the slowest of the three,
    // so containers and volumes are done while the engine is still answering it. Inspects of
    // objects not seen before share one bound, whichever list they come from.
    const inspect = limiter(this.options.concurrency);
    const [[rawImages, images], [rawContainers, containers], volumes, serviceImages, rawNetworks, df] =
      await Promise.all([
        this.call(() => this.listImages()).then(async (raw) => [raw, await this.mapImages(raw, inspect)] as const),
        this.call(() => this.docker.listContainers({ all: true })).then(
          async (raw) => [raw, await this.mapContainers(raw, needs.containerDetails === true, inspect)] as const,
        ),
        this.call(() => this.docker.listVolumes()).then((raw) => (raw.Volumes ?? []).map(mapVolume)),
        needs.swarmServices === false ? [] : this.call(() => listServiceImages(this.docker)),
        // Networks and the build cache are listed only when a policy needs them: the cache
        // records come from the engine's disk-usage walk, which is far too costly for every cycle.
        needs.networks === true ? this.call(() => this.docker.listNetworks()) : undefined,
        needs.buildCache === true ? this.call(() => diskUsage(this.docker, this.apiVersion, 'build-cache')) : undefined,
      ]);
    this.forgetGone(rawContainers);
    const listed = new Set(rawImages.map((i) => i.Id));
    // Containers whose image was deleted by force still hold its layers; if we saw that image
    // before, we know which. (One never seen is unknown: its layers may be counted as freed.)
    const ghostLayers: Record<string, readonly string[]> = {};
    for (const c of rawContainers) {
      const chains = listed.has(c.ImageID) ? undefined : this.cache.layersOf(c.ImageID);
      if (chains) ghostLayers[c.Id] = chains;
    }
    this.forgetImages(listed, rawContainers);
    return {
      ...(this.imageStore === 'containerd' ? { store: 'containerd' as const } : {}),
      images,
      containers,
      volumes,
      ghostLayers,
      serviceImages,
      ...(rawNetworks ? { networks: rawNetworks.map(mapNetwork) } : {}),
      ...(df ? { buildCache: (df.BuildCache ?? []).map(mapBuildCache) } : {}),
    };
  }

  async ping(signal?: AbortSignal): Promise<void> {
    // @types/dockerode types ping() without options; dockerode passes abortSignal through.
    const ping = this.docker.ping.bind(this.docker) as unknown as (opts: {
      abortSignal?: AbortSignal;
    }) => Promise<unknown>;
    await this.call(() => ping(signal ? { abortSignal: signal } : {}));
  }

  layerSize(chain: string): number | undefined {
    return this.cache.sizeOf(chain)?.size;
  }

  watchChanges(): Changes {
    const streams = this.connection.streams;
    if (streams === undefined) return UNWATCHED;
    this.calls++;
    return watchChanges(streams, this.connection.clockOffsetMs ?? 0);
  }

  async measureContainers(ids: readonly string[], changes?: Changes): Promise<Map<string, ContainerMeasure>> {
    // Those whose details are known to be current: one list call for all of them (listed-sizes.ts).
    const trusted = (id: string) =>
      changes !== undefined &&
      changes.intact &&
      (this.cache.details.get(id)?.at ?? -Infinity) >= changes.began &&
      !changes.containerChanged(id);
    const list = (states: readonly string[]) =>
      this.call(
        () =>
          this.docker.listContainers({ all: true, size: true, filters: { status: [...states] } }) as Promise<
            SizedContainerInfo[]
          >,
      );
    const { measured: sizes, rest } = await measureListed(ids, this.cache.details, trusted, list, (raw) =>
      this.writableBytes(raw, raw.ImageID),
    );
    await mapLimit(rest, this.options.concurrency, async (id) => {
      // @types/dockerode knows neither the `size` option nor the `SizeRw` it adds.
      type Info = {
        SizeRw?: number;
        SizeRootFs?: number;
        Image?: string;
        State?: { Status?: string; FinishedAt?: string; ExitCode?: number };
        Config?: { Image?: string };
      };
      const container = this.docker.getContainer(inPath(id));
      const inspect = container.inspect as unknown as (o: { size: boolean }) => Promise<Info>;
      const info = await this.tolerant(() => inspect.call(container, { size: true }));
      if (info === 'failed') {
        // One container the engine cannot inspect must not stop every other removal: it is
        // reported in a state nothing removes, so it stays, and its image and volumes with it.
        sizes.set(id, { sizeRw: 0, state: 'unknown', finishedAt: undefined, exitCode: undefined });
        return;
      }
      if (!info) return;
      const details = mapDetails(info.State, info.Config);
      this.cache.details.set(id, { state: info.State?.Status ?? '', details, at: performance.now() });
      sizes.set(id, {
        sizeRw: this.writableBytes(info, info.Image ?? ''),
        state: info.State?.Status ?? 'unknown',
        ...details,
      });
    });
    return sizes;
  }

  /**
   * What removing a container frees: its writable layer (the engine omits SizeRw when it is 0,
   * API 1.41). On the containerd image store also the `-init` snapshot under it, which no field
   * names: SizeRootFs counts the writable layer and every snapshot below it, so what it counts
   * beyond the writable layer and the image's unpacked size is that snapshot's.
   */
  private writableBytes(raw: { SizeRw?: number; SizeRootFs?: number }, imageId: string): number {
    const rw = raw.SizeRw ?? 0;
    if (this.imageStore !== 'containerd' || raw.SizeRootFs === undefined) return rw;
    const unpacked = this.cache.metaOf(imageId)?.unpacked;
    const init = unpacked === undefined ? 0 : raw.SizeRootFs - rw - unpacked;
    return init > 0 ? rw + init : rw;
  }

  async measureVolumes(): Promise<Map<string, number>> {
    const df = await this.call(() => diskUsage(this.docker, this.apiVersion, 'volume'));
    const sizes = new Map<string, number>();
    for (const v of df.Volumes ?? []) {
      const size = v.UsageData?.Size;
      if (typeof size === 'number' && size >= 0) sizes.set(v.Name, size);
    }
    return sizes;
  }

  async imageDiskUsage(): Promise<number> {
    const size = (await this.call(() => diskUsage(this.docker, this.apiVersion, 'image'))).LayersSize;
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0)
      throw new EngineError('failed', `/system/df gave no LayersSize (got ${JSON.stringify(size)})`, undefined);
    return size;
  }

  async imageInUse(id: string): Promise<boolean> {
    const users = await this.call(() =>
      this.docker.listContainers({ all: true, limit: 1, filters: { ancestor: [id] } }),
    );
    return users.length > 0;
  }

  removeContainer(id: string): Promise<RemovalOutcome> {
    // No force: a container that was started since the plan makes the engine answer 409.
    // No `v`: anonymous volumes are planned and removed as volumes, so they are counted.
    return this.removal(async () => {
      await this.docker.getContainer(inPath(id)).remove({ force: false, v: false });
      return [id];
    });
  }

  untagImage(reference: string): Promise<RemovalOutcome> {
    return this.removal(async () =>
      deletedIds(await this.docker.getImage(inPath(reference)).remove({ force: false, noprune: true })),
    );
  }

  deleteImage(id: string): Promise<RemovalOutcome> {
    // Never force: with force the engine deletes an image a stopped container still uses and
    // its layers stay on disk as a ghost, or only untags it if the container runs. Always
    // noprune: the engine would otherwise decide which parents to delete at deletion time,
    // after our checks; the planner plans those parents as deletions of their own.
    return this.removal(async () =>
      deletedIds(await this.docker.getImage(inPath(id)).remove({ force: false, noprune: true })),
    );
  }

  async imageRefs(id: string): Promise<{ tags: string[]; digests: string[] } | undefined> {
    const info = await this.optional(() => this.docker.getImage(inPath(id)).inspect());
    if (!info) return undefined;
    const tags = (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const digests = (info.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
    return { tags, digests: this.imageStore === 'containerd' ? withOwnDigests(id, tags, digests) : digests };
  }

  async registryHas(reference: string): Promise<RegistryAnswer> {
    return registryHas(this.docker, reference, (fn) => this.call(fn));
  }

  async imageIdOf(reference: string): Promise<string | undefined> {
    return (await this.optional(() => this.docker.getImage(inPath(reference)).inspect()))?.Id;
  }

  removeVolume(name: string): Promise<RemovalOutcome> {
    return this.removal(async () => {
      await this.docker.getVolume(inPath(name)).remove();
      return [name];
    });
  }

  async networkInUse(id: string, name: string): Promise<boolean> {
    // Every container, read the way the planner reads them: the engine's `network` filter
    // misses a container created with an ID prefix (its NetworkMode) that has never run.
    const all = await this.call(() => this.docker.listContainers({ all: true }));
    return all.some((c) => containerNetworks(c).some((ref) => refersToNetwork(ref, { id, name })));
  }

  removeNetwork(id: string): Promise<RemovalOutcome> {
    this.calls++;
    return removeNetwork(this.docker, id);
  }

  pruneBuildCache(prune: BuildCachePrune): Promise<RemovalOutcome> {
    this.calls++;
    return pruneBuildCache(this.docker, prune);
  }

  saveImage(id: string, tags: readonly string[], path: string): Promise<number> {
    return saveImageTo(
      this.docker,
      id,
      tags,
      path,
      (fn) => this.call(fn),
      async () => (await this.imageRefs(id)) === undefined,
    );
  }

  /** `GET /images/json?all=1`, on the containerd image store with each image's manifests (API 1.47+). */
  private listImages(): Promise<Docker.ImageInfo[]> {
    const manifests = this.imageStore === 'containerd' && listsManifests(this.apiVersion);
    // @types/dockerode knows no `manifests` option; dockerode passes it on.
    return this.docker.listImages({ all: true, ...(manifests ? { manifests: true } : {}) } as Docker.ListImagesOptions);
  }

  /**
   * Images whose layers are cached (every one, once a daemon has run a cycle) are mapped in
   * one synchronous pass; only new ones wait for their inspect and history, a few at a time.
   * A steady-state cycle thus makes no promise per object. On the containerd image store an
   * image's parts depend on the other images (which share its blobs, which end one layer
   * lower), so they are made again from each listing (image-parts.ts).
   */
  private async mapImages(rawImages: readonly Docker.ImageInfo[], bound: Bound): Promise<ImageObj[]> {
    const containerd = this.imageStore === 'containerd';
    const unknown = rawImages.filter((raw) => !this.cache.hasImage(raw.Id) || (containerd && this.unpackedSince(raw)));
    if (unknown.length > 0) await Promise.all(unknown.map((raw) => bound(() => this.learnImage(raw))));
    if (containerd) return this.mapStoredImages(rawImages);
    const images: ImageObj[] = [];
    for (const raw of rawImages) {
      // Not cached after the inspect: removed since the listing.
      const layers = this.cache.layerList(raw.Id);
      if (layers !== undefined) images.push(mapImage(raw, layers));
    }
    return images;
  }

  private mapStoredImages(rawImages: readonly Docker.ImageInfo[]): ImageObj[] {
    const stored: Array<[Docker.ImageInfo, StoredImage]> = [];
    for (const raw of rawImages) {
      const meta = this.cache.metaOf(raw.Id);
      if (meta !== undefined)
        stored.push([raw, storedImage(raw as unknown as ContainerdImageInfo, meta.platform, meta.layers)]);
    }
    const parts = containerdParts(stored.map(([, s]) => s));
    return stored.map(([raw, s]) => {
      const image = mapImage(raw, parts.get(raw.Id) ?? []);
      const content = s.indexBytes + s.manifests.reduce((sum, m) => sum + m.bytes, 0);
      return { ...image, digests: withOwnDigests(image.id, image.tags, image.digests), content };
    });
  }

  /** containerd image store: the listing's unpacked size is not what the layers were learned at. */
  private unpackedSince(raw: Docker.ImageInfo): boolean {
    const meta = this.cache.metaOf(raw.Id);
    if (meta === undefined) return true;
    const listed = unpackedSize(raw as unknown as ContainerdImageInfo, meta.platform);
    return listed !== undefined && listed !== meta.unpacked;
  }

  /** Only stopped containers can be removed, so only they need their finish time. */
  private async mapContainers(
    rawContainers: readonly Docker.ContainerInfo[],
    withDetails: boolean,
    bound: Bound,
  ): Promise<ContainerObj[]> {
    const now = Date.now();
    const statuses = new Map<string, ParsedStatus>();
    const mapped: Array<ContainerObj | undefined> = [];
    const uncached: number[] = [];
    for (const raw of rawContainers) {
      if (!withDetails || raw.State === 'running') {
        mapped.push(mapContainer(raw, undefined));
        continue;
      }
      const details = this.cachedDetails(raw, now, statuses);
      if (details === undefined) uncached.push(mapped.length);
      mapped.push(details === undefined ? undefined : mapContainer(raw, details));
    }
    await Promise.all(
      uncached.map((i) =>
        bound(async () => {
          const raw = rawContainers[i] as Docker.ContainerInfo;
          const details = await this.containerDetails(raw.Id, raw.State);
          mapped[i] =
            details === 'failed'
              ? { ...mapContainer(raw, undefined), state: 'unknown' }
              : details === undefined
                ? undefined
                : mapContainer(raw, details);
        }),
      ),
    );
    return mapped.filter((c) => c !== undefined);
  }

  /**
   * Inspects a new image and caches its layers; an image removed since the listing is left out.
   * Layer sizes come from history, which on the classic store gives each layer's diff size
   * (adding up to inspect's Size) and on the containerd image store each layer's unpacked
   * snapshot usage (adding up to the listing's Unpacked size of the platform run here).
   */
  private async learnImage(raw: Docker.ImageInfo): Promise<void> {
    const image = this.docker.getImage(inPath(raw.Id));
    const info = await this.optional(() => image.inspect() as Promise<Docker.ImageInspectInfo & { Variant?: string }>);
    const history = await this.optional(() => image.history() as Promise<Array<{ CreatedBy?: string; Size: number }>>);
    if (!info || !history) return; // removed since the listing
    const diffIds = info.RootFS?.Layers ?? [];
    if (this.imageStore !== 'containerd') {
      const exactSize = (chain: string) => {
        const known = this.cache.sizeOf(chain);
        return known?.exact ? known.size : undefined;
      };
      const { layers, exact } = layerSizes(diffIds, history, info.Size, exactSize);
      this.cache.learnImage(raw.Id, layers, exact);
      return;
    }
    // History gives each snapshot's own usage; how those add up is image-parts.ts's to say.
    const platform = {
      architecture: info.Architecture,
      os: info.Os,
      ...(info.Variant ? { variant: info.Variant } : {}),
    };
    const own = history.reduce((sum, h) => sum + h.Size, 0);
    const { layers } = layerSizes(diffIds, history, own, () => undefined);
    this.cache.learnStored(raw.Id, {
      layers: layers.map((l, i) => ({ diffId: diffIds[i] as string, chain: l.chain, own: l.size })),
      platform,
      unpacked: unpackedSize(raw as unknown as ContainerdImageInfo, platform),
    });
  }

  /**
   * Drops cached layers of images that are gone and that no container still holds. Sizes of
   * layers just deleted stay until the next snapshot, for the report of the cycle that
   * deleted them.
   */
  private forgetImages(listed: ReadonlySet<string>, containers: readonly Docker.ContainerInfo[]): void {
    const held = new Set(containers.map((c) => c.ImageID));
    this.cache.forgetImagesExcept((id) => listed.has(id) || held.has(id));
  }

  /** Undefined when the container is gone; 'failed' when the engine would not say. */
  private async containerDetails(id: string, state: string): Promise<ContainerDetails | undefined | 'failed'> {
    const info = await this.tolerant(() => this.docker.getContainer(inPath(id)).inspect());
    if (info === undefined || info === 'failed') return info;
    const details = mapDetails(info.State, info.Config);
    this.cache.details.set(id, { state, details, at: performance.now() });
    return details;
  }

  /**
   * A cached finish time is used only while the list still agrees with it: same state, same
   * exit code, and a status age ("Exited (0) 3 weeks ago") that fits. A container that ran
   * and stopped again since fails that check and is inspected afresh. Whatever a plan selects
   * is measured again before removal anyway (measureContainers): inspected, or, if this cycle
   * inspected it and its event watch saw nothing of it since, listed with its size; so removal
   * decisions never rest on an earlier cycle's cache.
   */
  private cachedDetails(
    raw: Docker.ContainerInfo,
    now: number,
    statuses: Map<string, ParsedStatus>,
  ): ContainerDetails | undefined {
    const cached = this.cache.details.get(raw.Id);
    if (!cached || cached.state !== raw.State) return undefined;
    const { finishedAt, exitCode } = cached.details;
    if (raw.State === 'created') return cached.details;
    // Many containers share a status text ("Exited (0) 3 weeks ago"): parse each text once.
    let status = statuses.get(raw.Status);
    if (status === undefined)
      statuses.set(raw.Status, (status = { exitCode: statusExitCode(raw.Status), age: statusAge(raw.Status) }));
    const { age } = status;
    if (status.exitCode !== exitCode || finishedAt === undefined) return undefined;
    if (!age || now - finishedAt < age.min || now - finishedAt > age.max) return undefined;
    return cached.details;
  }

  private forgetGone(listed: readonly Docker.ContainerInfo[]): void {
    if (this.cache.details.size <= listed.length) return;
    const ids = new Set(listed.map((c) => c.Id));
    for (const id of this.cache.details.keys()) if (!ids.has(id)) this.cache.details.delete(id);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await fn();
    } catch (err) {
      throw classify(err);
    }
  }

  /** A call whose 404 means "gone since the listing": undefined instead of an error. */
  private async optional<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'gone') return undefined;
      throw err;
    }
  }

  /**
   * Like `optional`, and an error the engine answered with comes back as 'failed', for a
   * per-object call whose failure must not end the cycle (the object is then kept). An engine
   * that is gone, or an answer that cannot be read, still ends it: that is no fault of one
   * object, and nothing read over that channel is certain.
   */
  private async tolerant<T>(fn: () => Promise<T>): Promise<T | undefined | 'failed'> {
    try {
      return await this.optional(fn);
    } catch (err) {
      if (err instanceof EngineError && (err.kind === 'unreachable' || err.kind === 'malformed')) throw err;
      return 'failed';
    }
  }

  private async removal(fn: () => Promise<string[]>): Promise<RemovalOutcome> {
    try {
      return { ok: true, deleted: await this.call(fn) };
    } catch (err) {
      const e = classify(err);
      return { ok: false, kind: e.kind, message: e.message };
    }
  }
}

function deletedIds(items: Array<{ Deleted?: string; Untagged?: string }> | undefined): string[] {
  return (items ?? []).flatMap((i) => (i.Deleted ? [i.Deleted] : []));
}
