// An HTTP proxy on a unix socket in front of the test engine that forwards only the Engine
// API requests of an allow-list, as a filtering socket proxy does in production, and
// answers 403 to everything else. It records every request, allowed or denied, so a test can
// show that reclaimd needs nothing outside the list that the README publishes.
import http from 'node:http';
import { rmSync } from 'node:fs';
import { forward, stopServer } from './http-forward.js';

export interface AllowedRequest {
  method: string;
  /** A path template like "/images/{name}/json"; `{name}` of an image (or a distribution reference) may hold "/" and ":". */
  path: string;
}

/** The allow-list rows of the README's "Socket proxy" table: "| `GET /_ping` | … |". */
export function allowListFromReadme(readme: string): AllowedRequest[] {
  const section = readme.split('\n## Socket proxy')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^\| `(GET|HEAD|POST|PUT|DELETE) (\/[^`\s]*)` \|/gm)].map((m) => ({
    method: m[1]!,
    path: m[2]!,
  }));
}

function pattern(path: string): RegExp {
  const body = path
    .split(/(\{\w+\})/)
    .map((part) => {
      if (part === '{name}' && (path.startsWith('/images/') || path.startsWith('/distribution/'))) return '.+';
      if (/^\{\w+\}$/.test(part)) return '[^/]+';
      return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^(/v1\\.\\d+)?${body}$`);
}

export class AllowListProxy {
  readonly seen: Array<{ method: string; path: string; allowed: boolean }> = [];
  private server: http.Server | undefined;
  private readonly rules: Array<{ method: string; re: RegExp }>;

  constructor(
    readonly path: string,
    private readonly target: string,
    allowed: AllowedRequest[],
  ) {
    this.rules = allowed.map((a) => ({ method: a.method, re: pattern(a.path) }));
  }

  allows(method: string, url: string): boolean {
    const path = decodeURIComponent(url.split('?')[0] ?? '');
    return this.rules.some((r) => r.method === method && r.re.test(path));
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = http.createServer((req, res) => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const allowed = this.allows(method, url);
      this.seen.push({ method, path: url.split('?')[0] ?? '', allowed });
      if (!allowed) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `${method} ${url} is not on the allow-list` }));
        return;
      }
      forward(req, res, this.target);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await stopServer(server, this.path);
  }
}
