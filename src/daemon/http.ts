/** The read-only HTTP endpoint: /metrics for Prometheus, /healthz for orchestrators. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** Splits `host:port` or `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}

export async function startHttp(listen: string, registry: Registry, health: () => HealthState): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    // A request must never take the daemon down: any failure is a 500 for that request.
    handle(req, res, registry, health).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
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

async function handle(req: http.IncomingMessage, res: http.ServerResponse, registry: Registry, health: () => HealthState): Promise<void> {
  // Only the path matters; parsing it by hand avoids URL's errors on inputs like "//".
  const pathname = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (pathname === '/metrics') {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  } else if (pathname === '/healthz') {
    // The process is healthy while it runs its loop; an engine outage is reported, not fatal,
    // so an orchestrator does not restart reclaimd for a problem a restart cannot fix.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...health() }));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics or /healthz\n');
  }
}
