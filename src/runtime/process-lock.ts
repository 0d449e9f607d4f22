/**
 * One reclaimd at a time. `once` and `daemon` remove things, so they hold a process lock: a cron
 * job that overlaps itself, or `once` beside the daemon, would otherwise plan and remove the same
 * objects twice. `plan`, `validate` and `explain` remove nothing, take no lock, and keep working
 * while a daemon runs.
 *
 * Where. Two locks; a second process is refused if either is held.
 * - `state.dir/reclaimd.lock`, when state.dir is set: the one place that processes in different
 *   containers (a sidecar and a cron job mounting the same volume) or under systemd's PrivateTmp
 *   share; their /tmp and /run are their own. It locks the whole directory, not one engine's
 *   state file, because the daemon must lock before it can learn the engine's ID (it starts while
 *   the engine is down); two engines want two state directories anyway.
 * - `<tmpdir>/reclaimd-<uid>/engine-<hash>.lock`, always: processes on this machine that reach the
 *   same engine without sharing a state directory. Keyed by the engine's address for the same
 *   reason, a unix socket by its real path (/var/run and /run agree). The directory is private to
 *   the user, so that no other local user can hold our lock or point it elsewhere.
 * A lock whose directory cannot be written (the container image's /tmp is read-only) is logged
 * and skipped, as an unusable state.dir is for last use: refusing would stop cleanup where it
 * ran before, for a protection the other lock usually still gives.
 *
 * How. proper-lockfile: a lock is a directory made with mkdir (atomic on local and network file
 * systems, so across containers on a shared volume too); its holder refreshes its mtime every few
 * seconds and notices when it was taken away. A lock not refreshed for STALE_MS was left by a
 * process that died (SIGKILL, the OOM killer, a power cut) and is taken over; on the same host
 * and PID namespace, so is one whose holder's pid no longer exists, at once. The holder file is
 * written inside the directory before it is renamed into place, so a lock always names its
 * holder; a release renames the directory away before deleting it, so that a new holder's lock
 * is never deleted with the old one.
 */
import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import { lstat, mkdir, readFile, readlink, realpath, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lock } from 'proper-lockfile';
import type { Config } from '../core/config/config.js';
import { describeAddress } from '../engine/client.js';
import type { Logger } from './logger.js';

/** Exit code of `once` and `daemon` when another reclaimd holds the lock: EX_TEMPFAIL of sysexits.h, "try again later". */
export const EXIT_LOCKED = 75;

/** A lock whose mtime is older than this is stale: its holder died without releasing it. */
export const STALE_MS = 30_000;

/** How often the holder refreshes the mtime; the lock is lost only if the event loop stalls for STALE_MS minus this. */
const UPDATE_MS = 5_000;

const HOLDER_FILE = 'holder.json';

/** Who holds a lock, as written in its directory. */
export interface Holder {
  readonly pid: number;
  readonly host: string;
  /** The command line, e.g. `reclaimd once --config /etc/reclaimd/config.yaml`. */
  readonly command: string;
  /** When the lock was taken (ISO 8601). */
  readonly since: string;
  /** The kernel boot and PID namespace the pid belongs to: only there can it be checked for life. */
  readonly space?: string;
  /** Tells this holder from a later one that happens to have the same pid. */
  readonly nonce: string;
}

/** Another process holds the lock at `path`. Its message is one line that says what to do. */
export class LockHeldError extends Error {
  readonly code = 'ELOCKED';

  constructor(
    readonly path: string,
    readonly holder: Holder | undefined,
  ) {
    const who =
      holder === undefined
        ? 'holder unknown'
        : `pid ${holder.pid} on host ${holder.host}, \`${holder.command}\`, since ${holder.since}`;
    super(
      `another reclaimd holds the lock ${path} (${who}); nothing was removed. Wait for it to finish or stop it, ` +
        `then run again (a lock whose holder died is taken over after ${STALE_MS / 1000} s, on the same host at once)`,
    );
    this.name = 'LockHeldError';
  }
}

/** A set of held locks. */
export interface ProcessLock {
  /** The locks actually held (a directory that could not be written is left out). */
  readonly paths: readonly string[];
  /** Releases every lock; never throws (a lock that cannot be removed goes stale by itself). */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Lock paths, as `lockPaths` gives them; taken in this order. */
  readonly paths: readonly string[];
  readonly log: Logger;
  /**
   * Called if a held lock is lost: its directory was removed, or it was not refreshed within
   * STALE_MS (a stalled process, a vanished volume). Another process may take it from then on,
   * so the caller should start no further removals.
   */
  readonly onLost: (path: string, err: Error) => void;
}

