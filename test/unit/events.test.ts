// The event follower against a small HTTP server on a Unix socket that plays the engine's
// `/events` and `/info`: a stream that closes while `/info` is asked, an `/info` that fails, a
// proxy that never answers, and a proxy that cuts every stream at once.
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventFollower, type EventHandlers } from '../../src/engine/events.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
const followers: EventFollower[] = [];
afterEach(() => {
  for (const f of followers.splice(0)) f.stop();
  for (const s of servers.splice(0)) s.close();
});

/** A fake engine; `events` and `info` get the request count so far, from 1. */
async function engine(events: Handler, info: Handler): Promise<string> {
  const socket = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-events-')), 'engine.sock');
  let e = 0;
  let i = 0;
  const server = createServer((req, res) => {
    if (req.url?.includes('/events')) events(req, res, ++e);
    else if (req.url?.includes('/info')) info(req, res, ++i);
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return `unix://${socket}`;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const openStream = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
};

function follow(address: string, handlers: Partial<EventHandlers>, timing = {}): EventFollower {
  const f = new EventFollower(
    address,
    '1.41',
    5000,
    { onConnected: () => undefined, onEvent: () => undefined, onDisconnected: () => undefined, ...handlers },
    timing,
  );
  followers.push(f);
  f.start();
  return f;
}

describe('EventFollower', () => {
  it('a stream that closes while /info is asked still ends in a retry', async () => {
    let cut: (() => void) | undefined;
    const reconnected = new Promise<void>((resolve) => {
      void engine(
        (_req, res, n) => {
          openStream(res);
          if (n === 1) cut = () => res.destroy();
          else resolve();
        },
        (_req, res, n) => {
          if (n === 1 && cut) {
            // The stream dies before /info answers.
            cut();
            setTimeout(() => json(res, 200, { ID: 'E', DriverStatus: [] }), 50);
          } else json(res, 200, { ID: 'E', DriverStatus: [] });
        },
      ).then((address) => follow(address, { onDisconnected: (r) => reasons.push(r) }));
    });
    const reasons: string[] = [];
    await reconnected;
    expect(reasons.length).toBeGreaterThanOrEqual(1);
  });

  it('a failing /info destroys the opened stream', async () => {
    const reasons: string[] = [];
    const closed = new Promise<void>((resolve) => {
      void engine(
        (_req, res, n) => {
          openStream(res);
          if (n === 1) res.on('close', () => resolve());
        },
        (_req, res) => json(res, 500, { message: 'info is broken' }),
      ).then((address) => follow(address, { onDisconnected: (r) => reasons.push(r) }));
    });
    await closed;
    expect(reasons[0]).toContain('info is broken');
  });

  it('a proxy that never answers the event request is given up on and retried', async () => {
    const address = await engine(
      () => undefined,
      (_req, res) => json(res, 200, { ID: 'E', DriverStatus: [] }),
    );
    const reason = await new Promise<string>((resolve) =>
      follow(address, { onDisconnected: resolve }, { headersTimeoutMs: 200 }),
    );
    expect(reason).toContain('no answer');
  });

  it('stop closes an event request still waiting for its headers', async () => {
    let closed: Promise<void> | undefined;
    const asked = new Promise<void>((resolve) => {
      void engine(
        (req) => {
          closed = new Promise<void>((done) => req.socket.on('close', () => done()));
          resolve();
        },
        (_req, res) => json(res, 200, { ID: 'E', DriverStatus: [] }),
      ).then((address) => follow(address, {}, { headersTimeoutMs: 60_000 }));
    });
    await asked;
    followers[0]?.stop();
    // Without the abort the socket stays open until the 60 s header bound: the test times out.
    await closed;
  }, 10_000);

  it('events that arrive while /info is asked are delivered after onConnected', async () => {
    const line = `${JSON.stringify({ Type: 'image', Action: 'tag', Actor: { ID: 'sha256:x', Attributes: {} }, time: 1, timeNano: 1e9 })}\n`;
    const address = await engine(
      (_req, res) => {
        openStream(res);
        res.write(line);
      },
      (_req, res) => setTimeout(() => json(res, 200, { ID: 'E', DriverStatus: [] }), 100),
    );
    const order: string[] = [];
    await new Promise<void>((resolve) =>
      follow(address, {
        onConnected: () => void order.push('connected'),
        onEvent: (e) => {
          order.push(`event ${e.actorId}`);
          resolve();
        },
      }),
    );
    expect(order).toEqual(['connected', 'event sha256:x']);
  });

  it('a stream cut at once does not reset the backoff', async () => {
    const address = await engine(
      (_req, res) => {
        openStream(res);
        setTimeout(() => res.destroy(), 20);
      },
      (_req, res) => json(res, 200, { ID: 'E', DriverStatus: [] }),
    );
    let drops = 0;
    let follower: EventFollower | undefined;
    const backoffs: number[] = [];
    await new Promise<void>((resolve) => {
      follower = follow(address, {
        onDisconnected: () => {
          drops += 1;
          // Read after retry() doubled it: the delay before the NEXT attempt.
          queueMicrotask(() => {
            backoffs.push(follower?.nextBackoffMs ?? 0);
            if (drops === 2) resolve();
          });
        },
      });
    });
    // 1 s, then 2 s: the short-lived success in between did not start over at 1 s.
    expect(backoffs).toEqual([2000, 4000]);
  });
});
