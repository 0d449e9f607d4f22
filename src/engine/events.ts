/**
 * Following the engine's `/events` stream for the last-use store, and the few requests that
 * turn an event into an image ID. The stream reconnects on its own after a drop or an engine
 * restart; each (re)connection is announced so the store can resync from full listings,
 * because the engine keeps only its last 256 events and anything missed is gone.
 */
import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';
import type { EngineEvent, Listing } from '../core/model/engine-events.js';
import { dockerOptions, engineClient } from './client.js';
import { decodeJson, routeOf } from './answers/routes.js';
import { inPath } from './request-path.js';

export interface EventHandlers {
  /** The stream is open; `engineId` is the engine's `/info` ID at that moment. */
  onConnected(engineId: string): void | Promise<void>;
  onEvent(event: EngineEvent): void;
  onDisconnected(reason: string): void;
}

const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** The longest event line read; see the stream's 'data' handler. */
const MAX_EVENT_BYTES = 1024 * 1024;
/** How long a stream must stay up before the reconnection backoff starts over. */
const STEADY_MS = 60_000;

export interface FollowerTiming {
  /** Bound on the wait for the event stream's response headers; default: the request timeout. */
  readonly headersTimeoutMs?: number;
  /** How long a stream must stay up before the backoff starts over; default 60 s. */
  readonly steadyMs?: number;
}

/** Subscribes to container, image and volume events, reconnecting until stopped. */
export class EventFollower {
  private stream: IncomingMessage | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Aborts the event request while its response headers are awaited. */
  private request: AbortController | undefined;
  private backoffMs = INITIAL_BACKOFF_MS;
  private readonly headersTimeoutMs: number;
  private readonly steadyMs: number;
  /** Seconds of the newest event seen, to replay what the engine still holds after a drop. */
  private since: number | undefined;
  private readonly streamDocker: Docker;
  private readonly docker: Docker;

  constructor(
    address: string | undefined,
    apiVersion: string,
    timeoutMs: number,
    private readonly handlers: EventHandlers,
    timing: FollowerTiming = {},
  ) {
    this.headersTimeoutMs = timing.headersTimeoutMs ?? timeoutMs;
    this.steadyMs = timing.steadyMs ?? STEADY_MS;
    const version = `v${apiVersion}`;
    // No `timeout` on the stream's client: docker-modem applies it as a socket idle timeout,
    // which would cut a quiet stream every `timeoutMs`. Requests keep theirs.
    const { timeout: _ignored, ...streamOptions } = dockerOptions(address, timeoutMs);
    this.streamDocker = engineClient({ ...streamOptions, version } as Docker.DockerOptions);
    this.docker = engineClient({ ...dockerOptions(address, timeoutMs), version } as Docker.DockerOptions);
  }

  start(): void {
    void this.connect();
  }

