// The accounting promise, checked the same way on every engine: bytes predicted by `plan` ==
// bytes reported by `once` == the drop in the engine's own disk usage (`/system/df`
// LayersSize). Where the containerd image store makes the prediction an estimate (layer blobs
// shared between images, image-parts.ts), the drop must lie in the range the plan gave and the
// estimate within ESTIMATE_TOLERANCE of it; the report is still the drop, to the byte. Each
// check prints its three figures, so a run's output shows them side by side per engine.
import { statfsSync } from 'node:fs';
import { expect, inject } from 'vitest';
import type Docker from 'dockerode';

/** How far an estimate may be off the engine's figure, as a fraction of it: what the README promises. */
export const ESTIMATE_TOLERANCE = 0.01;

/** LayersSize: on the classic store the image layers, on the containerd image store snapshots and content. */
export async function layersSize(docker: Docker): Promise<number> {
  return ((await docker.df()) as { LayersSize: number }).LayersSize;
}

export interface Figures {
  /** `plan`'s total (or one action's) bytes, and the range when they are an estimate. */
  readonly predicted: number;
  readonly range?: { readonly low: number; readonly high: number } | undefined;
  /** What `once` reported freed. */
  readonly reported: number;
  /** What the engine's LayersSize fell by. */
  readonly engine: number;
}

/**
 * Checks the promise for one case. `classic` is the exact figure the case frees on the classic
 * store, known from its fixtures (e.g. three layers of 200, 300 and 400 kB).
 */
export function expectAccounting(name: string, f: Figures, classic?: number): void {
  const engine = inject('engineVariant');
  const store = inject('containerdStore') ? 'containerd' : 'classic';
  const range = f.range ? ` (range ${f.range.low}-${f.range.high})` : '';
  process.stdout.write(
    `accounting ${engine} ${name}: predicted ${f.predicted}${range}, reported ${f.reported}, engine ${f.engine}\n`,
  );
  expect(f.reported, `${name}: reported == engine`).toBe(f.engine);
  if (store === 'classic') {
    expect(f.range, `${name}: no estimate on the classic store`).toBeUndefined();
    if (classic !== undefined) expect(f.predicted).toBe(classic);
  }
  if (f.range === undefined) {
    expect(f.predicted, `${name}: predicted == engine`).toBe(f.engine);
    return;
  }
  expect(f.engine).toBeGreaterThanOrEqual(f.range.low);
  expect(f.engine).toBeLessThanOrEqual(f.range.high);
  expect(
    Math.abs(f.predicted - f.engine),
    `${name}: the estimate within ${ESTIMATE_TOLERANCE * 100}% of the engine's figure`,
  ).toBeLessThanOrEqual(f.engine * ESTIMATE_TOLERANCE);
}

/**
 * The size the engine gives a container's writable layer holding one file of `bytes` at its
 * root: on the classic store the file's bytes; on the containerd image store (a snapshot's disk
 * usage) whole blocks of the file system, for the file and for the layer's root directory.
 */
export function writableLayerBytes(bytes: number): number {
  if (!inject('containerdStore')) return bytes;
  const block = statfsSync(inject('dataRoot')).bsize;
  return Math.ceil(bytes / block) * block + block;
}

/**
 * What removing a container frees, from what the engine says of it: its writable layer, and
 * on the containerd image store also the `-init` snapshot under it, which SizeRootFs counts
 * beyond the writable layer and the image's unpacked snapshots.
 */
export async function containerBytes(docker: Docker, id: string): Promise<number> {
  const info = (await docker
    .getContainer(id)
    .inspect({ size: true } as Docker.ContainerInspectOptions)) as Docker.ContainerInspectInfo & {
    SizeRw?: number;
    SizeRootFs?: number;
  };
  const rw = info.SizeRw ?? 0;
  if (!inject('containerdStore')) return rw;
  const listed = (await docker.listImages({ manifests: true } as Docker.ListImagesOptions)) as Array<{
    Id: string;
    Manifests?: Array<{ ImageData?: { Size?: { Unpacked?: number } } }>;
  }>;
  const unpacked =
    listed.find((i) => i.Id === info.Image)?.Manifests?.reduce((s, m) => s + (m.ImageData?.Size?.Unpacked ?? 0), 0) ??
    0;
  return (info.SizeRootFs ?? rw) - unpacked;
}

/**
 * What deleting an image that shares nothing with others frees: all the engine lists it as
 * (on the classic store its layers, on the containerd image store its content and snapshots).
 */
export async function unsharedImageBytes(docker: Docker, id: string): Promise<number> {
  const listed = await docker.listImages({ all: true });
  const size = listed.find((i) => i.Id === id)?.Size;
  if (size === undefined) throw new Error(`image ${id} is not listed`);
  return size;
}