/** Where the locks of a process with this configuration live (see the header for why). */
export async function lockPaths(config: Pick<Config, 'stateDir' | 'dockerHost'>): Promise<string[]> {
  const paths: string[] = [];
  if (config.stateDir !== undefined) paths.push(path.join(config.stateDir, 'reclaimd.lock'));
  const engine = createHash('sha256')
    .update(await engineKey(config.dockerHost))
    .digest('hex')
    .slice(0, 16);
  paths.push(path.join(machineDirectory(), `engine-${engine}.lock`));
  return paths;
}

/** This user's directory for the locks of this machine. */
function machineDirectory(): string {
  return path.join(os.tmpdir(), `reclaimd-${process.getuid?.() ?? os.userInfo().username}`);
}

/**
 * Takes every lock in `paths`, or none: throws LockHeldError naming the holder of the first one
 * held by another process. A lock that cannot be written is logged and skipped.
 */
export async function acquireProcessLock(options: AcquireOptions): Promise<ProcessLock> {
  const { log } = options;
  const holder = await thisHolder();
  const held: Array<{ path: string; release: () => Promise<void> }> = [];
  const unusable: Array<{ path: string; err: string }> = [];
  for (const lockPath of options.paths) {
    try {
      held.push({ path: lockPath, release: await take(lockPath, holder, (err) => options.onLost(lockPath, err)) });
    } catch (err) {
      if (!(err instanceof LockHeldError)) {
        unusable.push({ path: lockPath, err: (err as Error).message });
        continue;
      }
      await releaseAll(held, log);
      throw err;
    }
  }
  for (const { path: lockPath, err } of unusable) {
    if (held.length > 0)
      log.info({ lock: lockPath, err }, 'cannot write this process lock; the other one still keeps processes apart');
    else
      log.warn(
        { lock: lockPath, err },
        'cannot write the process lock: reclaimd processes on this engine are not kept apart',
      );
  }
  return { paths: held.map((h) => h.path), release: () => releaseAll(held, log) };
}

async function take(
  lockPath: string,
  holder: Holder,
  onLost: (err: Error) => void,
  mayTakeOver = true,
): Promise<() => Promise<void>> {
  await prepareDirectory(path.dirname(lockPath));
  try {
    const options = { lockfilePath: lockPath, realpath: false, stale: STALE_MS, update: UPDATE_MS };
    return await lock(lockPath, { ...options, fs: lockFs(holder), onCompromised: onLost });
  } catch (err) {
    if (errorCode(err) !== 'ELOCKED') throw err;
    const current = await readHolder(lockPath);
    if (!mayTakeOver) throw new LockHeldError(lockPath, current);
    // No holder file: the lock is being released right now (or is not ours); look once more.
    if (current === undefined) return take(lockPath, holder, onLost, false);
    if (!(await diedHere(current))) throw new LockHeldError(lockPath, current);
    await setAside(lockPath, current);
    return take(lockPath, holder, onLost, false);
  }
}

async function releaseAll(
  held: ReadonlyArray<{ path: string; release: () => Promise<void> }>,
  log: Logger,
): Promise<void> {
  for (const { path: lockPath, release } of [...held].reverse()) {
    try {
      await release();
    } catch (err) {
      // ERELEASED: it was lost earlier, which onLost already reported.
      if (errorCode(err) === 'ERELEASED') continue;
      log.warn(
        { lock: lockPath, err: (err as Error).message },
        'could not release the process lock; it goes stale by itself',
      );
    }
  }
}

/**
 * The state directory is the operator's (made if missing, as the last-use store does); the
 * per-user one in tmpdir must be ours alone, or anyone could hold or redirect our lock.
 */