  /** Closes the stream and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A request still waiting for its headers (a proxy may hold them until the first event)
    // holds a socket open: left alone, it would keep a stopped daemon from exiting.
    this.request?.abort();
    this.stream?.destroy();
    this.stream = undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const filters = { type: ['container', 'image', 'volume'] as Array<'container' | 'image' | 'volume'> };
    // A stalled proxy may accept the connection and never answer: the wait for the response
    // headers is bounded (by the request timeout), or connect would hang forever with no retry.
    const abort = new AbortController();
    this.request = abort;
    const headersTimer = setTimeout(() => abort.abort(), this.headersTimeoutMs);
    let stream: IncomingMessage;
    try {
      stream = (await this.streamDocker.getEvents({
        filters,
        ...(this.since !== undefined ? { since: this.since } : {}),
        abortSignal: abort.signal,
      })) as unknown as IncomingMessage;
    } catch (err) {
      this.retry(
        abort.signal.aborted
          ? `no answer to the event request within ${this.headersTimeoutMs} ms`
          : (err as Error).message,
      );
      return;
    } finally {
      clearTimeout(headersTimer);
      this.request = undefined;
    }
    if (this.stopped) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    let ended = false;
    let steady: NodeJS.Timeout | undefined;
    // Events that arrive before the engine's ID is known wait for onConnected, which decides
    // whether this engine's events count at all.
    let early: EngineEvent[] | undefined = [];
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (steady) clearTimeout(steady);
      stream.destroy();
      if (this.stream === stream) this.stream = undefined;
      this.retry(reason);
    };
    // The listeners are attached before anything else is awaited: a stream that closes while
    // `/info` is asked must still end in a retry (and a reported disconnection).
    // A use the stream reported but reclaimd could not read would be a use missed, and an
    // image removed as unused: a line that is no event ends the stream, to start again and
    // resync from full listings.
    const read = eventReader((event) => {
      this.since = Math.floor(event.time / 1000);
      if (early) early.push(event);
      else this.handlers.onEvent(event);
    }, end);
    stream.on('data', (chunk: Buffer) => {
      if (!ended) read(chunk);
    });
    stream.on('end', () => end('the engine closed the event stream'));
    stream.on('close', () => end('the event stream closed'));
    stream.on('error', (err) => end(err.message));
    let engineId: string;
    try {
      engineId = ((await this.docker.info()) as { ID?: string }).ID ?? '';
    } catch (err) {
      // The stream is destroyed here, or every failed attempt would leak its socket.
      end((err as Error).message);
      return;
    }
    if (ended || this.stopped) return;
    // The backoff starts over only once a stream has stayed up for a while: a proxy that cuts
    // every stream at once would otherwise get a reconnection (and a resync) every second.
    steady = setTimeout(() => {
      if (!ended) this.backoffMs = INITIAL_BACKOFF_MS;
    }, this.steadyMs);
    steady.unref();
    const connected = this.handlers.onConnected(engineId);
    const held = early;
    early = undefined;
    for (const event of held) this.handlers.onEvent(event);
    await connected;
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    this.handlers.onDisconnected(reason);
    this.timer = setTimeout(() => void this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  /** The delay before the next reconnection (for tests and logs). */
  get nextBackoffMs(): number {
    return this.backoffMs;
  }

  /** What a full listing shows, for the resync after each (re)connection. */
  async listing(): Promise<Listing> {
    const [images, containers, volumes] = await Promise.all([
      this.docker.listImages({ all: true }),
      this.docker.listContainers({ all: true }),
      this.docker.listVolumes(),
    ]);
    return {
      images: images.map((i) => i.Id),
      containerImages: containers.map((c) => c.ImageID),
      volumes: (volumes.Volumes ?? []).map((v) => v.Name),
      mountedVolumes: containers.flatMap((c) =>
        (c.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])),
      ),
    };
  }

  /** The ID of the image a reference (or ID) names now, or undefined when there is none. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(inPath(ref)).inspect()).Id;
    } catch {
      return undefined;
    }
  }

  /** The image ID of a container, or undefined when it is gone (e.g. after `destroy`). */
  async containerImage(id: string): Promise<string | undefined> {
    try {
      return (await this.docker.getContainer(inPath(id)).inspect()).Image;
    } catch {
      return undefined;
    }
  }
}

const EVENT_ROUTE = routeOf('GET', '/events');

/**
 * Reads an event stream chunk by chunk (chunks do not line up with lines): each complete line
 * that is an event goes to `onEvent`, in order. A line that is no event, or one longer than
 * MAX_EVENT_BYTES (an event is a few hundred bytes: a line that never ends is no event
 * stream), goes to `fail` with why, and the rest of that chunk is not read.
 */
export function eventReader(onEvent: (event: EngineEvent) => void, fail: (reason: string) => void) {
  let buffer = '';
  return (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    if (buffer.length > MAX_EVENT_BYTES)
      return fail(`the event stream sent a line longer than ${MAX_EVENT_BYTES} bytes`);
    for (const line of lines) {
      let event: EngineEvent | undefined;
      try {
        event = parseEvent(line);
      } catch (err) {
        return fail((err as Error).message);
      }
      if (event) onEvent(event);
    }
  };
}

/**
 * One line of the stream: undefined for a blank line (the engine sends none, a proxy may), an
 * EngineError `malformed` for anything that is not an event as answer-schemas.ts describes it.
 */
export function parseEvent(line: string): EngineEvent | undefined {
  if (line.trim() === '') return undefined;
  const raw = decodeJson(EVENT_ROUTE, 'event', line) as {
    Type: string;
    Action: string;
    Actor: { ID: string; Attributes?: Record<string, string> | null };
    time: number;
    timeNano?: number;
  };
  const time = raw.timeNano !== undefined ? Math.floor(raw.timeNano / 1e6) : raw.time * 1000;
  return {
    type: raw.Type,
    action: raw.Action,
    actorId: raw.Actor.ID,
    attributes: { ...(raw.Actor.Attributes ?? {}) },
    time,
  };
}
