// The engine behaviour reclaimd's safety rests on, as one suite run against both the real
// adapter on a throwaway engine (test/integration) and the fake engine (test/unit), so the fake
// used by the sweep's unit tests stays honest.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Engine, RemovalOutcome } from '../../src/engine/engine.js';
import { EngineError } from '../../src/engine/errors.js';

/** Named layers: the same name is the same content, so images share it. Sizes in bytes. */
export const LAYER_SIZES: Record<string, number> = { base: 100_000, a: 20_000, b: 30_000 };

export interface ContractWorld {
  readonly engine: Engine;
  image(spec: { tags: string[]; layers: string[]; runnable?: boolean }): Promise<string>;
  /** A container from `image`: running (sleeps) or exited; optionally mounting a volume or on a network. */
  container(spec: { image: string; running: boolean; volume?: string; network?: string }): Promise<string>;
  volume(): Promise<string>;
  /** A custom bridge network; returns its ID. */
  network(): Promise<string>;
  networkExists(id: string): Promise<boolean>;
  tagsOf(imageId: string): Promise<string[] | undefined>;
  containerExists(id: string): Promise<boolean>;
  volumeExists(name: string): Promise<boolean>;
  dispose(): Promise<void>;
}

export function engineContract(makeWorld: () => Promise<ContractWorld>): void {
  let w: ContractWorld;
  beforeEach(async () => {
    w = await makeWorld();
  });
  afterEach(async () => {
    await w.dispose();
  });

  const kind = (o: RemovalOutcome) => (o.ok ? 'ok' : o.kind);
  const freed = (o: RemovalOutcome) => (o.ok ? o.deleted.reduce((s, id) => s + (w.engine.layerSize(id) ?? 0), 0) : -1);
  /**
   * What a deletion's answer says it freed: on the classic store the layers (their sizes); the
   * containerd image store names only the image, whatever it freed (image-accounting.ts).
   */
  const expectFreed = (o: RemovalOutcome, id: string, bytes: number) => {
    if (w.engine.imageStore === 'classic') expect(freed(o)).toBe(bytes);
    else expect(o.ok && o.deleted).toEqual([id]);
  };

  it('refuses to delete an image a stopped or running container uses (409), and keeps it', async () => {
    const stopped = await w.image({ tags: ['contract/s:1'], layers: ['a'], runnable: true });
    const running = await w.image({ tags: ['contract/r:1'], layers: ['b'], runnable: true });
    await w.container({ image: stopped, running: false });
    await w.container({ image: running, running: true });
    expect(kind(await w.engine.deleteImage(stopped))).toBe('conflict');
    expect(kind(await w.engine.deleteImage(running))).toBe('conflict');
    expect(kind(await w.engine.untagImage('contract/s:1'))).toBe('conflict');
    expect(await w.tagsOf(stopped)).toEqual(['contract/s:1']);
    expect(await w.tagsOf(running)).toEqual(['contract/r:1']);
    expect(await w.engine.imageInUse(stopped)).toBe(true);
  });

  it('refuses to delete by ID an image with several tags; untagging one keeps the image', async () => {
    const id = await w.image({ tags: ['contract/t:1', 'contract/t:2'], layers: ['base', 'a'] });
    expect(kind(await w.engine.deleteImage(id))).toBe('conflict');
    expect(kind(await w.engine.untagImage('contract/t:1'))).toBe('ok');
    expect(await w.tagsOf(id)).toEqual(['contract/t:2']);
    expect(await w.engine.imageInUse(id)).toBe(false);
    await w.engine.snapshot({ containerDetails: false });
    const out = await w.engine.deleteImage(id);
    expect(kind(out)).toBe('ok');
    expectFreed(out, id, LAYER_SIZES['base']! + LAYER_SIZES['a']!);
    expect(await w.tagsOf(id)).toBeUndefined();
    expect(kind(await w.engine.deleteImage(id))).toBe('gone');
  });

  it('frees a shared layer only with its last holder', async () => {
    const a = await w.image({ tags: ['contract/a:1'], layers: ['base', 'a'] });
    const b = await w.image({ tags: ['contract/b:1'], layers: ['base', 'b'] });
    await w.engine.snapshot({ containerDetails: false });
    const first = await w.engine.deleteImage(a);
    expectFreed(first, a, LAYER_SIZES['a'] as number);
    const second = await w.engine.deleteImage(b);
    expectFreed(second, b, LAYER_SIZES['base']! + LAYER_SIZES['b']!);
    expect(first.ok && first.deleted.includes(a)).toBe(true);
  });

  it('refuses to remove a running container (409) but removes a stopped one; then 404', async () => {
    const image = await w.image({ tags: ['contract/c:1'], layers: ['a'], runnable: true });
    const running = await w.container({ image, running: true });
    const stopped = await w.container({ image, running: false });
    expect(kind(await w.engine.removeContainer(running))).toBe('conflict');
    expect(await w.containerExists(running)).toBe(true);
    expect(kind(await w.engine.removeContainer(stopped))).toBe('ok');
    expect(await w.containerExists(stopped)).toBe(false);
    expect(kind(await w.engine.removeContainer(stopped))).toBe('gone');
  });

  it('refuses to remove a volume any container mounts (409); removes it once unmounted; then 404', async () => {
    const image = await w.image({ tags: ['contract/v:1'], layers: ['a'], runnable: true });
    const volume = await w.volume();
    const user = await w.container({ image, running: false, volume });
    expect(kind(await w.engine.removeVolume(volume))).toBe('conflict');
    expect(await w.volumeExists(volume)).toBe(true);
    expect(kind(await w.engine.removeContainer(user))).toBe('ok');
    expect(kind(await w.engine.removeVolume(volume))).toBe('ok');
    expect(kind(await w.engine.removeVolume(volume))).toBe('gone');
  });

  it('refuses to remove a network a running container is on (conflict), but removes one only a stopped container refers to; then 404', async () => {
    const image = await w.image({ tags: ['contract/n:1'], layers: ['a'], runnable: true });
    const busy = await w.network();
    const stale = await w.network();
    await w.container({ image, running: true, network: busy });
    await w.container({ image, running: false, network: stale });
    expect(await w.engine.networkInUse(busy, busy)).toBe(true);
    expect(await w.engine.networkInUse(stale, stale)).toBe(true);
    expect(kind(await w.engine.removeNetwork(busy))).toBe('conflict');
    expect(await w.networkExists(busy)).toBe(true);
    // The engine does not protect a stopped container's network: the planner must (plan-networks.ts).
    expect(kind(await w.engine.removeNetwork(stale))).toBe('ok');
    expect(await w.networkExists(stale)).toBe(false);
    expect(kind(await w.engine.removeNetwork(stale))).toBe('gone');
    const unused = await w.network();
    expect(await w.engine.networkInUse(unused, unused)).toBe(false);
  });

  it('a build-cache prune that matches nothing removes nothing and reports 0 bytes', async () => {
    const out = await w.engine.pruneBuildCache({ until: '315360000s', all: false, records: [] });
    expect(out).toEqual({ ok: true, deleted: [], bytes: 0 });
  });
  it('saves an image in docker save layout under its ID and tags, atomically; a missing directory or a gone image writes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-contract-'));
    try {
      const id = await w.image({ tags: ['contract/save:1', 'contract/save:2'], layers: ['a'] });
      const file = path.join(dir, 'out.tar');
      const bytes = await w.engine.saveImage(id, ['contract/save:1', 'contract/save:2'], file);
      expect(readdirSync(dir)).toEqual(['out.tar']);
      expect(readFileSync(file).length).toBe(bytes);
      const entries = await tarEntries(readFileSync(file));
      const manifest = JSON.parse(entries.get('manifest.json') ?? 'null') as Array<{
        Config: string;
        RepoTags: string[] | null;
      }>;
      expect(manifest).toHaveLength(1);
      expect([...(manifest[0]?.RepoTags ?? [])].sort()).toEqual(['contract/save:1', 'contract/save:2']);
      // Under its ID: the classic store's is the config's digest; the containerd image store's
      // is the manifest's, which the OCI layout's index names.
      if (w.engine.imageStore === 'classic') expect(manifest[0]?.Config).toContain(id.replace(/^sha256:/, ''));
      else
        expect(
          (JSON.parse(entries.get('index.json') ?? '{}') as { manifests?: Array<{ digest: string }> }).manifests?.map(
            (m) => m.digest,
          ),
        ).toContain(id);

      await expect(w.engine.saveImage(id, [], path.join(dir, 'missing', 'out.tar'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
      expect(kind(await w.engine.untagImage('contract/save:1'))).toBe('ok');
      expect(kind(await w.engine.deleteImage(id))).toBe('ok');
      const gone = await w.engine.saveImage(id, [], path.join(dir, 'gone.tar')).catch((err: unknown) => err);
      expect(gone).toBeInstanceOf(EngineError);
      expect((gone as EngineError).kind).toBe('gone');
      expect(readdirSync(dir)).toEqual(['out.tar']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The files of a tar, by name, as text. */
async function tarEntries(archive: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks).toString());
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([archive]).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}
