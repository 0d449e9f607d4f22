// Realistic engine state for the benchmark, built without a registry: images loaded from
// hand-made archives (shared base and runtime layers, unique top layers, several tags,
// creation dates over two years, dangling images), exited, created and running containers
// with writable-layer data, named and anonymous volumes with data, some of them in use.
// Everything is labelled reclaimd-bench=<run>; the same seed gives the same state.
import type Docker from 'dockerode';
import { busyboxLayer, loadImages, type ImageSpec, type LayerSpec } from '../test/support/image-archive.js';
import { mapLimit } from '../src/lib/pool.js';

export const BENCH_LABEL = 'reclaimd-bench';

export interface Fixture {
  readonly images: number;
  readonly dangling: number;
  readonly containers: { running: number; exited: number; created: number };
  readonly volumes: { named: number; anonymous: number; mounted: number; withData: number };
  readonly seconds: number;
}

/** mulberry32: a small seeded generator, so two runs with one seed build the same state. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;

export async function buildFixture(docker: Docker, scale: number, seed: number, run: string): Promise<Fixture> {
  const started = Date.now();
  const rand = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const labels = { [BENCH_LABEL]: run };
  const bases: LayerSpec[] = [0, 1, 2].map((i) => ({ files: [{ path: `base/${i}`, size: 300_000 }] }));
  const runtimes: LayerSpec[] = [0, 1, 2, 3, 4].map((i) => ({ files: [{ path: `runtime/${i}`, size: 100_000 }] }));
  const now = Date.parse('2026-11-01T00:00:00Z');

  // One runnable image for the containers that run or exit.
  const runner: ImageSpec = {
    tags: [`bench${run}/runner:1`],
    created: new Date(now - DAY),
    labels,
    layers: [busyboxLayer()],
  };
  const specs: ImageSpec[] = [runner];
  let dangling = 0;
  for (let i = 0; i < scale; i++) {
    const repo = `bench${run}/app-${Math.floor(rand() * 20)}`;
    const tagCount = 1 + Math.floor(rand() * 3);
    const isDangling = rand() < 0.1;
    if (isDangling) dangling++;
    const tags = isDangling ? [] : Array.from({ length: tagCount }, (_, t) => `${repo}:b${i}-${t}`);
    specs.push({
      tags,
      created: new Date(now - Math.floor(rand() * 730) * DAY),
      labels: { ...labels, 'bench.index': String(i) },
      layers: [
        pick(bases),
        pick(runtimes),
        { files: [{ path: `app/${i}`, size: 2000 + Math.floor(rand() * 14_000) }] },
      ],
    });
  }
  const ids: string[] = [];
  for (let i = 0; i < specs.length; i += 500) ids.push(...(await loadImages(docker, specs.slice(i, i + 500))));
  const runnerId = ids[0] as string;
  const tagged = ids.slice(1).filter((_, i) => (specs[i + 1]?.tags?.length ?? 0) > 0);

  // Volumes: half named, half anonymous (the engine names those).
  const volumeNames = await mapLimit(
    Array.from({ length: scale }, (_, i) => i),
    8,
    async (i) => {
      const named = i % 2 === 0;
      const v = await docker.createVolume({ ...(named ? { Name: `bench${run}-vol-${i}` } : {}), Labels: labels });
      return v.name;
    },
  );

  const running = Math.min(100, Math.max(2, Math.floor(scale * 0.02)));
  const exited = Math.floor(scale * 0.2);
  const created = scale - running - exited;
  const mounted = new Set<string>();
  const withData = new Set<string>();
  const plan = Array.from({ length: scale }, (_, i) =>
    i < running ? 'running' : i < running + exited ? 'exited' : 'created',
  );
  await mapLimit(
    plan.map((kind, i) => [kind, i] as const),
    8,
    async ([kind, i]) => {
      // Every tenth container mounts a volume; the exited ones write 10 kB into it.
      const volume = i % 10 === 0 ? volumeNames[i] : undefined;
      if (volume) mounted.add(volume);
      const image = kind === 'created' ? (tagged[i % tagged.length] as string) : runnerId;
      const cmd =
        kind === 'running'
          ? ['sleep', '3600']
          : [
              'sh',
              '-c',
              `dd if=/dev/zero of=/data bs=1000 count=10 2>/dev/null${volume ? ' && dd if=/dev/zero of=/v/data bs=1000 count=10 2>/dev/null' : ''}`,
            ];
      const c = await docker.createContainer({
        Image: image,
        Cmd: cmd,
        Labels: labels,
        HostConfig: { NetworkMode: 'none', ...(volume ? { Binds: [`${volume}:/v`] } : {}) },
      });
      if (kind !== 'created') await c.start();
      if (kind === 'exited') {
        await c.wait();
        if (volume) withData.add(volume);
      }
    },
  );
  // Volumes that only exited containers mounted keep their data and become unused once
  // those containers go; the ones created containers mount stay in use.
  return {
    images: specs.length,
    dangling,
    containers: { running, exited, created },
    volumes: {
      named: Math.ceil(scale / 2),
      anonymous: Math.floor(scale / 2),
      mounted: mounted.size,
      withData: withData.size,
    },
    seconds: (Date.now() - started) / 1000,
  };
}

/** Removes everything of the run (bench only: force is fine here), leaving the engine empty of it. */
export async function removeFixture(docker: Docker, run: string): Promise<void> {
  const filters = { label: [`${BENCH_LABEL}=${run}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await mapLimit(containers, 8, (c) =>
    docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined),
  );
  const images = await docker.listImages({ all: true, filters });
  await mapLimit(images, 8, (i) =>
    docker
      .getImage(i.Id)
      .remove({ force: true })
      .catch(() => undefined),
  );
  const { Volumes } = await docker.listVolumes({ filters });
  await mapLimit(Volumes ?? [], 8, (v) =>
    docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined),
  );
}
