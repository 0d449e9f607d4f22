// Hand-made images in `docker save` / `docker load` format, built entirely in memory.
//
// Tests need images whose sizes, layer sharing and creation dates are known exactly, and
// pulling from a registry would make them slow and dependent on the network. Every byte
// here is deterministic: identical layer specs produce byte-identical layer tars, so the
// engine gives them the same diffID and stores the layer only once, which is what lets
// tests reason about shared layers.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';

export interface FileSpec {
  path: string;
  size?: number;
  content?: Buffer | string;
  mode?: number;
  /** Byte used to fill `size` bytes; by default it is derived from the path so that different files differ. */
  fill?: number;
}
/** A symbolic link at `path` pointing at `target`. */
export interface LinkSpec {
  path: string;
  target: string;
}
export interface LayerSpec {
  files?: FileSpec[];
  symlinks?: LinkSpec[];
}
export interface ImageSpec {
  /** "repo:tag" references; empty or absent means the image is loaded untagged (dangling). */
  tags?: string[];
  created: Date;
  labels?: Record<string, string>;
  layers: LayerSpec[];
  cmd?: string[];
  env?: string[];
}

// A fixed mtime keeps the layer tars, and therefore their diffIDs, independent of the clock.
const EPOCH = new Date(0);

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Strips leading slashes and "./" so that "/bin/sh" and "bin/sh" name the same entry. */
function normalise(path: string): string {
  const clean = path.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
  if (clean === '' || clean.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new Error(`invalid path in layer spec: ${JSON.stringify(path)}`);
  }
  return clean;
}

function fileContent(file: FileSpec): Buffer {
  if (file.content !== undefined) {
    const content = Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content);
    if (file.size !== undefined && file.size !== content.length) {
      throw new Error(`${file.path}: size ${file.size} does not match content length ${content.length}`);
    }
    return content;
  }
  // Deriving the fill byte from the path makes two files of the same size different, so
  // they do not accidentally produce identical layers unless the whole spec is identical.
  const fill = file.fill ?? createHash('sha256').update(file.path).digest()[0] ?? 0;
  return Buffer.alloc(file.size ?? 0, fill);
}

/** One tar entry: tar-stream's header (only the name is required) and the file body. */
interface TarEntry {
  header: Partial<tar.Header> & { name: string };
  body?: Buffer;
}

/** Drains a readable stream into a single buffer. */
async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string));
  }
  return Buffer.concat(chunks);
}

/** Writes the given entries, in order, into a tar held in memory. */
async function packTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  // Start draining before writing so that the pack stream never stalls on backpressure.
  const done = collect(pack);
  for (const { header, body } of entries) {
    const ownership = { uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH };
    if (body === undefined) pack.entry({ ...ownership, ...header });
    else pack.entry({ ...ownership, ...header }, body);
  }
  pack.finalize();
  return done;
}

/** Builds one uncompressed layer tar: sorted entries, with every parent directory present. */
export async function buildLayerTar(layer: LayerSpec): Promise<Buffer> {
  const entries = new Map<string, TarEntry>();
  const add = (name: string, entry: TarEntry): void => {
    if (entries.has(name)) throw new Error(`duplicate path in layer spec: ${name}`);
    entries.set(name, entry);
  };
  const addParents = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!entries.has(dir)) entries.set(dir, { header: { name: dir, type: 'directory', mode: 0o755 } });
    }
  };
  for (const file of layer.files ?? []) {
    const name = normalise(file.path);
    const body = fileContent(file);
    addParents(name);
    add(name, { header: { name, type: 'file', mode: file.mode ?? 0o644, size: body.length }, body });
  }
  for (const link of layer.symlinks ?? []) {
    const name = normalise(link.path);
    addParents(name);
    add(name, { header: { name, type: 'symlink', mode: 0o777, linkname: link.target } });
  }
  // Plain code-unit order puts every directory ("bin/") before its contents ("bin/sh")
  // because a prefix always sorts first, and it does not depend on the locale.
  const sorted = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return packTar(sorted.map((name) => entries.get(name)!));
}

function engineArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
  return map[process.arch] ?? process.arch;
}

interface ImageParts {
  readonly configHex: string;
  readonly configBytes: Buffer;
  readonly tags: string[];
  readonly layers: Array<{ hex: string; tar: Buffer }>;
  readonly diffIds: string[];
  /** Epoch ms, as the config says. */
  readonly created: number;
  readonly labels: Record<string, string>;
}

