// An in-memory engine for unit tests of the sweep. It follows the Engine API's rules that
// reclaimd relies on (checked against the real engine by test/contract/engine-contract.ts):
// 409 for images in use, with children or with several tags when deleted by ID; 409 for
// running containers and mounted volumes; 404 for what is gone; layers freed only when no
// image holds them; untagged parents auto-pruned unless noprune. Every call is recorded, and
// a hook runs before each removal so tests can stage races.
import type { ContainerMeasure, Engine, RemovalOutcome, SnapshotNeeds } from '../../src/engine/engine.js';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { EngineError } from '../../src/engine/errors.js';
import type {
  BuildCacheRecord,
  ContainerObj,
  ImageObj,
  NetworkObj,
  RegistryAnswer,
  Snapshot,
  VolumeObj,
} from '../../src/core/model/snapshot.js';
import type { BuildCachePrune } from '../../src/core/model/plan.js';
import { simulatePrune } from '../../src/core/planner/resources/build-cache.js';
import { PREDEFINED_NETWORKS, refersToNetwork } from '../../src/core/model/network-refs.js';
import { writeAtomically } from '../../src/engine/save-image.js';
import type { ImageStore } from '../../src/engine/client.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export class FakeEngine implements Engine {
  readonly apiVersion = '1.41';
  /**
   * `containerd`: like that store, a deletion answers only the image's ID, and imageDiskUsage
   * gives what the images' parts add up to (or what `diskUsage` says, to stage a measurement).
   */
  imageStore: ImageStore = 'classic';
  /** Repository digests (`repo@sha256:…`) their registries have; any other is not found. */
  readonly registry = new Set<string>();
  /** Overrides imageDiskUsage's answer: the engine's own figure, which tests can make differ from the parts'. */
  diskUsage: (() => number) | undefined;
  readonly images = new Map<string, Mutable<ImageObj>>();
  readonly containers = new Map<string, Mutable<ContainerObj>>();
  readonly volumes = new Map<string, Mutable<VolumeObj>>();
  /** The image references swarm services name, as a swarm manager reports them. */
  readonly serviceImages: Array<{ service: string; reference: string }> = [];
  readonly networks = new Map<string, NetworkObj>();
  /** BuildKit cache records; a prune removes them by BuildKit's rules (see plan-build-cache.ts). */
  buildCache: BuildCacheRecord[] = [];
  /** The engine's clock, which a build-cache prune's `until` counts from. */
  now: () => number = Date.now;
  /** Every call, in order: "snapshot", "removeContainer c1", "untag app:1", "deleteImage i1", … */
  readonly calls: string[] = [];
  /** Runs before each removal request is carried out; may change the state (a race). */
  beforeRemoval: ((call: string) => void) | undefined;
  /** While true, every call fails as an unreachable engine would. */
  unreachable = false;
  private readonly chainSizes = new Map<string, number>();

  constructor(state: Partial<Snapshot> = {}) {
    for (const i of state.images ?? []) this.addImage(i);
    for (const c of state.containers ?? []) this.containers.set(c.id, { ...c, volumes: [...c.volumes] });
    for (const v of state.volumes ?? []) this.volumes.set(v.name, { ...v });
    for (const s of state.serviceImages ?? []) this.serviceImages.push({ ...s });
    for (const n of state.networks ?? []) this.networks.set(n.id, n);
    this.buildCache = [...(state.buildCache ?? [])];
  }

  addImage(i: ImageObj): void {
    this.images.set(i.id, { ...i, tags: [...i.tags], digests: [...i.digests], layers: [...i.layers] });
  }

  async snapshot(needs: SnapshotNeeds): Promise<Snapshot> {
    this.enter('snapshot');
    const images = [...this.images.values()].map((i) => ({ ...i, tags: [...i.tags], digests: [...i.digests] }));
    for (const i of images) for (const l of i.layers) this.chainSizes.set(l.chain, l.size);
    // Like the real adapter, sizes that cost a disk walk are only known after measuring.
    return {
      images,
      containers: [...this.containers.values()].map((c) => ({ ...c, sizeRw: undefined })),
      volumes: [...this.volumes.values()].map((v) => ({ ...v, size: undefined })),
      serviceImages: needs.swarmServices === false ? [] : this.serviceImages.map((s) => ({ ...s })),
      ...(needs.networks === true ? { networks: [...this.networks.values()] } : {}),
      ...(needs.buildCache === true ? { buildCache: [...this.buildCache] } : {}),
    };
  }

  async measureContainers(ids: readonly string[]): Promise<Map<string, ContainerMeasure>> {
    this.enter('measureContainers');
    const out = new Map<string, ContainerMeasure>();
    for (const id of ids) {
      const c = this.containers.get(id);
      if (c) out.set(id, { sizeRw: c.sizeRw ?? 0, state: c.state, finishedAt: c.finishedAt, exitCode: c.exitCode });
    }
    return out;
  }

  async measureVolumes(): Promise<Map<string, number>> {
    this.enter('measureVolumes');
    return new Map([...this.volumes.values()].map((v) => [v.name, v.size ?? 0]));
  }

  layerSize(chain: string): number | undefined {
    return this.chainSizes.get(chain);
  }

  async imageDiskUsage(): Promise<number> {
    this.enter('imageDiskUsage');
    if (this.diskUsage) return this.diskUsage();
    const sizes = new Map<string, number>();
    for (const i of this.images.values()) for (const l of i.layers) sizes.set(l.chain, l.size);
    return [...sizes.values()].reduce((a, b) => a + b, 0);
  }

  async imageInUse(id: string): Promise<boolean> {
    this.enter(`imageInUse ${id}`);
    return [...this.containers.values()].some((c) => c.imageId === id);
  }

  async removeContainer(id: string): Promise<RemovalOutcome> {
    return this.removal(`removeContainer ${id}`, () => {
      const c = this.containers.get(id);
      if (!c) return gone(`No such container: ${id}`);
      if (['running', 'paused', 'restarting'].includes(c.state))
        return conflict('You cannot remove a running container');
      this.containers.delete(id);
      return { ok: true, deleted: [id] };
    });
  }

  async untagImage(reference: string): Promise<RemovalOutcome> {
    return this.removal(`untag ${reference}`, () => {
      const image = [...this.images.values()].find((i) => i.tags.includes(reference));
      if (!image) return gone(`No such image: ${reference}`);
      if (image.tags.length > 1) {
        image.tags = image.tags.filter((t) => t !== reference);
        return { ok: true, deleted: [] };
      }
      if (this.usedBy(image.id)) return conflict(`unable to remove repository reference "${reference}" (must force)`);
      image.tags = [];
      // The last reference: the engine then deletes the image too, quietly keeping it if it has children.
      return this.hasChildren(image.id)
        ? { ok: true, deleted: [] }
        : { ok: true, deleted: this.deleteNow(image.id, false) };
    });
  }

  async imageRefs(id: string): Promise<{ tags: string[]; digests: string[] } | undefined> {
    this.enter(`imageRefs ${id}`);
    const image = this.images.get(id);
    return image ? { tags: [...image.tags], digests: [...image.digests] } : undefined;
  }

  async registryHas(reference: string): Promise<RegistryAnswer> {
    this.enter(`registryHas ${reference}`);
    return this.registry.has(reference) ? { found: true } : { found: false, detail: 'manifest unknown' };
  }

  async imageIdOf(reference: string): Promise<string | undefined> {
    this.enter(`imageIdOf ${reference}`);
    return [...this.images.values()].find((i) => i.tags.includes(reference))?.id;
  }

  /** Like the adapter, always with noprune: the engine prunes no parent on its own. */
  async deleteImage(id: string): Promise<RemovalOutcome> {
    return this.removal(`deleteImage ${id}`, () => {
      const image = this.images.get(id);
      if (!image) return gone(`No such image: ${id}`);
      if (this.hasChildren(id)) return conflict('image has dependent child images (cannot be forced)');
      const user = this.usedBy(id);
      if (user)
        return conflict(
          `image is being used by ${user.state === 'running' ? 'running' : 'stopped'} container ${user.id}`,
        );
      if (image.tags.length > 1) return conflict('image is referenced in multiple repositories (must be forced)');
      return { ok: true, deleted: this.deleteNow(id, false) };
    });
  }

  async removeVolume(name: string): Promise<RemovalOutcome> {
    return this.removal(`removeVolume ${name}`, () => {
      if (!this.volumes.has(name)) return gone(`no such volume: ${name}`);
      const user = [...this.containers.values()].find((c) => c.volumes.includes(name));
      if (user) return conflict(`volume is in use - [${user.id}]`);
      this.volumes.delete(name);
      return { ok: true, deleted: [name] };
    });
  }

  async networkInUse(id: string, name: string): Promise<boolean> {
    this.enter(`networkInUse ${id}`);
    return [...this.containers.values()].some((c) => (c.networks ?? []).some((r) => refersToNetwork(r, { id, name })));
  }

  /** Like the engine: running endpoints block (403 → conflict); stopped containers do not. */
  async removeNetwork(id: string): Promise<RemovalOutcome> {
    return this.removal(`removeNetwork ${id}`, () => {
      const n = this.networks.get(id);
      if (!n) return gone(`network ${id} not found`);
      if (PREDEFINED_NETWORKS.has(n.name))
        return { ok: false, kind: 'failed', message: `${n.name} is a pre-defined network and cannot be removed` };
      const running = [...this.containers.values()].find(
        (c) => c.state === 'running' && (c.networks ?? []).some((r) => r === n.name || r === n.id),
      );
      if (running) return conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
      this.networks.delete(id);
      return { ok: true, deleted: [id] };
    });
  }

  async pruneBuildCache(prune: BuildCachePrune): Promise<RemovalOutcome> {
    return this.removal(
      `pruneBuildCache${prune.until ? ` until=${prune.until}` : ''}${prune.keepStorage !== undefined ? ` keep=${prune.keepStorage}` : ''}${prune.all ? ' all' : ''}`,
      () => {
        const until = prune.until === undefined ? undefined : Number(prune.until.replace(/s$/, '')) * 1000;
        const removed = simulatePrune(
          this.buildCache,
          { unusedFor: until, keepStorage: prune.keepStorage, all: prune.all },
          this.now(),
        );
        const gone = new Set(removed.map((r) => r.id));
        this.buildCache = this.buildCache.filter((r) => !gone.has(r.id));
        return { ok: true, deleted: removed.map((r) => r.id), bytes: removed.reduce((s, r) => s + r.size, 0) };
      },
    );
  }

  /**
   * Writes a small but real tar in `docker save` layout (manifest.json naming the image config
   * by ID, with its tags) through the same atomic writer the adapter uses, so missing or
   * unwritable directories fail exactly as they do for real.
   */
  async saveImage(id: string, tags: readonly string[], path: string): Promise<number> {
    this.enter(`saveImage ${id}`);
    const image = this.images.get(id);
    if (!image) throw new EngineError('gone', `reference does not exist: ${id}`, 404);
    const hex = id.replace(/^sha256:/, '');
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    const drained = (async () => {
      for await (const chunk of pack) chunks.push(chunk as Buffer);
    })();
    pack.entry(
      { name: `${hex}.json` },
      JSON.stringify({ created: new Date(image.created ?? 0).toISOString(), config: { Labels: image.labels } }),
    );
    pack.entry(
      { name: 'manifest.json' },
      JSON.stringify([{ Config: `${hex}.json`, RepoTags: tags.length > 0 ? [...tags] : null, Layers: [] }]),
    );
    // The containerd image store writes an OCI layout, whose index names the image (its manifest) by ID.
    if (this.imageStore === 'containerd')
      pack.entry({ name: 'index.json' }, JSON.stringify({ schemaVersion: 2, manifests: [{ digest: id }] }));
    pack.finalize();
    await drained;
    if (this.breakSaveStream) {
      // The engine going away half-way: some bytes, then an error.
      const broken = Readable.from(
        (async function* () {
          yield Buffer.alloc(512);
          throw new Error('aborted');
        })(),
      );
      return writeAtomically(broken, path);
    }
    return writeAtomically(Readable.from([Buffer.concat(chunks)]), path);
  }

  /** While true, saveImage streams break off half-way. */
  breakSaveStream = false;

  private deleteNow(id: string, prune: boolean): string[] {
    const deleted: string[] = [];
    let current: string | undefined = id;
    while (current !== undefined) {
      const image = this.images.get(current) as Mutable<ImageObj>;
      this.images.delete(current);
      deleted.push(current);
      // The containerd image store names only the image it deleted.
      if (this.imageStore === 'classic')
        for (const l of image.layers)
          if (![...this.images.values()].some((i) => i.layers.some((x) => x.chain === l.chain))) deleted.push(l.chain);
      const parent = image.parentId === undefined ? undefined : this.images.get(image.parentId);
      const prunable =
        prune &&
        parent &&
        parent.tags.length === 0 &&
        parent.digests.length === 0 &&
        !this.usedBy(parent.id) &&
        !this.hasChildren(parent.id);
      current = prunable ? parent.id : undefined;
    }
    return [...new Set(deleted)];
  }

  private usedBy(imageId: string): ContainerObj | undefined {
    return [...this.containers.values()].find((c) => c.imageId === imageId);
  }

  private hasChildren(id: string): boolean {
    return [...this.images.values()].some((i) => i.parentId === id);
  }

  private enter(call: string): void {
    this.calls.push(call);
    if (this.unreachable)
      throw new EngineError('unreachable', 'ECONNREFUSED: connect ECONNREFUSED /fake.sock', undefined);
  }

  private removal(call: string, act: () => RemovalOutcome): RemovalOutcome {
    this.calls.push(call);
    if (this.unreachable) return { ok: false, kind: 'unreachable', message: 'ECONNREFUSED' };
    this.beforeRemoval?.(call);
    return act();
  }
}

const gone = (message: string): RemovalOutcome => ({ ok: false, kind: 'gone', message });
const conflict = (message: string): RemovalOutcome => ({ ok: false, kind: 'conflict', message });
