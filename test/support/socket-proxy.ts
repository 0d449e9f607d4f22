// A unix-socket proxy in front of the test engine. Stopping it makes the engine unreachable
// for reclaimd (mid-cycle too, since open connections are cut) without touching the engine
// that other tests use; starting it again brings the engine "back".
import net from 'node:net';
import { rmSync } from 'node:fs';

export class SocketProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {}

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      // While frozen, requests are accepted but never forwarded: an engine that hangs.
      client.on('data', (d: Buffer) => {
        if (!this.frozen) upstream.write(d);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
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

  /** Stops listening and cuts every open connection, like an engine that went away. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
