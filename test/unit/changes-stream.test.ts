// watchChanges against a small HTTP server on a Unix socket that plays the engine's `/events`:
// it vouches only once the stream is open, reads what it sends, and gives up on a stream whose
// headers a proxy holds back, or that the engine refuses, without making anyone wait.
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchChanges } from '../../src/engine/changes.js';
import { dockerOptions, engineClient } from '../../src/engine/client.js';
import type { Changes } from '../../src/engine/engine.js';

const servers: Server[] = [];
const watches: Changes[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
  for (const s of servers.splice(0)) s.close();
});

/** A fake engine answering `/events` with `events`; returns a stream client for it and the query it got. */
async function engine(events: (req: IncomingMessage, res: ServerResponse) => void) {
  const socket = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-changes-')), 'engine.sock');
  const urls: string[] = [];
  const server = createServer((req, res) => {
    urls.push(req.url ?? '');
    if (req.url?.includes('/events')) events(req, res);
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const { timeout: _idle, ...options } = dockerOptions(`unix://${socket}`, 5000) as { timeout?: number };
  return { client: engineClient({ ...options, version: 'v1.41' }), urls };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};
const line = (type: string, action: string, id: string) =>
  `${JSON.stringify({ Type: type, Action: action, Actor: { ID: id, Attributes: {} }, time: 1, timeNano: 1e9 })}\n`;

describe('watchChanges', () => {
  it('vouches once the stream is open, and asks for the second before and for containers and images only', async () => {
    let send: ((s: string) => void) | undefined;
    const { client, urls } = await engine((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      send = (s) => res.write(s);
    });
    const before = Date.now() / 1000;
    const w = watchChanges(client);
    watches.push(w);
    expect(w.intact).toBe(false);
    expect(w.imagesQuiet()).toBe(false);
    await until(() => w.intact);
    expect(w.imagesQuiet()).toBe(true);
    const query = new URL(urls[0] ?? '', 'http://x').searchParams;
    expect(Number(query.get('since'))).toBeGreaterThan(before - 1.5);
    expect(Number(query.get('since'))).toBeLessThan(before - 0.5);
    expect(JSON.parse(query.get('filters') ?? '{}')).toEqual({ type: ['container', 'image'] });
    // An event split across chunks is read whole.
    const die = line('container', 'die', 'c1');
    send?.(die.slice(0, 20));
    send?.(die.slice(20) + line('image', 'tag', 'sha256:x'));
    await until(() => !w.imagesQuiet());
    expect(w.imagesQuiet()).toBe(false);
    expect(w.containerChanged('c1')).toBe(true);
    expect(w.containerChanged('c2')).toBe(false);
    expect(w.intact).toBe(true);
    // Counted on the engine's clock: one 30 s behind this host's is asked for its own second before.
    const behind = watchChanges(client, -30_000);
    watches.push(behind);
    await until(() => urls.length === 2);
    const since2 = Number(new URL(urls[1] ?? '', 'http://x').searchParams.get('since'));
    expect(since2).toBeGreaterThan(before - 31.5);
    expect(since2).toBeLessThan(Date.now() / 1000 - 30.5);
  });

  it('a line that is no event breaks it for good', async () => {
    let send: ((s: string) => void) | undefined;
    const { client } = await engine((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      send = (s) => res.write(s);
    });
    const w = watchChanges(client);
    watches.push(w);
    await until(() => w.intact);
    send?.('{"not":"an event"}\n');
    await until(() => !w.intact);
    expect(w.intact).toBe(false);
    expect(w.containerChanged('c2')).toBe(true);
  });

  it('headers held back past the bound: it never vouches, and nothing waited for it', async () => {
    const { client } = await engine(() => undefined);
    const w = watchChanges(client, 0, 100);
    watches.push(w);
    // Returned at once, not a promise to wait on.
    expect('then' in w).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.intact).toBe(false);
    expect(w.imagesQuiet()).toBe(false);
  });

  it('a refused request (a proxy that allows no /events): it never vouches', async () => {
    const { client } = await engine((_req, res) => res.writeHead(403).end('{"message":"forbidden"}'));
    const w = watchChanges(client);
    watches.push(w);
    await new Promise((r) => setTimeout(r, 200));
    expect(w.intact).toBe(false);
  });

  it('the engine closing the stream breaks it', async () => {
    let end: (() => void) | undefined;
    const { client } = await engine((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      end = () => res.end();
    });
    const w = watchChanges(client);
    watches.push(w);
    await until(() => w.intact);
    end?.();
    await until(() => !w.intact);
    expect(w.intact).toBe(false);
  });
});