/** The config and layer tars of one image. Layer tars are cached by spec, for shared layers. */
async function imageParts(spec: ImageSpec, cache: Map<LayerSpec, Buffer> = new Map()): Promise<ImageParts> {
  const layers = await Promise.all(
    spec.layers.map(async (layer) => {
      const tar = cache.get(layer) ?? (await buildLayerTar(layer));
      cache.set(layer, tar);
      return { hex: sha256(tar), tar };
    }),
  );
  const created = spec.created.toISOString();
  const config = {
    architecture: engineArchitecture(),
    os: 'linux',
    created,
    config: { Labels: spec.labels, Cmd: spec.cmd, Env: spec.env },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.hex}`) },
    // The index N matches the position of the layer in RootFS.Layers.
    history: spec.layers.map((_, n) => ({ created, created_by: `ADD layer ${n} in /` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configHex = sha256(configBytes);
  return {
    configHex,
    configBytes,
    tags: spec.tags ?? [],
    layers,
    diffIds: config.rootfs.diff_ids,
    created: spec.created.getTime(),
    labels: spec.labels ?? {},
  };
}

/** One `docker load` archive holding every image; each layer directory is written once. */
async function packArchive(images: readonly ImageParts[]): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const written = new Set<string>();
  for (const image of images) {
    if (!written.has(image.configHex)) {
      entries.push({
        header: { name: `${image.configHex}.json`, size: image.configBytes.length, mode: 0o644 },
        body: image.configBytes,
      });
      written.add(image.configHex);
    }
    for (const { hex, tar: layer } of image.layers) {
      if (written.has(hex)) continue;
      written.add(hex);
      entries.push({ header: { name: `${hex}/`, type: 'directory', mode: 0o755 } });
      entries.push({ header: { name: `${hex}/layer.tar`, size: layer.length, mode: 0o644 }, body: layer });
    }
  }
  // Docker 20.10 reports the IDs of an archive's images only when its last entry has no tag
  // (moby's tarexport checks the tag count of the last entry alone), so untagged images go last.
  const ordered = [...images].sort((a, b) => Number(a.tags.length === 0) - Number(b.tags.length === 0));
  const manifest = ordered.map((image) => ({
    Config: `${image.configHex}.json`,
    RepoTags: image.tags.length > 0 ? image.tags : null,
    Layers: image.layers.map((l) => `${l.hex}/layer.tar`),
  }));
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  entries.push({ header: { name: 'manifest.json', size: manifestBytes.length, mode: 0o644 }, body: manifestBytes });
  return packTar(entries);
}

/**
 * Loads many images with one `docker load`, far faster than one request each; returns the IDs
 * the engine gave them, in order. Layer specs passed as the same object are built once.
 */
export async function loadImages(docker: Docker, specs: readonly ImageSpec[]): Promise<string[]> {
  const cache = new Map<LayerSpec, Buffer>();
  const parts: ImageParts[] = [];
  for (const spec of specs) parts.push(await imageParts(spec, cache));
  const loaded = await loadArchive(docker, await packArchive(parts));
  return engineIds(docker, parts, loaded);
}

/** Builds a `docker load` archive (manifest.json, config JSON, layer tars) for the image. */
export async function buildImageArchive(spec: ImageSpec): Promise<Buffer> {
  return packArchive([await imageParts(spec)]);
}

/**
 * Loads the image into the engine and returns the ID the engine gave it: the config digest
 * on the classic store, the digest of the manifest it wrote on the containerd image store.
 */
export async function loadImage(docker: Docker, spec: ImageSpec): Promise<string> {
  const parts = await imageParts(spec);
  const loaded = await loadArchive(docker, await packArchive([parts]));
  return (await engineIds(docker, [parts], loaded))[0] as string;
}

/**
 * The engine's ID of each loaded image. The ID is the engine's to choose (the containerd
 * image store names an image by a manifest it writes itself), so it is asked: a tagged image
 * by its first tag; an untagged one among the IDs the load reported, by its layers, creation
 * time and labels, which the archive fixed.
 */
async function engineIds(docker: Docker, parts: readonly ImageParts[], loaded: LoadResult): Promise<string[]> {
  const byContent = new Map<string, string>();
  const untagged = parts.some((p) => p.tags.length === 0);
  if (untagged) {
    for (const id of loaded.ids) {
      const info = await docker.getImage(id).inspect();
      byContent.set(contentKey(info.RootFS.Layers ?? [], Date.parse(info.Created), info.Config.Labels ?? {}), info.Id);
    }
  }
  const out: string[] = [];
  for (const p of parts) {
    const tag = p.tags[0];
    const id =
      tag !== undefined
        ? (await docker.getImage(tag).inspect()).Id
        : byContent.get(contentKey(p.diffIds, p.created, p.labels));
    if (id === undefined)
      throw new Error(
        `the engine reported no ID for the untagged image with layers ${p.diffIds.join(', ')} (it said: ${loaded.text.trim()})`,
      );
    out.push(id);
  }
  return out;
}

function contentKey(diffIds: readonly string[], created: number, labels: Record<string, string>): string {
  return JSON.stringify([diffIds, created, Object.entries(labels).sort()]);
}

interface LoadResult {
  /** `Loaded image ID: sha256:…` lines: the untagged images. */
  readonly ids: string[];
  readonly text: string;
}

/**
 * The engine reports load failures inside a 200 response as a JSON message, so the whole
 * response is read and checked rather than trusting the status code.
 */
async function loadArchive(docker: Docker, archive: Buffer): Promise<LoadResult> {
  const response = await docker.loadImage(Readable.from([archive]), { quiet: true });
  const text = (await collect(response as AsyncIterable<unknown>)).toString('utf8');
  const ids: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let message: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      throw new Error(`unexpected response from image load: ${text}`);
    }
    const error = message.errorDetail?.message ?? message.error;
    if (error !== undefined) throw new Error(`image load failed: ${error}`);
    // One message may carry many lines (Docker 20.10 writes all the IDs at once).
    for (const match of (message.stream ?? '').matchAll(/Loaded image ID: (sha256:[0-9a-f]{64})/g))
      ids.push(match[1] as string);
  }
  return { ids, text };
}

let busybox: Buffer | undefined;

/**
 * A layer holding the host's static busybox as /bin/busybox plus the applet links that
 * tests use, so containers can run real commands without pulling any image.
 */
export function busyboxLayer(): LayerSpec {
  if (busybox === undefined) {
    try {
      busybox = readFileSync('/bin/busybox');
    } catch (err) {
      throw new Error(`cannot read /bin/busybox (install busybox-static): ${String(err)}`, { cause: err });
    }
  }
  const applets = ['sh', 'sleep', 'head', 'true', 'dd'];
  return {
    files: [{ path: 'bin/busybox', content: busybox, mode: 0o755 }],
    symlinks: applets.map((name) => ({ path: `bin/${name}`, target: 'busybox' })),
  };
}
