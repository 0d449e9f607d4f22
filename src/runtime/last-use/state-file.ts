/**
 * Replacing a state file without room for a second copy of it. The usual atomic write (new
 * temporary file, fsync, rename) needs the file's whole size free, so on a nearly full disk the
 * state could never be rewritten, even after some space was freed. Here a spare file is kept
 * beside the state file, holding the blocks of the version before it:
 *
 * 1. the spare is renamed to this writer's temporary name (`<file>.tmp-<pid>`), so nobody else
 *    takes it;
 * 2. the new content is written over it from offset 0, the file is cut to its length and
 *    fsynced: this needs free space only for what the new content has beyond the spare's size;
 * 3. the state file gets a second name, the spare's, so its blocks are kept (a hard link costs
 *    no data blocks);
 * 4. the temporary file is renamed over the state file, and the directory fsynced, so that the
 *    rename is on disk before the old version's blocks, now the spare, are ever written over.
 *
 * At every instant the state file's name holds a whole version: only a file that is not the
 * state file is ever written in place, and it replaces the state by one rename. A writer killed
 * between steps leaves a temporary file, or a spare that is a second name of the state file;
 * `recoverSpare` turns either back into a plain spare. Without a spare (the first writes, or a
 * file system without hard links) the temporary file is a new one, as in the usual scheme.
 */
import { constants, type FileHandle } from 'node:fs/promises';
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';

/** The file operations used, so a test can stop the sequence at any step as a crash would. */
export type StateFs = Pick<typeof nodeFs, 'open' | 'rename' | 'link' | 'unlink' | 'lstat' | 'readdir' | 'rm'>;

/** A temporary file older than this is a killed writer's, not one being written now. */
export const STALE_TMP_MS = 60_000;

/** The spare file of a state file. */
export function spareOf(file: string): string {
  return `${file}.spare`;
}

/** This process's temporary name for a new version of `file`. */
export function temporaryOf(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

/**
 * Replaces `file` by `data` (see the module comment). On failure the temporary file is kept as
 * the spare, so the blocks it holds are not given up on a full disk, and the error is thrown.
 */
export async function replaceStateFile(file: string, data: Uint8Array, fs: StateFs = nodeFs): Promise<void> {
  const spare = spareOf(file);
  const tmp = temporaryOf(file);
  try {
    if (!(await rename(fs, spare, tmp))) {
      // No spare: a killed writer may have left its blocks under a temporary name.
      await recoverSpare(file, fs);
      await rename(fs, spare, tmp);
    }
    const handle = await openForOverwrite(fs, tmp);
    try {
      await writeAll(handle, data);
      await handle.truncate(data.length);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Failing is harmless: the old version's blocks are then freed by the rename, and the
    // next write makes a new temporary file. The name may be taken by another process's spare,
    // or the file system may have no hard links.
    await fs.link(file, spare).catch(() => undefined);
    await fs.rename(tmp, file);
  } catch (err) {
    // Renaming over the spare name is right even if it is a second name of the state file:
    // the state file keeps its own name.
    await fs.rename(tmp, spare).catch(() => fs.rm(tmp, { force: true }).catch(() => undefined));
    throw err;
  }
  await syncDirectory(fs, path.dirname(file));
}

/**
 * Puts what killed writers left back in order: a spare that is another name of the state file
 * loses that name (it must never be written over in place), and a temporary file older than
 * STALE_TMP_MS becomes the spare if there is none, or is removed. Young temporary files are
 * left alone: another process may be writing them.
 */
export async function recoverSpare(file: string, fs: StateFs = nodeFs): Promise<void> {
  const spare = spareOf(file);
  const info = await fs.lstat(spare).catch(() => undefined);
  let haveSpare = info !== undefined;
  if (info?.isFile() === true && info.nlink > 1) {
    await fs.unlink(spare).catch(() => undefined);
    haveSpare = false;
  }
  const prefix = `${path.basename(file)}.tmp-`;
  const dir = path.dirname(file);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const tmp = path.join(dir, name);
    const tmpInfo = await fs.lstat(tmp).catch(() => undefined);
    if (tmpInfo === undefined || Date.now() - tmpInfo.mtimeMs <= STALE_TMP_MS) continue;
    if (!haveSpare && tmpInfo.isFile() && tmpInfo.nlink === 1 && (await rename(fs, tmp, spare))) haveSpare = true;
    else await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Renames, and says whether it did; a missing source is no error here. */
async function rename(fs: StateFs, from: string, to: string): Promise<boolean> {
  return fs.rename(from, to).then(
    () => true,
    () => false,
  );
}

/**
 * Opens `tmp` for writing over what it holds. It is reused only when it is a plain file with
 * no other name: one with another name could be the state file itself (a writer was killed
 * between link and rename), which must never be written in place. Otherwise, or when it
 * cannot be opened for writing, it is replaced by a new, empty file.
 */
async function openForOverwrite(fs: StateFs, tmp: string): Promise<FileHandle> {
  const reuse = await fs
    .open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
    .catch(() => undefined);
  if (reuse !== undefined) {
    const info = await reuse.stat().catch(() => undefined);
    // The spare was the state file before, so it should be 0600 already; an old spare that is
    // not is made so, since it is about to become the state file.
    const usable =
      info?.isFile() === true &&
      info.nlink === 1 &&
      ((info.mode & 0o777) === 0o600 ||
        (await reuse.chmod(0o600).then(
          () => true,
          () => false,
        )));
    if (usable) return reuse;
    await reuse.close();
  }
  await fs.unlink(tmp).catch(() => undefined);
  return fs.open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
}

/** Writes all of `data` from offset 0. */
async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

/**
 * Makes the directory's entries durable. Not every file system can sync a directory; where it
 * fails, the rename is as durable as the file system makes it, which is no worse than before.
 */
async function syncDirectory(fs: StateFs, dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  if (handle === undefined) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
