/**
 * The engine adapter: the one place that calls the Docker Engine API. It lists, inspects what
 * it has not seen (image layers are cached forever, since images are immutable), measures only
 * what a plan needs, and removes one object per call, never with `force`.
 */
import type Docker from 'dockerode';
import type { Snapshot } from '../policy/snapshot.js';
import type { ContainerMeasure, Engine, RemovalOutcome, SnapshotNeeds } from './engine.js';
import { statusAge, statusExitCode } from './container-status.js';
import type { Connection } from './client.js';
import { classify, EngineError } from './errors.js';
import { layerSizes } from './layers.js';
import { mapContainer, mapDetails, mapImage, mapVolume, type ContainerDetails } from './map-objects.js';
import { EngineCache } from './engine-cache.js';
import { diskUsage } from './disk-usage.js';
import { mapLimit } from './pool.js';
import { measureCreated, type SizedContainerInfo } from './created-sizes.js';
import { listServiceImages } from './services.js';
import { containerNetworks, mapNetwork, removeNetwork } from './networks.js';
import { refersToNetwork } from '../policy/plan-networks.js';
import { mapBuildCache, pruneBuildCache } from './build-cache.js';
import type { BuildCachePrune } from '../policy/plan-types.js';
import { saveImageTo } from './save-image.js';

