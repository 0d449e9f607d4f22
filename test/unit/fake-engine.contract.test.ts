// The engine contract against the fake engine (the real one runs in test/integration).
import { describe } from 'vitest';
import { engineContract, LAYER_SIZES, type ContractWorld } from '../contract/engine-contract.js';
import { FakeEngine } from '../support/fake-engine.js';
import type { ImageStore } from '../../src/engine/client.js';

let n = 0;

function fakeWorld(store: ImageStore): Promise<ContractWorld> {
  const engine = new FakeEngine();
  engine.imageStore = store;
  const world: ContractWorld = {
    engine,
    async image({ tags, layers, runnable }) {
      const names = runnable ? ['busybox', ...layers] : layers;
      // Chain IDs name the whole stack below a layer, as the engine's do.
      const chains = names.map((_, i) => names.slice(0, i + 1).join('>'));
      const id = `sha256:img${++n}`;
      engine.addImage({
        id,
        parentId: undefined,
        tags,
        digests: [],
        created: 0,
        labels: {},
        size: 0,
        layers: chains.map((chain, i) => ({ chain, size: LAYER_SIZES[names[i] as string] ?? 1_982_291 })),
      });
      return id;
    },
    async container({ image, running, volume, network }) {
      const id = `c${++n}`;
      engine.containers.set(id, {
        id,
        name: id,
        image,
        imageId: image,
        state: running ? 'running' : 'exited',
        created: 0,
        finishedAt: 0,
        exitCode: 0,
        labels: {},
        sizeRw: 0,
        volumes: volume ? [volume] : [],
        ...(network ? { networks: [network] } : {}),
      });
      return id;
    },
    async network() {
      const id = `net${++n}`;
      engine.networks.set(id, {
        id,
        name: id,
        driver: 'bridge',
        scope: 'local',
        created: 0,
        labels: {},
        ingress: false,
        configOnly: false,
      });
      return id;
    },
    async networkExists(id) {
      return engine.networks.has(id);
    },
    async volume() {
      const name = `v${++n}`;
      engine.volumes.set(name, { name, driver: 'local', created: 0, labels: {}, size: 0 });
      return name;
    },
    async tagsOf(id) {
      return engine.images.get(id)?.tags;
    },
    async containerExists(id) {
      return engine.containers.has(id);
    },
    async volumeExists(name) {
      return engine.volumes.has(name);
    },
    async dispose() {},
  };
  return Promise.resolve(world);
}

describe('engine contract: fake engine, classic store', () => {
  engineContract(() => fakeWorld('classic'));
});

describe('engine contract: fake engine, containerd image store', () => {
  engineContract(() => fakeWorld('containerd'));
});
