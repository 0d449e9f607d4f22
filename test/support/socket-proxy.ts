// A unix-socket proxy in front of the test engine. Stopping it makes the engine unreachable
// for reclaimd (mid-cycle too, since open connections are cut) without touching the engine
// that other tests use; starting it again brings the engine "back". It can also make the
// engine slow (`delay`), hold one request or its answer (`holdAt`), or cut one answer in the
// middle (`cutAnswer`), so a test can put a fault at an exact point of a cycle.
import net from 'node:net';
import { rmSync } from 'node:fs';

/** Which request a fault applies to, from the text of its request line and headers. */
export type RequestMatch = (head: string) => boolean;

interface Hold {
  readonly match: RequestMatch;
  readonly phase: 'request' | 'answer';
  readonly held: (head: string) => void;
}

interface Cut {
  readonly match: RequestMatch;
  readonly bytes: number;
  readonly then: 'cut' | 'stall';
  readonly done: () => void;
}

/** Per-connection state of the faults that act on one answer. */
interface Pending {
  holdAnswer?: { readonly fault: Hold; readonly head: string };
  cut?: { readonly fault: Cut; seen: Buffer };
  /** The rest of a stalled answer is swallowed. */
  stalled?: true;
}

const REQUEST_LINE = /^(GET|POST|PUT|DELETE|HEAD) /;

export class SocketProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;
  private delayMs = 0;
  private hold: Hold | undefined;
  private cut: Cut | undefined;
  private readonly watchers: Array<{ match: RequestMatch; seen: (head: string) => void }> = [];

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {}

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      const pending: Pending = {};
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      // While frozen, requests are accepted but never forwarded: an engine that hangs.
      client.on('data', (d: Buffer) => {
        if (this.frozen) return;
        if (this.request(d, pending) === 'forward') upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => this.answer(d, pending, client, upstream));
      client.on('close', () => upstream.destroy());
      // Later by the same delay as the data, so a slow answer is not cut short.
      upstream.on('close', () => this.later(() => client.destroy()));
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  /** From now on the engine "hangs": new requests get no answer until `thaw`. */
  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  /** Every piece of every answer reaches reclaimd `ms` later than the engine sent it. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /**
   * The first request that matches is held, and the proxy freezes (so nothing after it gets
   * through either): with 'request' it never reaches the engine; with 'answer' the engine
   * carries it out but its answer never reaches reclaimd. Resolves once it is held (for
   * 'answer': once the engine has answered) with the held request's head. `thaw` lets later
   * requests through again; the held one stays held until its connection closes.
   */
  holdAt(match: RequestMatch, phase: 'request' | 'answer'): Promise<string> {
    return new Promise((resolve) => {
      this.hold = { match, phase, held: resolve };
    });
  }

  /** Resolves with the head of the first request that matches, once it goes on to the engine. */
  seen(match: RequestMatch): Promise<string> {
    return new Promise((resolve) => this.watchers.push({ match, seen: resolve }));
  }

  /**
   * The answer to the first request that matches is passed on up to `bytes` bytes of its body
   * (its headers whole; `bytes` must be less than the body), then the connection is cut, or
   * with 'stall' kept open with nothing more on it. Once only; resolves when it was done.
   */
  cutAnswer(match: RequestMatch, bytes: number, then: 'cut' | 'stall' = 'cut'): Promise<void> {
    return new Promise((resolve) => {
      this.cut = { match, bytes, then, done: resolve };
    });
  }

  /** Stops listening and cuts every open connection, like an engine that went away. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  /** Arms the faults a new request triggers; says whether it goes on to the engine. */
  private request(d: Buffer, pending: Pending): 'forward' | 'drop' {
    const head = d.toString('latin1');
    if (!REQUEST_LINE.test(head)) return 'forward';
    const hold = this.hold;
    if (hold?.match(head)) {
      this.hold = undefined;
      this.frozen = true;
      if (hold.phase === 'request') {
        hold.held(head);
        return 'drop';
      }
      pending.holdAnswer = { fault: hold, head };
    }
    for (const [i, w] of this.watchers.entries()) {
      if (!w.match(head)) continue;
      this.watchers.splice(i, 1);
      w.seen(head);
      break;
    }
    const cut = this.cut;
    if (cut?.match(head)) {
      this.cut = undefined;
      pending.cut = { fault: cut, seen: Buffer.alloc(0) };
    }
    return 'forward';
  }

  private answer(d: Buffer, pending: Pending, client: net.Socket, upstream: net.Socket): void {
    if (pending.holdAnswer) {
      pending.holdAnswer.fault.held(pending.holdAnswer.head);
      return;
    }
    if (pending.stalled) return;
    const cut = pending.cut;
    if (cut) {
      cut.seen = Buffer.concat([cut.seen, d]);
      const bodyStart = cut.seen.indexOf('\r\n\r\n');
      const end = bodyStart < 0 ? -1 : bodyStart + 4 + cut.fault.bytes;
      if (end < 0 || cut.seen.length < end) {
        this.later(() => client.write(d));
        return;
      }
      const last = d.subarray(0, d.length - (cut.seen.length - end));
      delete pending.cut;
      if (cut.fault.then === 'stall') pending.stalled = true;
      this.later(() => {
        client.write(last, () => {
          if (cut.fault.then === 'cut') {
            client.destroy();
            upstream.destroy();
          }
          cut.fault.done();
        });
      });
      return;
    }
    this.later(() => client.write(d));
  }

  private later(fn: () => void): void {
    if (this.delayMs === 0) fn();
    else setTimeout(fn, this.delayMs);
  }
}
