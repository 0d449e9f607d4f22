// Runs `reclaimd daemon` as a child process and reads what it exposes: its JSON log lines and
// its HTTP endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class DaemonProcess {
  readonly logs: LogLine[] = [];
  port = 0;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    const base: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (env['DOCKER_HOST'] === undefined) delete base['DOCKER_HOST'];
    this.child = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', ...args], {
      env: base,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.logs.push(JSON.parse(line) as LogLine);
    });
    this.child.stderr?.on('data', (d: Buffer) => this.logs.push({ level: 60, msg: `stderr: ${d.toString()}` }));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async started(): Promise<void> {
    const line = await this.waitForLog((l) => l.msg === 'reclaimd started');
    this.port = line['port'] as number;
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return waitFor(
      () => this.logs.find(pred),
      timeoutMs,
      () => `log line; have:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`,
    );
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** The value of one sample in /metrics, e.g. metric('reclaimd_cycles_total', { result: 'success' }). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const { body } = await this.get('/metrics');
    for (const line of body.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
    }
    return undefined;
  }

  /** Polls /metrics until the sample satisfies `pred`. */
  async waitForMetric(
    name: string,
    labels: Record<string, string>,
    pred: (v: number | undefined) => boolean,
    timeoutMs = 30_000,
  ): Promise<number | undefined> {
    let last: number | undefined;
    await waitFor(
      async () => {
        last = await this.metric(name, labels);
        return pred(last) ? true : undefined;
      },
      timeoutMs,
      () => `${name}${JSON.stringify(labels)} (last value ${last})`,
    );
    return last;
  }

  /** The daemon's process ID, to read its memory from /proc. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
