// Identical engine state for every measured removal, without building it again: the fixture is
// built once, the engine halted, and its data root copied aside. Before each run the engine is
// halted again, the data root replaced by a fresh copy of that one, and the engine started on
// it. With the containerd image store, dockerd's own containerd keeps its content and snapshots
// under the data root too (`containerd/daemon`), so the copy holds both stores. A restore is
// checked: every object of the fixture must be listed again and the services running. Where it
// is not, the engine is started on an empty data root and the fixture built again instead.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { ThrowawayEngine } from '../test/support/throwaway-engine.js';
import { BENCH_LABEL } from './fixture.js';
import { buildBuildHost, type BuildHost } from './build-host.js';

/** How each run's state was made: a copy of the golden data root, or the fixture built again. */
export type Preparation = 'restore' | 'rebuild';

export interface Golden {
  /** Puts the engine back into the fixture's state and leaves it running, settled. */
  prepare(): Promise<void>;
  readonly method: () => Preparation;
  /** Why restoring was given up, if it was. */
  readonly fallbackReason: () => string | undefined;
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** How many of the fixture's objects the engine lists, and how many of its containers run. */
export async function fixtureCounts(
  docker: Docker,
  run: string,
): Promise<{ images: number; containers: number; volumes: number; running: number }> {
  const filters = { label: [`${BENCH_LABEL}=${run}`] };
  const [images, containers, volumes] = await Promise.all([
    docker.listImages({ filters }),
    docker.listContainers({ all: true, filters }),
    docker.listVolumes({ filters }),
  ]);
  return {
    images: images.length,
    containers: containers.length,
    volumes: volumes.Volumes?.length ?? 0,
    running: containers.filter((c) => c.State === 'running').length,
  };
}

/** Waits until the services run again (the engine restarts them: `RestartPolicy: always`). */
async function servicesRunning(docker: Docker, run: string, services: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { running } = await fixtureCounts(docker, run);
    if (running >= services) return;
    if (Date.now() > deadline) throw new Error(`only ${running} of ${services} services running after a restore`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes dirty pages back and leaves the engine idle for a moment before a measured removal. */
export async function settle(): Promise<void> {
  try {
    execFileSync('sync');
  } catch {
    // Not everywhere; the pause alone still helps.
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
}

/**
 * Halts the engine and copies its data root aside (`cp -a`: owners, modes, xattrs, device
 * nodes for overlay whiteouts). The engine stays halted until the first `prepare`.
 */
export async function makeGolden(
  engine: ThrowawayEngine,
  docker: Docker,
  fixture: BuildHost,
  seed: number,
  run: string,
  say: (msg: string) => void,
): Promise<Golden> {
  const golden = join(dirname(engine.dataRoot), 'golden');
  const expected = {
    images: fixture.images,
    containers: fixture.containers.exited + fixture.containers.running,
    volumes: fixture.volumes.named,
    running: fixture.containers.running,
  };
  await engine.halt();
  let running = false;
  sh('cp', ['-a', engine.dataRoot, golden]);
  let method: Preparation = 'restore';
  let reason: string | undefined;

  const restore = async () => {
    if (running) await engine.halt();
    running = false;
    sh('rm', ['-rf', engine.dataRoot]);
    sh('cp', ['-a', golden, engine.dataRoot]);
    await engine.resume();
    running = true;
    await servicesRunning(docker, run, expected.running);
    const counts = await fixtureCounts(docker, run);
    if (JSON.stringify(counts) !== JSON.stringify(expected))
      throw new Error(`after a restore the engine lists ${JSON.stringify(counts)}, not ${JSON.stringify(expected)}`);
  };
  const rebuild = async () => {
    if (running) await engine.halt();
    running = false;
    sh('rm', ['-rf', engine.dataRoot]);
    await engine.resume();
    running = true;
    await buildBuildHost(docker, fixture.scale, seed, run);
  };
  return {
    prepare: async () => {
      if (method === 'restore') {
        try {
          await restore();
        } catch (err) {
          method = 'rebuild';
          reason = (err as Error).message;
          say(`restoring the data root failed (${reason}); building the fixture before every run instead`);
        }
      }
      if (method === 'rebuild') await rebuild();
      await settle();
    },
    method: () => method,
    fallbackReason: () => reason,
  };
}
