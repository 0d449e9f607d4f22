// The engine contract against the real adapter on the throwaway engine.
import { describe, inject } from 'vitest';
import { connect } from '../../src/engine/client.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import { engineContract, LAYER_SIZES, type ContractWorld } from '../contract/engine-contract.js';
import {
  cleanupRun,
  createContainer,
  createNetwork,
  createVolume,
  dockerFor,
  newRunId,
  TEST_LABEL,
} from '../support/fixtures.js';
import { busyboxLayer, loadImage, type LayerSpec } from '../support/image-archive.js';

const host = inject('dockerHost');

function layer(name: string): LayerSpec {
  return { files: [{ path: `layer-${name}`, size: LAYER_SIZES[name] as number }] };
}

async function realWorld(): Promise<ContractWorld> {
  const docker = dockerFor(host);
  const run = newRunId();
  const engine = new EngineAdapter(await connect(host));
  let n = 0;
  return {
    engine,
    async image({ tags, layers, runnable }) {
      const specs = [...(runnable ? [busyboxLayer()] : []), ...layers.map(layer)];
      return loadImage(docker, {
        tags,
        created: new Date(Date.UTC(2024, 0, 1, 0, 0, ++n)),
        labels: { [TEST_LABEL]: run },
        layers: specs,
      });
    },
    async container({ image, running, volume, network }) {
      return createContainer(docker, {
        image,
        runId: run,
        cmd: running ? ['sleep', '300'] : ['true'],
        ...(running ? { start: true } : { waitExit: true }),
        ...(volume ? { binds: [`${volume}:/v`] } : {}),
        ...(network ? { network } : {}),
      });
    },
    network: () => createNetwork(docker, { runId: run }),
    async networkExists(id) {
      return (await docker.listNetworks({ filters: { id: [id] } })).some((n) => n.Id === id);
    },
    volume: () => createVolume(docker, { runId: run }),
    async tagsOf(id) {
      try {
        const info = await docker.getImage(id).inspect();
        return info.RepoTags;
      } catch {
        return undefined;
      }
    },
    async containerExists(id) {
      return (await docker.listContainers({ all: true, filters: { id: [id] } })).length > 0;
    },
    async volumeExists(name) {
      return ((await docker.listVolumes({ filters: { name: [name] } })).Volumes ?? []).some((v) => v.Name === name);
    },
    dispose: () => cleanupRun(docker, run),
  };
}

describe('engine contract: real engine', () => {
  engineContract(realWorld);
});
