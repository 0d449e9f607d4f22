// Identical engine state for every measured removal, without building it again: the fixture is
// built once, the engine halted, and its data root copied aside. Before each run the engine is
// halted again, the data root replaced by a fresh copy of that one, and the engine started on
// it. With the containerd image store, dockerd's own containerd keeps its content and snapshots
// under the data root too (`containerd/daemon`), so the copy holds both stores. A restore is
// checked: every object of the fixture must be listed again and the services running. Where it
// is not, the engine is started on an empty data root and the fixture built again instead.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
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

/**
 * After a halt, clears what a dockerd that had to be killed leaves behind: at 5,000 containers
 * its shutdown can outlast the halt's grace period. Its overlay mounts under the data root
 * would make the `rm` of the data root fail, and its containerd's pid file made the next
 * dockerd on the directory wait for a containerd that is gone (see throwaway-engine.ts). After
 * a clean stop there is neither, and this does nothing.
 */
function clearAfterHalt(dataRoot: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((point) => point === dataRoot || point.startsWith(`${dataRoot}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    try {
      sh('umount', ['-l', point]);
    } catch {
      // Gone meanwhile; the rm says if anything is still held.
    }
  }
  rmSync(join(dirname(dataRoot), 'exec', 'containerd', 'containerd.pid'), { force: true });
}

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
  clearAfterHalt(engine.dataRoot);
  let running = false;
  sh('cp', ['-a', engine.dataRoot, golden]);
  let method: Preparation = 'restore';
  let reason: string | undefined;

  const restore = async () => {
    if (running) await engine.halt();
    clearAfterHalt(engine.dataRoot);
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
    clearAfterHalt(engine.dataRoot);
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
