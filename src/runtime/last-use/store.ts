/**
 * The last-use store: the record of when each image and volume was last used, kept in memory
 * and persisted in one state file per engine under `state.dir` (with a spare file beside it, so
 * a rewrite fits on a nearly full disk: see state-file.ts). When the directory is not set
 * or not usable, last use is unknown and `unusedFor` rules select nothing; a corrupt file is
 * set aside and replaced by an empty record, which can only make objects look MORE recently
 * used (first seen now), never less.
 */
import { createHash } from 'node:crypto';
import { access, constants, mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import {
  assumeUsedUntil,
  decodeState,
  emptyRecord,
  encodeState,
  noteUse,
  resync,
  toUsage,
  type UsageRecord,
} from '../../core/last-use/last-use.js';
import type { Listing } from '../../core/model/engine-events.js';
import type { Config } from '../../core/config/config.js';
import type { Snapshot, Usage } from '../../core/model/snapshot.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { recoverSpare, replaceStateFile } from './state-file.js';

/**
 * The longest span since the state was last known to be watched (its `savedAt`) that still
 * counts as watched. The daemon writes the state at least every 5 minutes while it follows
 * events, so twice that plus slack. A longer gap (the daemon was stopped, or only `once` runs
 * from cron) counts as possible use of everything: nobody saw what happened meanwhile.
 */
export const WATCH_GAP_MS = 15 * 60_000;

export type StoreMetrics = Pick<Metrics, 'stateWriteFailures' | 'stateCorrupt' | 'lastUseKnown'>;

export interface StoreOptions {
  readonly dir: string | undefined;
  readonly log: Logger;
  readonly metrics?: StoreMetrics | undefined;
  /** `plan` only reads: it neither writes the file nor sets a corrupt one aside. */
  readonly readOnly?: boolean;
  /** Some policy uses `unusedFor`: an unknown last use is then worth a warning. */
  readonly needed?: boolean;
}

export class LastUseStore {
  private record: UsageRecord | undefined;
  private engineId: string | undefined;
  private file: string | undefined;
  /** Until when the engine's events were followed for this record (undefined: never). */
  private watchedUntil: number | undefined;
  /** Something changed since the last write. */
  private dirty = false;
  /** Writes run one at a time: two at once would share the temporary file and the spare. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: StoreOptions) {}

  /** The engine whose record is open, if any. */
  get openEngine(): string | undefined {
    return this.engineId;
  }

  get known(): boolean {
    return this.record !== undefined;
  }

  /**
   * Opens the record of this engine: its state file read, or empty if there is none. The file
   * name is derived from the engine ID, and the file also names the engine, so one engine's
   * record never applies to another.
   */
  async open(engineId: string): Promise<void> {
    const { dir, log, metrics, readOnly } = this.options;
    this.engineId = engineId;
    this.record = undefined;
    this.file = undefined;
    this.watchedUntil = undefined;
    metrics?.lastUseKnown.set(0);
    const level = this.options.needed === true ? 'warn' : 'info';
    // Engines that report no ID cannot be told apart: they would all share one state file.
    if (engineId === '') {
      log[level]({}, 'the engine reports no ID: last use is unknown, so unusedFor rules select nothing');
      return;
    }
    if (dir === undefined) {
      log[level]({}, 'state.dir is not set: last use is unknown, so unusedFor rules select nothing');
      return;
    }
    try {
      if (!readOnly) await mkdir(dir, { recursive: true });
      await access(dir, readOnly ? constants.R_OK : constants.R_OK | constants.W_OK);
    } catch (err) {
      log[level](
        { dir, err: (err as Error).message },
        `state.dir is not ${readOnly ? 'readable' : 'writable'}: last use is unknown, so unusedFor rules select nothing`,
      );
      return;
    }
    const file = stateFile(dir, engineId);
    // What a killed writer left: its temporary file becomes the spare again, or goes.
    if (!readOnly) await recoverSpare(file);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log[level](
          { file, err: (err as Error).message },
          'cannot read the last-use state file: last use is unknown, so unusedFor rules select nothing',
        );
        return;
      }
    }
    this.file = file;
    this.record = emptyRecord();
    if (text === undefined) {
      log.info({ file }, 'no last-use state yet: every image and volume counts as first seen now');
    } else {
      let decoded = decodeState(text, engineId);
      if (!decoded.ok) {
        // A writer in another process (the daemon, while `plan` or `once` reads) reuses an
        // old version's blocks as its spare: a read that spans two of its writes can see one
        // half-overwritten. The file under the name is whole, so a second read settles it.
        const again = await readFile(file, 'utf8').catch(() => undefined);
        if (again !== undefined && again !== text) decoded = decodeState(again, engineId);
      }
      if (decoded.ok) {
        this.record = decoded.record;
        this.watchedUntil = decoded.savedAt;
        log.info(
          { file, images: decoded.record.images.size, volumes: decoded.record.volumes.size },
          'last-use state loaded',
        );
        this.coverGap(Date.now());
      } else {
        metrics?.stateCorrupt.inc();
        const aside = `${file}.corrupt-${Date.now()}`;
        const moved = readOnly
          ? false
          : await rename(file, aside).then(
              () => true,
              () => false,
            );
        log.error(
          { file, problem: decoded.message, ...(moved ? { setAside: aside } : {}) },
          'the last-use state file is unreadable; starting empty, so every image and volume counts as first seen now',
        );
      }
    }
    metrics?.lastUseKnown.set(1);
  }

  /**
   * If nobody has watched the engine's events for longer than WATCH_GAP_MS, everything may
   * have been used meanwhile (a `docker run --rm` leaves no trace in a listing): every entry
   * then counts as used now. Only in memory; `plan` never writes it.
   */
  coverGap(now: number): void {
    if (!this.record) return;
    const since = this.watchedUntil;
    if (since !== undefined && now - since <= WATCH_GAP_MS) return;
    if (this.record.images.size + this.record.volumes.size === 0) return;
    this.assumeAllUsed(now);
    this.options.log.info(
      { watchedUntil: since === undefined ? null : new Date(since).toISOString() },
      'engine events were not watched for a while (daemon not running, or only one-shot runs): everything counts as possibly used until now',
    );
  }

  /** The events were followed until `now`: the state file will say so. Daemon only. */
  markWatched(now: number): void {
    if (!this.record) return;
    this.watchedUntil = now;
    this.dirty = true;
  }

  /** Counts everything as used now (events were lost, e.g. a backlog overflowed). */
  assumeAllUsed(now: number): void {
    if (!this.record) return;
    assumeUsedUntil(this.record, now);
    this.dirty = true;
  }

  /** Records a use of an image (by ID) at `at`. */
  noteImage(id: string, at: number): void {
    if (!this.record) return;
    noteUse(this.record.images, id, at);
    this.dirty = true;
  }

  /** Records a use of a volume (by name) at `at`. */
  noteVolume(name: string, at: number): void {
    if (!this.record) return;
    noteUse(this.record.volumes, name, at);
    this.dirty = true;
  }

  /** Merges a full listing (see `resync`). */
  resync(listing: Listing, now: number): void {
    if (!this.record) return;
    resync(this.record, listing, now);
    this.dirty = true;
  }

  /** Merges a cycle's snapshot, then returns the usage the planner reads (undefined: unknown). */
  observe(snapshot: Snapshot, now: number): Usage | undefined {
    if (!this.record) return undefined;
    this.resync(listingOf(snapshot), now);
    return toUsage(this.record);
  }

  /**
   * Writes the record atomically: the new version is written over a spare file in the same
   * directory, fsynced and renamed over the state file, whose blocks become the next spare (see
   * state-file.ts). A crash leaves the old file or the new one, never half of one, and a
   * rewrite needs free space only for what the file grew by, so a nearly full disk does not
   * stop it. A failure is counted and logged; the record stays in memory and the next flush
   * tries again.
   */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    const { record, file, engineId } = this;
    if (!record || !file || engineId === undefined || this.options.readOnly === true || !this.dirty) return;
    try {
      await replaceStateFile(file, Buffer.from(encodeState(engineId, record, this.watchedUntil ?? 0), 'utf8'));
      this.dirty = false;
    } catch (err) {
      this.options.metrics?.stateWriteFailures.inc();
      this.options.log.warn(
        { file, err: (err as Error).message },
        'could not write the last-use state file; keeping it in memory and trying again later',
      );
    }
  }
}

/** What a snapshot shows, as a listing: existing containers use their image and volumes. */
export function listingOf(snapshot: Snapshot): Listing {
  return {
    images: snapshot.images.map((i) => i.id),
    containerImages: snapshot.containers.map((c) => c.imageId),
    volumes: snapshot.volumes.map((v) => v.name),
    mountedVolumes: snapshot.containers.flatMap((c) => c.volumes),
  };
}

/** Whether any policy has an `unusedFor` condition, so an unknown last use deserves a warning. */
export function usesLastUse(config: Config): boolean {
  return config.policies.some(
    (p) => (p.resource === 'image' || p.resource === 'volume') && p.match.unusedFor !== undefined,
  );
}

/** The state file of one engine: named by a hash of its ID (IDs hold `:`, and may be long). */
export function stateFile(dir: string, engineId: string): string {
  return path.join(dir, `last-use-${createHash('sha256').update(engineId).digest('hex').slice(0, 16)}.json`);
}
