/**
 * What changed on the engine while a cycle runs, from its `/events` stream, so that the checks
 * made just before each removal cost nothing when nothing happened. The stream is asked for
 * before the cycle lists anything, with the events of the second before it: the engine sends
 * the answer's headers before it subscribes (moby's getEvents), and what it replays from its
 * buffer on subscribing covers that moment, so every change after the listing is in it. The
 * second is counted on the engine's clock (its offset from this host's is read at connect), so
 * a remote engine whose clock runs behind is covered too. Anything that could give an image a new name or a new user (a
 * tag, pull, load, import, build, push, commit, or any container created) makes images
 * "not quiet", and every later image removal then looks at its image afresh as before; any
 * event of a container marks it changed. A stream that could not be opened, failed, ended or
 * sent a line that cannot be read vouches for nothing: every check is made, as without it.
 */
import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';
import type { EngineEvent } from '../core/model/engine-events.js';
import type { Changes } from './engine.js';
import { eventReader } from './events.js';

/** Image actions that give no image a new name, digest or user: removals and reads. */
const HARMLESS_IMAGE_ACTIONS: ReadonlySet<string> = new Set(['untag', 'delete', 'prune', 'save']);

/** How far back the stream replays: covers the moment between its headers and its subscription. */
const REPLAY_MS = 1000;

/** Changes that vouch for nothing: every check is made. */
export const UNWATCHED: Changes = {
  intact: false,
  began: Number.POSITIVE_INFINITY,
  imagesQuiet: () => false,
  containerChanged: () => true,
  close: () => undefined,
};

/** The state a stream builds up, event by event; pure, so the rules can be tested alone. */
export class ChangeLog {
  private broken = false;
  private imagesTouched = false;
  private readonly containers = new Set<string>();

  /** Takes one event. */
  see(event: EngineEvent): void {
    if (event.type === 'image' && !HARMLESS_IMAGE_ACTIONS.has(event.action)) this.imagesTouched = true;
    if (event.type === 'container') {
      this.containers.add(event.actorId);
      // A new container may use any image, by a name no listing resolved for it.
      if (event.action === 'create') this.imagesTouched = true;
    }
  }

  /** The stream stopped vouching: it failed, ended, or sent what cannot be read. */
  fail(): void {
    this.broken = true;
  }

  get intact(): boolean {
    return !this.broken;
  }

  imagesQuiet(): boolean {
    return !this.broken && !this.imagesTouched;
  }

  containerChanged(id: string): boolean {
    return this.broken || this.containers.has(id);
  }
}

/**
 * Starts the stream on `streams` (a client without an idle timeout: a quiet stream is no
 * failure) and returns at once: nothing waits for it. Until its headers arrive it vouches for
 * nothing, and it vouches for nothing at all if they take longer than `openMs`: the replay of
 * what happened since the request went out is bounded (the engine keeps its last 256 events),
 * and a proxy may hold the headers until a first event.
 */
export function watchChanges(streams: Docker, clockOffsetMs = 0, openMs = 1000): Changes {
  const began = performance.now();
  const log = new ChangeLog();
  let open = false;
  let stream: IncomingMessage | undefined;
  const abort = new AbortController();
  const late = setTimeout(() => {
    log.fail();
    abort.abort();
  }, openMs);
  const fail = () => {
    log.fail();
    stream?.destroy();
  };
  streams
    .getEvents({
      // In the engine's time: `since` is compared with its clock, not this host's.
      since: (Date.now() + clockOffsetMs - REPLAY_MS) / 1000,
      filters: { type: ['container', 'image'] },
      abortSignal: abort.signal,
    } as Docker.GetEventsOptions)
    .then((answer) => {
      clearTimeout(late);
      stream = answer as unknown as IncomingMessage;
      if (!log.intact) return void stream.destroy();
      open = true;
      const read = eventReader((event) => log.see(event), fail);
      stream.on('data', (chunk: Buffer) => {
        if (log.intact) read(chunk);
      });
      stream.on('end', fail);
      stream.on('close', fail);
      stream.on('error', fail);
    })
    .catch(() => {
      clearTimeout(late);
      log.fail();
    });
  return {
    get intact() {
      return open && log.intact;
    },
    began,
    imagesQuiet: () => open && log.imagesQuiet(),
    containerChanged: (id) => !open || log.containerChanged(id),
    close: () => {
      clearTimeout(late);
      log.fail();
      abort.abort();
      stream?.destroy();
    },
  };
}
