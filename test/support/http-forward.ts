// What the tests' HTTP proxies on unix sockets share: forwarding a request to the engine's
// socket, and stopping a server so that its socket file is gone.
import http from 'node:http';
import { rmSync } from 'node:fs';

/**
 * Forwards `req` to the engine at the unix socket `target` and its answer back; `answer`, when
 * given, writes the answer itself instead (to rewrite it).
 */
export function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: string,
  answer?: (upstream: http.IncomingMessage, res: http.ServerResponse) => void,
): void {
  const upstream = http.request(
    { socketPath: target, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers },
    (a) => {
      if (answer) return answer(a, res);
      res.writeHead(a.statusCode ?? 502, a.headers);
      a.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

/** Closes the server and every connection it holds, and removes its socket file. */
export async function stopServer(server: http.Server | undefined, socketPath: string): Promise<void> {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  rmSync(socketPath, { force: true });
}
