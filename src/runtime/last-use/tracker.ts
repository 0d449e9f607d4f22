/**
 * The daemon's last-use tracker: the store, fed by the engine's event stream between cycles
 * and by every cycle's snapshot. Flushed after each cycle and on shutdown, not on every event.
 */
import type { EngineEvent } from '../../core/model/engine-events.js';
import { useOf } from '../../core/last-use/last-use.js';
import type { Snapshot, Usage } from '../../core/model/snapshot.js';
import { EventFollower, type EventHandlers } from '../../engine/events.js';
import { LastUseStore } from './store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export interface EngineIdentity {
  readonly address: string | undefined;
  readonly engineId: string;
  readonly apiVersion: string;
  readonly timeoutMs: number;
}

/** The follower as the tracker uses it; tests pass a fake. */
export type Follower = Pick<EventFollower, 'start' | 'stop' | 'listing' | 'imageId' | 'containerImage'>;
export type FollowerFactory = (engine: EngineIdentity, handlers: EventHandlers) => Follower;

/** A (re)connection resyncs from full listings at most this often; the cycle's snapshot still counts. */
export const RESYNC_MIN_MS = 30_000;
/** Distinct pending events beyond this are not queued: everything then counts as used now. */
export const MAX_PENDING = 10_000;

/** How long shutdown waits for queued events before counting everything as used. */
const DETACH_WAIT_MS = 2000;

export interface TrackerOptions {
  /** Called when the engine behind the address is not the one the cycle connected to. */
  readonly onEngineChanged?: () => void;
  readonly follower?: FollowerFactory;
}

