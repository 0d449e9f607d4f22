/**
 * Writing an image archive so that it is either complete or absent: a reader (or a `docker
 * load` after a crash) never finds half an archive under the final name.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { classify, EngineError } from './errors.js';

/**
 * Copies `source` into `target` atomically: into a temporary file in the same directory, which
 * is flushed to disk (fsync) and then renamed over `target`; the directory is flushed too, so
 * the new name survives a power cut. On any failure (directory missing or unwritable, disk
 * full, the stream breaking off) the temporary file is removed and the error is thrown, and
 * `target` is left as it was. The directory is never created: a missing one usually means an
 * archive disk that is not mounted, and filling the root file system instead would be worse.
 *
 * @returns the number of bytes written
 */
export async function writeAtomically(source: Readable | NodeJS.ReadableStream, target: string): Promise<number> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    // 'wx': a leftover temporary file of the same name is never reused or followed as a link.
    await pipeline(source, count, createWriteStream(temp, { flags: 'wx', mode: 0o640 }));
    // fsync flushes the file's data whichever descriptor asks, so a fresh one will do.
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return bytes;
}

/**
 * `docker save` of one image into `file`, atomically. By ID, so the archive holds exactly this
 * image even if a tag moved meanwhile; its tags are named as well so that `docker load` brings
 * them back (the engine merges names of one image into one entry).
 *
 * @param call the adapter's wrapper for engine requests (counts them, classifies errors)
 * @param isGone asks the engine whether the image is gone, to tell a 404 from other failures
 */
export async function saveImageTo(
  docker: Docker,
  id: string,
  tags: readonly string[],
  file: string,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
  isGone: () => Promise<boolean>,
): Promise<number> {
  // @types/dockerode lacks getImages (GET /images/get?names=…).
  const d = docker as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> };
  let stream: NodeJS.ReadableStream;
  try {
    stream = await call(() => d.getImages({ names: [id, ...tags] }));
  } catch (err) {
    // Engine 20.10 answers 500 "reference does not exist" for a missing image: ask, to tell gone apart.
    if (err instanceof EngineError && err.kind === 'failed' && (await isGone()))
      throw new EngineError('gone', err.message, 404);
    throw err;
  }
  try {
    return await writeAtomically(stream, file);
  } catch (err) {
    // A broken socket mid-stream is the engine going away, not a disk problem.
    const code = (err as { code?: string }).code;
    throw code === 'ECONNRESET' || code === 'EPIPE' ? classify(err) : err;
  }
}
