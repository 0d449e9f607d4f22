/**
 * The daemon's last-use tracker: the store, fed by the engine's event stream between cycles
 * and by every cycle's snapshot. Flushed after each cycle and on shutdown, not on every event.
 */
import type { EngineEvent } from '../policy/last-use.js';
import { useOf } from '../policy/last-use.js';
import type { Snapshot, Usage } from '../policy/snapshot.js';
import { EventFollower } from '../docker/events.js';
import { LastUseStore } from './last-use-store.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface EngineIdentity {
  readonly address: string | undefined;
  readonly engineId: string;
  readonly apiVersion: string;
  readonly timeoutMs: number;
}

export class LastUseTracker {
  private store: LastUseStore | undefined;
  private follower: EventFollower | undefined;
  private key = '';
  /** Events are applied one at a time, in order, each after its lookups. */
  private queue: Promise<void> = Promise.resolve();
  /** False while the stream is connected to an engine other than the open record's. */
  private sameEngine = true;
  private lastFlush = Date.now();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Makes sure the record of this engine is open and its events followed. Called before each
   * cycle with the engine the cycle uses; a new engine (or state directory) flushes the old
   * record and opens the new one.
   */
  async attach(engine: EngineIdentity, dir: string | undefined, needed: boolean): Promise<void> {
    const key = JSON.stringify([engine.address, engine.engineId, dir]);
    if (key === this.key && this.store) return;
    await this.detach();
    this.key = key;
    const store = new LastUseStore({ dir, log: this.log, metrics: this.metrics, needed });
    await store.open(engine.engineId);
    this.store = store;
    if (!store.known) return;
    const follower = new EventFollower(engine.address, engine.apiVersion, engine.timeoutMs, {
      onConnected: async (engineId) => {
        this.sameEngine = engineId === engine.engineId;
        if (!this.sameEngine) {
          this.log.warn({}, 'the event stream reached a different engine; its events are ignored until the next cycle reconnects');
          return;
        }
        this.metrics.eventsConnected.set(1);
        this.log.info({}, 'following engine events for last use');
        // Whatever happened while the stream was down is only visible in the listings.
        await this.enqueue(async () => store.resync(await follower.listing(), Date.now()));
      },
      onEvent: (event) => {
        if (this.sameEngine) void this.enqueue(() => this.apply(store, follower, event));
      },
      onDisconnected: (reason) => {
        this.metrics.eventsConnected.set(0);
        this.log.warn({ reason }, 'the engine event stream dropped; reconnecting');
      },
    });
    this.follower = follower;
    follower.start();
  }

  /** Merges a cycle's snapshot and returns the usage to plan with (undefined: unknown). */
  observe(snapshot: Snapshot, now: number): Usage | undefined {
    return this.store?.observe(snapshot, now);
  }

  async flush(): Promise<void> {
    this.lastFlush = Date.now();
    await this.queue;
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
    this.metrics.eventsConnected.set(0);
    await this.flush();
    this.store = undefined;
    this.key = '';
  }

  private enqueue(task: () => Promise<void> | void): Promise<void> {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      this.log.debug({ err: (err as Error).message }, 'could not apply an engine event to last use');
    });
    return this.queue;
  }

  /**
   * Records one event. The time is when reclaimd received it, never earlier than the use
   * itself, so a slow or skewed engine clock cannot make an object look older.
   */
  private async apply(store: LastUseStore, follower: EventFollower, event: EngineEvent): Promise<void> {
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
    const id = (target.kind === 'container' ? await follower.containerImage(target.containerId) : undefined) ?? (ref !== undefined ? await follower.imageId(ref) : undefined);
    if (id === undefined) return;
    store.noteImage(id, at);
    this.log.debug({ image: id, event: `${event.type} ${event.action}` }, 'last use recorded');
  }
}