export class LastUseTracker {
  private store: LastUseStore | undefined;
  private follower: Follower | undefined;
  private key = '';
  /** Events waiting to be applied, one per object (a newer event replaces an older one). */
  private pending = new Map<string, EngineEvent>();
  private draining: Promise<void> | undefined;
  /** True while the stream is connected to the open record's engine. */
  private connected = false;
  /** The stream reached another engine: usage is unknown until attach opens the right record. */
  private mismatch = false;
  private lastResync = -Infinity;
  private warnedNoId = false;
  private lastFlush = Date.now();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: TrackerOptions = {},
  ) {}

  /**
   * Makes sure the record of this engine is open and its events followed. Called before each
   * cycle with the engine the cycle uses; a new engine (or state directory) flushes the old
   * record and opens the new one.
   */
  async attach(engine: EngineIdentity, dir: string | undefined, needed: boolean): Promise<void> {
    const key = JSON.stringify([engine.address, engine.engineId, dir]);
    if (key === this.key && (this.store || engine.engineId === '')) return;
    await this.detach();
    this.key = key;
    this.mismatch = false;
    this.lastResync = -Infinity;
    // An engine without an ID cannot be told from another: all of them would share one record.
    if (engine.engineId === '') {
      if (!this.warnedNoId)
        this.log[needed ? 'warn' : 'info'](
          {},
          'the engine reports no ID: last use is unknown, so unusedFor rules select nothing',
        );
      this.warnedNoId = true;
      return;
    }
    const store = new LastUseStore({ dir, log: this.log, metrics: this.metrics, needed });
    await store.open(engine.engineId);
    this.store = store;
    if (!store.known) return;
    const handlers: EventHandlers = {
      onConnected: (engineId) => {
        if (engineId !== engine.engineId) {
          this.engineChanged();
          return;
        }
        this.connected = true;
        this.metrics.eventsConnected.set(1);
        this.log.info({}, 'following engine events for last use');
        const now = Date.now();
        // Time the stream was down for longer than the bound counts as possible use.
        store.coverGap(now);
        store.markWatched(now);
        if (now - this.lastResync < RESYNC_MIN_MS) return;
        this.lastResync = now;
        // Whatever happened while the stream was down is only visible in the listings.
        return follower.listing().then(
          (listing) => store.resync(listing, Date.now()),
          (err: unknown) =>
            this.log.debug({ err: (err as Error).message }, 'could not resync last use from the listings'),
        );
      },
      onEvent: (event) => {
        if (this.connected && !this.mismatch) this.push(store, follower, event);
      },
      onDisconnected: (reason) => {
        this.connected = false;
        this.metrics.eventsConnected.set(0);
        this.log.warn({ reason }, 'the engine event stream dropped; reconnecting');
      },
    };
    const follower: Follower =
      this.options.follower?.(engine, handlers) ??
      new EventFollower(engine.address, engine.apiVersion, engine.timeoutMs, handlers);
    this.follower = follower;
    follower.start();
  }

  /** Merges a cycle's snapshot and returns the usage to plan with (undefined: unknown). */
  observe(snapshot: Snapshot, now: number): Usage | undefined {
    if (this.mismatch) return undefined;
    return this.store?.observe(snapshot, now);
  }

  /**
   * Writes the record as it is now. It does not wait for queued events (each may take two
   * requests): they are written by the next flush.
   */
  async flush(): Promise<void> {
    this.lastFlush = Date.now();
    if (this.connected && !this.mismatch) this.store?.markWatched(this.lastFlush);
    await this.store?.flush();
  }

  /**
   * Between cycles (a daily schedule, say), what the events recorded is written at most every
   * `everyMs`, so a crash loses little; never on every event.
   */
  async flushEvery(everyMs: number): Promise<void> {
    if (Date.now() - this.lastFlush >= everyMs) await this.flush();
  }

  /** Stops following events and writes the record (shutdown, or another engine). */
  async detach(): Promise<void> {
    this.follower?.stop();
    this.follower = undefined;
    // Events received but not yet applied are uses: given a moment, then counted wholesale.
    if (this.draining)
      await Promise.race([this.draining, new Promise((resolve) => setTimeout(resolve, DETACH_WAIT_MS).unref())]);
    if (this.pending.size > 0) this.store?.assumeAllUsed(Date.now());
    this.pending.clear();
    await this.flush();
    this.connected = false;
    this.metrics.eventsConnected.set(0);
    this.store = undefined;
    this.key = '';
  }

  /**
   * The stream reached an engine other than the record's (replaced behind the same address,
   * faster than the ping noticed). Its events must not land in this record, and the planner
   * must not trust the record either: usage is unknown until the next cycle reconnects to the
   * engine (the provider forgets its connection) and attach opens that engine's record.
   */
  private engineChanged(): void {
    this.log.warn(
      {},
      'the event stream reached a different engine; last use is unknown until the next cycle reconnects',
    );
    this.mismatch = true;
    this.connected = false;
    this.follower?.stop();
    this.follower = undefined;
    this.pending.clear();
    this.metrics.eventsConnected.set(0);
    this.metrics.lastUseKnown.set(0);
    this.key = '';
    this.options.onEngineChanged?.();
  }

  /** Queues an event, one per object: a burst of events for one image costs one lookup. */
  private push(store: LastUseStore, follower: Follower, event: EngineEvent): void {
    const target = useOf(event);
    if (!target) return;
    const key =
      target.kind === 'volume'
        ? `v:${target.name}`
        : target.kind === 'image'
          ? `i:${target.ref}`
          : `c:${target.imageRef ?? target.containerId}`;
    if (!this.pending.has(key) && this.pending.size >= MAX_PENDING) {
      // Dropping an event would make its object look older than it is: count everything as used.
      this.log.warn({ pending: this.pending.size }, 'too many engine events queued; everything counts as used now');
      store.assumeAllUsed(Date.now());
      return;
    }
    this.pending.delete(key);
    this.pending.set(key, event);
    this.draining ??= this.drain(store, follower).finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(store: LastUseStore, follower: Follower): Promise<void> {
    for (;;) {
      const next = this.pending.entries().next();
      if (next.done === true) return;
      const [key, event] = next.value;
      this.pending.delete(key);
      try {
        await this.apply(store, follower, event);
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'could not apply an engine event to last use');
      }
    }
  }

  /**
   * Records one event. The time is when reclaimd received it, never earlier than the use
   * itself, so a slow or skewed engine clock cannot make an object look older.
   */
  private async apply(store: LastUseStore, follower: Follower, event: EngineEvent): Promise<void> {
    const target = useOf(event);
    if (!target) return;
    const at = Date.now();
    if (target.kind === 'volume') {
      store.noteVolume(target.name, at);
      this.log.debug({ volume: target.name, event: `${event.type} ${event.action}` }, 'last use recorded');
      return;
    }
    // The container's own record names the image by ID; the reference it was created with
    // may since name another image, so it is only the fallback once the container is gone.
    const ref = target.kind === 'image' ? target.ref : target.imageRef;
    const id =
      (target.kind === 'container' ? await follower.containerImage(target.containerId) : undefined) ??
      (ref !== undefined ? await follower.imageId(ref) : undefined);
    if (id === undefined) return;
    store.noteImage(id, at);
    this.log.debug({ image: id, event: `${event.type} ${event.action}` }, 'last use recorded');
  }
}
