// The state file on a nearly full disk: a small tmpfs (mounted here; the tests run as root, as
// the integration tests that start dockerd do) is filled up until less space is free than the
// state file takes. A rewrite of the same or a smaller size must still succeed, and a larger
// one needs only the growth; the plain atomic write (new file, rename) needs the whole size and
// fails. Then a crash at each step of a rewrite, replayed with file operations that stop at
// that step, must leave a whole state file, and the next writer must rewrite it on the full disk.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Counter, Gauge, Registry } from 'prom-client';
import { pino } from 'pino';
import { LastUseStore, stateFile, type StoreMetrics } from '../../src/runtime/last-use/store.js';
import { replaceStateFile, spareOf, temporaryOf, type StateFs } from '../../src/runtime/last-use/state-file.js';
import { decodeState, emptyRecord, encodeState, noteUse } from '../../src/core/last-use/last-use.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1);
/** About 100 bytes an image: 1,500 images make a state file of about 150 kB. */
const IMAGES = 1500;
const imageId = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

function metrics(): StoreMetrics {
  const registers = [new Registry()];
  return {
    stateWriteFailures: new Counter({ name: 'w', help: 'w', registers }),
    stateCorrupt: new Counter({ name: 'c', help: 'c', registers }),
    lastUseKnown: new Gauge({ name: 'k', help: 'k', registers }),
  };
}

async function failures(m: StoreMetrics): Promise<number> {
  return (await m.stateWriteFailures.get()).values[0]?.value ?? 0;
}

/** Sets the record to `count` images, each used at `at` (13 digits, so sizes depend on `count` only). */
function setImages(store: LastUseStore, count: number, at: number): void {
  const ids = Array.from({ length: count }, (_, i) => imageId(i));
  store.resync({ images: ids, containerImages: [], volumes: [], mountedVolumes: [] }, at);
  for (const id of ids) store.noteImage(id, at);
}

