// The removal benchmark's fixture: engine state as a CI runner or build host leaves it. Most
// of what goes is images (a build's layers on a shared base, several tags, dangling ones left
// by rebuilt tags) and containers that really ran and exited (their writable layers hold what
// they wrote, every tenth wrote into a named volume); named volumes besides. A few services
// keep running, with their image and volume, and must survive either side. Images come from
// hand-made archives, so no registry is needed and the same seed gives the same state.
// Everything is labelled reclaimd-bench=<run>.
import type Docker from 'dockerode';
import { busyboxLayer, loadImages, type ImageSpec, type LayerSpec } from '../test/support/image-archive.js';
import { mapLimit } from '../src/lib/pool.js';
import { BENCH_LABEL, rng } from './fixture.js';

export interface BuildHost {
  readonly scale: number;
  readonly images: number;
  readonly dangling: number;
  /** Exited containers that ran, and the running services left alone. */
  readonly containers: { readonly exited: number; readonly running: number };
  readonly volumes: { readonly named: number; readonly written: number; readonly inUse: number };
  /**
   * Every unused object: what `docker system prune -af --volumes` removes of it (from API 1.42,
   * with `docker volume prune -af` for the named volumes), and so what reclaimd's equivalent
   * policies must.
   */
  readonly removable: { readonly container: number; readonly image: number; readonly volume: number };
  /** The services' image (a tag) and volumes, which every side must leave alone. */
  readonly keep: { readonly image: string; readonly volumes: readonly string[] };
  readonly seconds: number;
}

const DAY = 86_400_000;

/** Builds `scale` images, `scale` exited containers and `scale` named volumes, plus the services that keep running. */
export async function buildBuildHost(docker: Docker, scale: number, seed: number, run: string): Promise<BuildHost> {
  const started = Date.now();
  const rand = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const labels = { [BENCH_LABEL]: run };
  // Every image runs: busybox at the bottom, then a base, a runtime, and the build's own layer.
  const busybox = busyboxLayer();
  const bases: LayerSpec[] = [0, 1, 2].map((i) => ({ files: [{ path: `base/${i}`, size: 300_000 }] }));
  const runtimes: LayerSpec[] = [0, 1, 2, 3, 4].map((i) => ({ files: [{ path: `runtime/${i}`, size: 100_000 }] }));
  const now = Date.parse('2026-11-01T00:00:00Z');
  const services = Math.min(20, Math.max(2, Math.floor(scale * 0.02)));
  const specs: ImageSpec[] = [
    {
      tags: [`bench${run}/service:live`],
      created: new Date(now - DAY),
      labels,
      layers: [busybox, bases[0] as LayerSpec],
    },
  ];
  let dangling = 0;
  for (let i = 0; i < scale; i++) {
    const repo = `bench${run}/app-${Math.floor(rand() * 20)}`;
    const isDangling = rand() < 0.1;
    if (isDangling) dangling++;
    const tagCount = 1 + Math.floor(rand() * 3);
    specs.push({
      tags: isDangling ? [] : Array.from({ length: tagCount }, (_, t) => `${repo}:b${i}-${t}`),
      created: new Date(now - Math.floor(rand() * 730) * DAY),
      labels: { ...labels, 'bench.index': String(i) },
      layers: [
        busybox,
        pick(bases),
        pick(runtimes),
        { files: [{ path: `app/${i}`, size: 2000 + Math.floor(rand() * 14_000) }] },
      ],
    });
  }
  const ids: string[] = [];
  for (let i = 0; i < specs.length; i += 500) ids.push(...(await loadImages(docker, specs.slice(i, i + 500))));
  const serviceImage = ids[0] as string;
  const builds = ids.slice(1);

  const volumes = await mapLimit(
    Array.from({ length: scale + services }, (_, i) => i),
    8,
    async (i) => (await docker.createVolume({ Name: `bench${run}-vol-${i}`, Labels: labels })).name,
  );
  // The services: running, each with a volume of its own (the last `services` volumes).
  await mapLimit(
    Array.from({ length: services }, (_, i) => i),
    4,
    async (i) => {
      const c = await docker.createContainer({
        Image: serviceImage,
        Cmd: ['sleep', '3600'],
        Labels: labels,
        // Restarted by the engine when it starts again on a restored data root (see golden.ts).
        HostConfig: { NetworkMode: 'none', Binds: [`${volumes[scale + i]}:/v`], RestartPolicy: { Name: 'always' } },
      });
      await c.start();
    },
  );
  // The builds' containers: each ran its image, wrote 10 kB into its writable layer (every
  // tenth also into a volume), and exited, one in ten with a failure.
  let written = 0;
  await mapLimit(
    Array.from({ length: scale }, (_, i) => i),
    8,
    async (i) => {
      const volume = i % 10 === 0 ? volumes[i] : undefined;
      if (volume) written++;
      const write = 'dd if=/dev/zero of=/out bs=1000 count=10 2>/dev/null';
      const c = await docker.createContainer({
        Image: builds[i % builds.length] as string,
        Cmd: [
          'sh',
          '-c',
          `${write}${volume ? ' && dd if=/dev/zero of=/v/out bs=1000 count=10 2>/dev/null' : ''}; exit ${i % 10 === 5 ? 1 : 0}`,
        ],
        Labels: labels,
        HostConfig: { NetworkMode: 'none', ...(volume ? { Binds: [`${volume}:/v`] } : {}) },
      });
      await c.start();
      await c.wait();
    },
  );
  return {
    scale,
    images: specs.length,
    dangling,
    containers: { exited: scale, running: services },
    volumes: { named: volumes.length, written, inUse: services },
    removable: { container: scale, image: scale, volume: scale },
    keep: { image: `bench${run}/service:live`, volumes: volumes.slice(scale) },
    seconds: (Date.now() - started) / 1000,
  };
}