async function prepareDirectory(dir: string): Promise<void> {
  if (dir !== machineDirectory()) {
    await mkdir(dir, { recursive: true });
    return;
  }
  await mkdir(dir, { mode: 0o700 }).catch((err: unknown) => {
    if (errorCode(err) !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} is not a private directory of this user`);
  }
}

/**
 * The file system proper-lockfile works through, changed in two ways: a lock directory is made
 * elsewhere with its holder file inside and renamed into place (rename fails on a directory that
 * is not empty, as mkdir fails on one that exists), and it is removed by renaming it away first.
 */
function lockFs(holder: Holder): object {
  return {
    stat: fs.stat,
    utimes: fs.utimes,
    realpath: fs.realpath,
    mkdir: (p: string, done: (err: Error | null) => void) => void claim(p, holder).then(() => done(null), done),
    rmdir: (p: string, done: (err: Error | null) => void) => void discard(p).then(() => done(null), done),
    // Used by proper-lockfile's exit handler, which releases what is still held when the process exits.
    rmdirSync: (p: string) => {
      const away = beside(p, 'old');
      fs.renameSync(p, away);
      fs.rmSync(away, { recursive: true, force: true });
    },
  };
}

async function claim(lockPath: string, holder: Holder): Promise<void> {
  const staging = beside(lockPath, 'new');
  await mkdir(staging);
  try {
    await writeFile(path.join(staging, HOLDER_FILE), JSON.stringify(holder));
    await rename(staging, lockPath);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = errorCode(err);
    throw code === 'ENOTEMPTY' || code === 'EEXIST'
      ? Object.assign(new Error(`${lockPath} exists`), { code: 'EEXIST' })
      : err;
  }
}

async function discard(lockPath: string): Promise<void> {
  const away = beside(lockPath, 'old');
  await rename(lockPath, away);
  await rm(away, { recursive: true, force: true });
}

/**
 * Moves aside a lock whose holder died. If, between our look and the move, another process took
 * it over in the same way, what we moved is its live lock: put it back.
 */
async function setAside(lockPath: string, dead: Holder): Promise<void> {
  const away = beside(lockPath, 'old');
  try {
    await rename(lockPath, away);
  } catch {
    return; // gone already: the next attempt finds out who holds it now
  }
  if ((await readHolder(away))?.nonce !== dead.nonce) {
    await rename(away, lockPath).catch(() => undefined);
  }
  await rm(away, { recursive: true, force: true });
}

/** True when the holder ran where its pid means something (this boot, this PID namespace) and that pid is gone. */
async function diedHere(holder: Holder): Promise<boolean> {
  if (holder.space === undefined || holder.space !== (await processSpace()) || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    return errorCode(err) === 'ESRCH';
  }
  // Killed but not yet reaped by its parent (a zombie, state Z): it will never run again.
  const stat = await readFile(`/proc/${holder.pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** The holder file, parsed into our own type; undefined if missing or unreadable (a foreign lock). */
async function readHolder(lockDir: string): Promise<Holder | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(lockDir, HOLDER_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const { pid, host, command, since, nonce, space } = r;
  if (typeof pid !== 'number' || !Number.isInteger(pid)) return undefined;
  if (typeof host !== 'string' || typeof command !== 'string' || typeof since !== 'string' || typeof nonce !== 'string')
    return undefined;
  return { pid, host, command, since, nonce, ...(typeof space === 'string' ? { space } : {}) };
}

async function thisHolder(): Promise<Holder> {
  const space = await processSpace();
  return {
    pid: process.pid,
    host: os.hostname(),
    command: ['reclaimd', ...process.argv.slice(2)].join(' '),
    since: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
    ...(space !== undefined ? { space } : {}),
  };
}

let spaceOnce: Promise<string | undefined> | undefined;

/**
 * Where a pid means something: the host name is not enough, since containers of one pod share
 * it but not their PID namespace. Linux only; elsewhere only staleness frees a dead holder's lock.
 */
function processSpace(): Promise<string | undefined> {
  spaceOnce ??= Promise.all([readFile('/proc/sys/kernel/random/boot_id', 'utf8'), readlink('/proc/self/ns/pid')]).then(
    ([boot, ns]) => `${boot.trim()}/${ns}`,
    () => undefined,
  );
  return spaceOnce;
}

/** The engine's address without credentials; a unix socket by its real path. */
async function engineKey(dockerHost: string | undefined): Promise<string> {
  const address = describeAddress(dockerHost);
  if (!address.startsWith('unix://')) return address;
  const socket = decodeURIComponent(address.slice('unix://'.length));
  return `unix://${await realpath(socket).catch(() => socket)}`;
}

/** A name of our own next to the lock, for a lock directory on its way in or out. */
function beside(lockPath: string, what: 'new' | 'old'): string {
  return `${lockPath}.${process.pid}-${randomBytes(4).toString('hex')}.${what}`;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}