/** The state file's images, decoded (the test fails on a file that does not decode). */
function savedImages(file: string): Map<string, { at: number }> {
  const decoded = decodeState(readFileSync(file, 'utf8'), 'E');
  if (!decoded.ok) throw new Error(`state file does not decode: ${decoded.message}`);
  return decoded.record.images;
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

let mnt = '';
let filler = '';

/** Fills the file system until a write fails, then frees `room` bytes of it again. */
function fillUp(room = 0): void {
  const fd = openSync(filler, 'a');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  if (room > 0) execFileSync('truncate', ['-s', `-${room}`, filler]);
}

beforeAll(() => {
  mnt = mkdtempSync(path.join(tmpdir(), 'reclaimd-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt]);
  filler = path.join(mnt, 'filler');
});

afterEach(() => {
  rmSync(filler, { force: true });
  for (const name of readdirSync(mnt)) rmSync(path.join(mnt, name), { recursive: true, force: true });
});

afterAll(() => {
  execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

/** A store in a new directory on the tmpfs, with two versions written (so a spare exists). */
async function seeded(): Promise<{ dir: string; file: string; store: LastUseStore; m: StoreMetrics }> {
  const dir = mkdtempSync(path.join(mnt, 'state-'));
  const m = metrics();
  const store = new LastUseStore({ dir, log, metrics: m });
  await store.open('E');
  // Watched just now, so that a later open trusts the times rather than counting them as used now.
  store.markWatched(Date.now());
  setImages(store, IMAGES, T0);
  await store.flush();
  setImages(store, IMAGES, T0 + 1000);
  await store.flush();
  expect(await failures(m)).toBe(0);
  return { dir, file: stateFile(dir, 'E'), store, m };
}

describe('the last-use state file on a nearly full disk', () => {
  it('is rewritten at the same size, then smaller, with less space free than the file takes', async () => {
    const { file, store, m } = await seeded();
    const size = statSync(file).size;
    fillUp();
    expect(freeBytes(mnt)).toBeLessThan(size);

    setImages(store, IMAGES, T0 + 2000);
    await store.flush();
    expect(await failures(m)).toBe(0);
    expect(statSync(file).size).toBe(size);
    expect([...savedImages(file).values()].every((e) => e.at === T0 + 2000)).toBe(true);

    setImages(store, IMAGES - 100, T0 + 3000);
    await store.flush();
    expect(await failures(m)).toBe(0);
    expect(savedImages(file).size).toBe(IMAGES - 100);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('needs only the growth free for a larger rewrite', async () => {
    const { file, store, m } = await seeded();
    const size = statSync(file).size;
    fillUp(64 * 1024);
    expect(freeBytes(mnt)).toBeLessThan(size);

    // About 30 kB more than the spare, which holds the version before last.
    setImages(store, IMAGES + 300, T0 + 2000);
    await store.flush();
    expect(await failures(m)).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(size + 20_000);
    expect(savedImages(file).size).toBe(IMAGES + 300);
  });

  it('keeps the blocks of a write that failed for lack of space, and gives the spare mode 0600', async () => {
    const { dir, file, store, m } = await seeded();
    const size = statSync(file).size;
    // The spare's mode is not the state file's business until it becomes the state file.
    await nodeFs.chmod(spareOf(file), 0o644);
    fillUp(32 * 1024);
    // Far larger than the spare and the free space: this write fails.
    setImages(store, IMAGES * 3, T0 + 2000);
    await store.flush();
    expect(await failures(m)).toBe(1);
    expect(savedImages(file).size).toBe(IMAGES);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // What it wrote is still held as the spare, so the next attempt needs only the rest free.
    const held = statSync(spareOf(file)).size;
    expect(held).toBeGreaterThan(size);
    const needed = content(IMAGES * 3, T0 + 2000).length;
    rmSync(filler);
    fillUp(needed - held + 16 * 1024);
    expect(freeBytes(mnt)).toBeLessThan(needed);
    await store.flush();
    expect(await failures(m)).toBe(1);
    expect(savedImages(file).size).toBe(IMAGES * 3);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

/** A failure that stands for the process being killed at that step. */
class Crash extends Error {}

/**
 * File operations that record each step, as `name path…` with the state file's name shortened
 * to `state`, and stop for good at step `crashAt`: that step and every later one (the clean-up
 * too) throws, as nothing runs after a SIGKILL.
 */
function scriptedFs(file: string, crashAt: number | undefined) {
  const steps: string[] = [];
  const opened: FileHandle[] = [];
  let dead = false;
  const short = (p: unknown) =>
    typeof p === 'string'
      ? p
          .replace(path.dirname(file), '')
          .replace(`/${path.basename(file)}`, 'state')
          .replace(String(process.pid), 'PID') || '/'
      : '';
  const step = (name: string, ...paths: unknown[]) => {
    if (dead || steps.length === crashAt) {
      dead = true;
      throw new Crash(`killed at ${name}`);
    }
    steps.push([name, ...paths.map(short)].join(' '));
  };
  const handle = (h: FileHandle, p: string): FileHandle => {
    const wrapped = {
      stat: async () => (step('fstat', p), h.stat()),
      chmod: async (mode: number) => (step('fchmod', p), h.chmod(mode)),
      write: async (data: Uint8Array, offset: number, length: number, position: number) => (
        step('pwrite', p),
        h.write(data, offset, length, position)
      ),
      truncate: async (len?: number) => (step('ftruncate', p), h.truncate(len)),
      sync: async () => (step('fsync', p), h.sync()),
      close: async () => (step('close', p), h.close()),
    };
    return wrapped as unknown as FileHandle;
  };
  const fs: StateFs = {
    ...nodeFs,
    rename: async (a, b) => (step('rename', a, b), nodeFs.rename(a, b)),
    link: async (a, b) => (step('link', a, b), nodeFs.link(a, b)),
    unlink: async (p) => (step('unlink', p), nodeFs.unlink(p)),
    lstat: (async (p: string) => (step('lstat', p), nodeFs.lstat(p))) as StateFs['lstat'],
    readdir: (async (p: string) => (step('readdir', p), nodeFs.readdir(p))) as StateFs['readdir'],
    rm: async (p, o) => (step('rm', p), nodeFs.rm(p, o)),
    open: async (p, flags, mode) => {
      step('open', p);
      const h = await nodeFs.open(p, flags, mode);
      opened.push(h);
      return handle(h, String(p));
    },
  };
  return {
    fs,
    steps,
    crashed: () => dead,
    closeAll: () => Promise.all(opened.map((h) => h.close().catch(() => undefined))),
  };
}

/** The content of a state file of `count` images used at `at`, watched until `savedAt`. */
function content(count: number, at: number, savedAt = Date.now()): Buffer {
  const record = emptyRecord();
  for (let i = 0; i < count; i++) noteUse(record.images, imageId(i), at);
  return Buffer.from(encodeState('E', record, savedAt), 'utf8');
}

describe('a rewrite killed at each step', () => {
  it('takes these steps, writing in place only the spare, never the state file', async () => {
    const { file } = await seeded();
    const run = scriptedFs(file, undefined);
    await replaceStateFile(file, content(IMAGES, T0 + 2000), run.fs);
    expect(run.steps).toEqual([
      'rename state.spare state.tmp-PID',
      'open state.tmp-PID',
      'fstat state.tmp-PID',
      'pwrite state.tmp-PID',
      'ftruncate state.tmp-PID',
      'fsync state.tmp-PID',
      'close state.tmp-PID',
      'link state state.spare',
      'rename state.tmp-PID state',
      'open /',
      'fsync /',
      'close /',
    ]);
  });

  // The steps of one rewrite with a spare, as listed above.
  const STEPS = 12;
  const RENAME_OVER_STATE = 8;
  for (const restart of [
    'with the same process ID (a container restarted)',
    'with another process ID, a minute later',
  ] as const) {
    for (let crashAt = 0; crashAt < STEPS; crashAt++) {
      it(`killed before step ${crashAt + 1}, restarted ${restart}: the file is whole and the next rewrite fits on the full disk`, async () => {
        const { dir, file } = await seeded();
        const before = readFileSync(file, 'utf8');
        const next = content(IMAGES, T0 + 2000);
        fillUp();
        const run = scriptedFs(file, crashAt);
        // Most steps' failures are thrown; a few (the directory's fsync) are ignored by design,
        // so what counts is that the crash happened and nothing ran after it.
        await replaceStateFile(file, next, run.fs).catch((err: unknown) => {
          if (!(err instanceof Crash)) throw err;
        });
        expect(run.crashed()).toBe(true);
        await run.closeAll();

        // Whole, and the old version until the rename over it; the new one after.
        expect(readFileSync(file, 'utf8')).toBe(crashAt > RENAME_OVER_STATE ? next.toString('utf8') : before);

        const tmp = temporaryOf(file);
        if (
          restart !== 'with the same process ID (a container restarted)' &&
          readdirSync(dir).includes(path.basename(tmp))
        ) {
          const other = `${file}.tmp-1`;
          renameSync(tmp, other);
          utimesSync(other, new Date(0), new Date(0));
        }
        const m = metrics();
        const store = new LastUseStore({ dir, log, metrics: m });
        await store.open('E');
        expect(store.known).toBe(true);
        setImages(store, IMAGES, T0 + 3000);
        await store.flush();
        expect(await failures(m)).toBe(0);
        expect([...savedImages(file).values()].every((e) => e.at === T0 + 3000)).toBe(true);
        // Back in order: one state file, one spare that is no other name of it, nothing else.
        expect(readdirSync(dir).sort()).toEqual([path.basename(file), path.basename(spareOf(file))].sort());
        expect(lstatSync(file).nlink).toBe(1);
        expect(lstatSync(spareOf(file)).nlink).toBe(1);
      });
    }
  }
});
