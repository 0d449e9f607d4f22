// An HTTP proxy on a unix socket in front of the test engine that makes it look like an engine
// with other API versions: `/version` answers with the given ApiVersion and MinAPIVersion,
// and a request pinned below the minimum gets the 400 that Docker 29 gives one below 1.44.
// It records every request path, so a test can show which version reclaimd spoke.
import http from 'node:http';
import { rmSync } from 'node:fs';
import { forward, stopServer } from './http-forward.js';

export interface Versions {
  readonly api: string;
  readonly min: string;
}

const VERSIONED = /^\/v(\d+)\.(\d+)\//;

export class VersionProxy {
  readonly paths: string[] = [];
  private server: http.Server | undefined;

  constructor(
    readonly path: string,
    private readonly target: string,
    private readonly versions: Versions,
  ) {}

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    const [minMajor, minMinor] = this.versions.min.split('.').map(Number) as [number, number];
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      this.paths.push(url.split('?')[0] ?? '');
      const m = VERSIONED.exec(url);
      if (m && (Number(m[1]) < minMajor || (Number(m[1]) === minMajor && Number(m[2]) < minMinor))) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            message: `client version ${m[1]}.${m[2]} is too old. Minimum supported API version is ${this.versions.min}, please upgrade your client to a newer version`,
          }),
        );
        return;
      }
      if (!/^(\/v[\d.]+)?\/version$/.test(url.split('?')[0] ?? '')) return forward(req, res, this.target);
      forward(req, res, this.target, (answer, out) => {
        let body = '';
        answer.on('data', (c: Buffer) => (body += c.toString()));
        answer.on('end', () => {
          const v = JSON.parse(body) as Record<string, unknown>;
          const text = JSON.stringify({ ...v, ApiVersion: this.versions.api, MinAPIVersion: this.versions.min });
          out.writeHead(answer.statusCode ?? 200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          out.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(this.path, resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await stopServer(server, this.path);
  }
}
