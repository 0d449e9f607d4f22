// Runs the real Prometheus and promtool binaries from Debian's `prometheus` package (installed
// by scripts/install-test-deps.sh) for the observability tests. Prometheus runs as a child
// process on a free loopback port with its own temporary data directory; the packaged service
// is never used.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, feeding `input` on stdin; never rejects on a non-zero exit. */
export function runTool(command: string, args: readonly string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** A port that was free a moment ago; Prometheus takes no port 0, so one is picked here. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One answer of the HTTP API: `status` is "success" or "error". */
export interface ApiAnswer<T> {
  status: string;
  data?: T;
  errorType?: string;
  error?: string;
}

export interface QueryData {
  resultType: string;
  result: unknown[];
}

export class PrometheusServer {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {
    this.child = spawn(
      '/usr/bin/prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /**
   * Starts Prometheus scraping `target` (host:port) every second as job "reclaimd" and
   * evaluating `ruleFiles` every second, so a test sees data within seconds.
   */
  static async start(target: string, ruleFiles: readonly string[]): Promise<PrometheusServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-prom-'));
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: [{ job_name: 'reclaimd', static_configs: [{ targets: [target] }] }],
    };
    writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
    return new PrometheusServer(await freePort(), dir);
  }

  /** Everything Prometheus wrote to stdout and stderr, for failure messages. */
  log(): string {
    return this.output;
  }

  async api<T>(endpoint: string, params: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    // POST with a form body, as Grafana does, so long expressions need no URL length care.
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/${endpoint}`, {
      method: Object.keys(params).length > 0 ? 'POST' : 'GET',
      ...(Object.keys(params).length > 0 && { body: new URLSearchParams(params) }),
    });
    return (await res.json()) as ApiAnswer<T>;
  }

  /** An instant query at the current time. */
  query(expr: string): Promise<ApiAnswer<QueryData>> {
    return this.api<QueryData>('query', { query: expr });
  }

  /** Answers once the HTTP API is up, or throws if Prometheus exited. */
  async ready(): Promise<boolean | undefined> {
    const code = await Promise.race([this.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 0))]);
    if (code !== 'running') throw new Error(`prometheus exited with ${String(code)}:\n${this.output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/-/ready`);
      return res.ok ? true : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, wait for the exit, remove the data directory. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    // Prometheus flushes its head block on SIGTERM; a stuck shutdown must not hang the run.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
