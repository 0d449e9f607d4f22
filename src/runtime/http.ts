/** The read-only HTTP endpoint: /metrics for Prometheus, /healthz for orchestrators. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';

export interface HealthState {
  readonly dockerUp: boolean;
  readonly lastCycle: { readonly result: string; readonly at: string } | undefined;
  readonly configOk: boolean;
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * How long one rendering of the registry is served again. A burst of scrapers then costs one
 * rendering, not one each: 200 at once used to render 200 times, which starved the event loop,
 * so /healthz timed out and a cycle took 13 times longer. The price is that a scrape may show
 * values up to this old, which no Prometheus scrape interval (15 s and up) can notice.
 */
export const METRICS_REUSE_MS = 1000;

/**
 * Limits that keep a flood of clients from growing memory without bound. Connections beyond
 * `maxConnections` are closed at once by Node; a client that sends its headers or its request
 * too slowly, or stops reading its answer, is disconnected, so it cannot hold a slot for long.
 * Prometheus sends small requests and reads its answers at once, so none of this touches it.
 */
const LIMITS = {
  maxConnections: 256,
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
  /** How often Node looks for connections past the two timeouts above (its default is 30 s). */
  connectionsCheckingInterval: 2_000,
  /** A socket with no traffic either way for this long is closed (a reader that stopped reading). */
  idleTimeout: 30_000,
  /** Pipelined or kept-alive requests on one connection before Node closes it. */
  maxRequestsPerSocket: 1000,
} as const;

/** Splits `host:port` or `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}

/**
 * Starts the endpoint. Concurrent /metrics requests share one rendering of `registry` (see
 * METRICS_REUSE_MS); /healthz never waits for a rendering.
 */
export async function startHttp(listen: string, registry: Registry, health: () => HealthState): Promise<HttpServer> {
  const render = sharedRendering(registry, METRICS_REUSE_MS);
  const server = http.createServer(
    {
      headersTimeout: LIMITS.headersTimeout,
      requestTimeout: LIMITS.requestTimeout,
      keepAliveTimeout: LIMITS.keepAliveTimeout,
      connectionsCheckingInterval: LIMITS.connectionsCheckingInterval,
    },
    (req, res) => {
      // A request must never take the daemon down: any failure is a 500 for that request.
      handle(req, res, registry.contentType, render, health).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    },
  );
  server.maxConnections = LIMITS.maxConnections;
  server.maxRequestsPerSocket = LIMITS.maxRequestsPerSocket;
  server.setTimeout(LIMITS.idleTimeout);
  const { host, port } = parseListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Returns a function that renders the registry, or hands out the rendering in flight or one
 * younger than `reuseMs`. The age is read from a monotonic clock, so a wall-clock step back
 * cannot keep an old rendering alive. A failed rendering is not kept: the next request tries
 * again. The body is a Buffer made once, so many answers share its bytes rather than each
 * encoding a copy of the text.
 */
function sharedRendering(registry: Registry, reuseMs: number): () => Promise<Buffer> {
  let inFlight: Promise<Buffer> | undefined;
  let last: { readonly body: Buffer; readonly startedAt: number } | undefined;
  return () => {
    if (last !== undefined && performance.now() - last.startedAt < reuseMs) return Promise.resolve(last.body);
    if (inFlight === undefined) {
      const startedAt = performance.now();
      inFlight = registry
        .metrics()
        .then((text) => {
          const body = Buffer.from(text, 'utf8');
          last = { body, startedAt };
          return body;
        })
        .finally(() => {
          inFlight = undefined;
        });
    }
    return inFlight;
  };
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  contentType: string,
  render: () => Promise<Buffer>,
  health: () => HealthState,
): Promise<void> {
  // Only the path matters; parsing it by hand avoids URL's errors on inputs like "//".
  const pathname = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (pathname === '/metrics') {
    const body = await render();
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length }).end(body);
  } else if (pathname === '/healthz') {
    // The process is healthy while it runs its loop; an engine outage is reported, not fatal,
    // so an orchestrator does not restart reclaimd for a problem a restart cannot fix. It is
    // answered at once, never behind a rendering of the metrics.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...health() }));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics or /healthz\n');
  }
}