export { EngineCache };

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

  get reportsDeletedLayers(): boolean {
    return !this.connection.containerdStore;
  }

  get dataRoot(): string | undefined {
    return this.connection.dataRoot;
  }

  async snapshot(needs: SnapshotNeeds): Promise<Snapshot> {
    const [rawImages, rawContainers, rawVolumes, serviceImages, rawNetworks, df] = await Promise.all([
      this.call(() => this.docker.listImages({ all: true })),
      this.call(() => this.docker.listContainers({ all: true })),
      this.call(() => this.docker.listVolumes()),
      needs.swarmServices === false ? [] : this.call(() => listServiceImages(this.docker)),
      // Networks and the build cache are listed only when a policy needs them: the cache
      // records come from the engine's disk-usage walk, which is far too costly for every cycle.
      needs.networks === true ? this.call(() => this.docker.listNetworks()) : undefined,
      needs.buildCache === true ? this.call(() => diskUsage(this.docker, this.apiVersion, 'build-cache')) : undefined,
    ]);
    const chainLists = await mapLimit(rawImages, this.options.concurrency, (raw) => this.layersOf(raw));
    const images = rawImages.flatMap((raw, i) => {
      const chains = chainLists[i];
      return chains === undefined ? [] : [mapImage(raw, chains.map((chain) => ({ chain, size: this.cache.chainSize.get(chain)?.size ?? 0 })))];
    });
    // Only stopped containers can be removed, so only they need their finish time.
    const now = Date.now();
    const containers = await mapLimit(rawContainers, this.options.concurrency, async (raw) => {
      if (!needs.containerDetails || raw.State === 'running') return mapContainer(raw, undefined);
      const details = this.cachedDetails(raw, now) ?? (await this.containerDetails(raw.Id, raw.State));
      if (details === 'failed') return { ...mapContainer(raw, undefined), state: 'unknown' };
      return details === undefined ? undefined : mapContainer(raw, details);
    });
    this.forgetGone(rawContainers);
    const volumes = (rawVolumes.Volumes ?? []).map(mapVolume);
    const listed = new Set(rawImages.map((i) => i.Id));
    // Containers whose image was deleted by force still hold its layers; if we saw that image
    // before, we know which. (One never seen is unknown: its layers may be counted as freed.)
    const ghostLayers: Record<string, readonly string[]> = {};
    for (const c of rawContainers) {
      const chains = listed.has(c.ImageID) ? undefined : this.cache.layersById.get(c.ImageID);
      if (chains) ghostLayers[c.Id] = chains;
    }
    this.forgetImages(listed, rawContainers);
    return {
      images,
      containers: containers.filter((c) => c !== undefined),
      volumes,
      ghostLayers,
      serviceImages,
      ...(rawNetworks ? { networks: rawNetworks.map(mapNetwork) } : {}),
      ...(df ? { buildCache: (df.BuildCache ?? []).map(mapBuildCache) } : {}),
    };
  }

  async ping(signal?: AbortSignal): Promise<void> {
    // @types/dockerode types ping() without options; dockerode passes abortSignal through.
    const ping = this.docker.ping.bind(this.docker) as unknown as (opts: { abortSignal?: AbortSignal }) => Promise<unknown>;
    await this.call(() => ping(signal ? { abortSignal: signal } : {}));
  }

  layerSize(chain: string): number | undefined {
    return this.cache.chainSize.get(chain)?.size;
  }

  async measureContainers(ids: readonly string[]): Promise<Map<string, ContainerMeasure>> {
    // Those that never ran: one list call for all of them (see created-sizes.ts).
    const { measured: sizes, rest } = await measureCreated(ids, this.cache.details, () => this.call(() => this.docker.listContainers({ all: true, size: true, filters: { status: ['created'] } }) as Promise<SizedContainerInfo[]>));
    await mapLimit(rest, this.options.concurrency, async (id) => {
      // @types/dockerode knows neither the `size` option nor the `SizeRw` it adds.
      type Info = { SizeRw?: number; State?: { Status?: string; FinishedAt?: string; ExitCode?: number }; Config?: { Image?: string } };
      const inspect = this.docker.getContainer(id).inspect as unknown as (o: { size: boolean }) => Promise<Info>;
      const info = await this.tolerant(() => inspect.call(this.docker.getContainer(id), { size: true }));
      if (info === 'failed') {
        // One container the engine cannot inspect must not stop every other removal: it is
        // reported in a state nothing removes, so it stays, and its image and volumes with it.
        sizes.set(id, { sizeRw: 0, state: 'unknown', finishedAt: undefined, exitCode: undefined });
        return;
      }
      if (!info) return;
      const details = mapDetails(info.State, info.Config);
      this.cache.details.set(id, { state: info.State?.Status ?? '', details });
      // The engine omits SizeRw when it is 0 (API 1.41).
      sizes.set(id, { sizeRw: info.SizeRw ?? 0, state: info.State?.Status ?? 'unknown', ...details });
    });
    return sizes;
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

  async imageInUse(id: string): Promise<boolean> {
    const users = await this.call(() => this.docker.listContainers({ all: true, limit: 1, filters: { ancestor: [id] } }));
    return users.length > 0;
  }

  removeContainer(id: string): Promise<RemovalOutcome> {
    // No force: a container that was started since the plan makes the engine answer 409.
    // No `v`: anonymous volumes are planned and removed as volumes, so they are counted.
    return this.removal(async () => {
      await this.docker.getContainer(id).remove({ force: false, v: false });
      return [id];
    });
  }

  untagImage(reference: string): Promise<RemovalOutcome> {
    return this.removal(async () => deletedIds(await this.docker.getImage(reference).remove({ force: false, noprune: true })));
  }

  deleteImage(id: string): Promise<RemovalOutcome> {
    // Never force: with force the engine deletes an image a stopped container still uses and
    // its layers stay on disk as a ghost, or only untags it if the container runs. Always
    // noprune: the engine would otherwise decide which parents to delete at deletion time,
    // after our checks; the planner plans those parents as deletions of their own.
    return this.removal(async () => deletedIds(await this.docker.getImage(id).remove({ force: false, noprune: true })));
  }

  async imageRefs(id: string): Promise<{ tags: string[]; digests: string[] } | undefined> {
    const info = await this.optional(() => this.docker.getImage(id).inspect());
    if (!info) return undefined;
    return { tags: (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), digests: (info.RepoDigests ?? []).filter((d) => d !== '<none>@<none>') };
  }

  async imageIdOf(reference: string): Promise<string | undefined> {
    return (await this.optional(() => this.docker.getImage(reference).inspect()))?.Id;
  }

  removeVolume(name: string): Promise<RemovalOutcome> {
    return this.removal(async () => {
      await this.docker.getVolume(name).remove();
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
    return saveImageTo(this.docker, id, tags, path, (fn) => this.call(fn), async () => (await this.imageRefs(id)) === undefined);
  }

  private async layersOf(raw: Docker.ImageInfo): Promise<readonly string[] | undefined> {
    const cached = this.cache.layersById.get(raw.Id);
    if (cached) return cached;
    const image = this.docker.getImage(raw.Id);
    const info = await this.optional(() => image.inspect());
    const history = await this.optional(() => image.history() as Promise<Array<{ CreatedBy?: string; Size: number }>>);
    if (!info || !history) return undefined; // removed since the listing
    const exactSize = (chain: string) => {
      const known = this.cache.chainSize.get(chain);
      return known?.exact ? known.size : undefined;
    };
    const { layers, exact } = layerSizes(info.RootFS?.Layers ?? [], history, info.Size, exactSize);
    for (const l of layers) {
      const had = this.cache.chainSize.get(l.chain);
      if (!had || (exact && !had.exact)) this.cache.chainSize.set(l.chain, { size: l.size, exact });
    }
    const chains = layers.map((l) => l.chain);
    this.cache.layersById.set(raw.Id, chains);
    return chains;
  }

  /**
   * Drops cached layers of images that are gone and that no container still holds, so the
   * cache follows the engine instead of growing on a host that builds all day. Sizes of
   * layers just deleted stay until the next snapshot, for the report of the cycle that
   * deleted them.
   */
  private forgetImages(listed: ReadonlySet<string>, containers: readonly Docker.ContainerInfo[]): void {
    const held = new Set(containers.map((c) => c.ImageID));
    for (const id of this.cache.layersById.keys()) if (!listed.has(id) && !held.has(id)) this.cache.layersById.delete(id);
    if (this.cache.chainSize.size <= 2 * this.cache.layersById.size + 1000) return;
    const live = new Set([...this.cache.layersById.values()].flat());
    for (const chain of this.cache.chainSize.keys()) if (!live.has(chain)) this.cache.chainSize.delete(chain);
  }

  /** Undefined when the container is gone; 'failed' when the engine would not say. */
  private async containerDetails(id: string, state: string): Promise<ContainerDetails | undefined | 'failed'> {
    const info = await this.tolerant(() => this.docker.getContainer(id).inspect());
    if (info === undefined || info === 'failed') return info;
    const details = mapDetails(info.State, info.Config);
    this.cache.details.set(id, { state, details });
    return details;
  }

  /**
   * A cached finish time is used only while the list still agrees with it: same state, same
   * exit code, and a status age ("Exited (0) 3 weeks ago") that fits. A container that ran
   * and stopped again since fails that check and is inspected afresh. Whatever a plan selects
   * is inspected again before removal anyway (measureContainers), so removal decisions never
   * rest on the cache.
   */
  private cachedDetails(raw: Docker.ContainerInfo, now: number): ContainerDetails | undefined {
    const cached = this.cache.details.get(raw.Id);
    if (!cached || cached.state !== raw.State) return undefined;
    const { finishedAt, exitCode } = cached.details;
    if (raw.State === 'created') return cached.details;
    if (statusExitCode(raw.Status) !== exitCode || finishedAt === undefined) return undefined;
    const age = statusAge(raw.Status);
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
   * Like `optional`, and any other failure but an unreachable engine comes back as 'failed',
   * for a per-object call whose failure must not end the cycle.
   */
  private async tolerant<T>(fn: () => Promise<T>): Promise<T | undefined | 'failed'> {
    try {
      return await this.optional(fn);
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'unreachable') throw err;
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
