// The three ways of removing everything unused that the removal benchmark compares, each timed
// as a user meets it: reclaimd's CLI as cron runs it (its cold start included), the docker
// CLI's `system prune -af --volumes`, and the per-kind prune endpoints in sequence. And the
// CPU hog of the contention mode.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { stringify } from 'yaml';
import { compareVersions } from '../src/engine/client.js';
import type { Policy } from '../src/core/config/schema.js';
import type { Counts } from './removal-stats.js';
import { runTool } from '../test/support/prometheus-server.js';
import { connect } from '../src/engine/client.js';
import { EngineAdapter } from '../src/engine/adapter.js';
import { runCycle } from '../src/runtime/cycle/sweep.js';
import { createLogger } from '../src/runtime/logger.js';
import { makeConfig } from './measure.js';

/** What `docker system prune -af --volumes` removes, as reclaimd policies. */
export const SYSTEM_PRUNE_EQUIVALENT: Policy[] = [
  { name: 'containers', resource: 'container', match: {} },
  { name: 'images', resource: 'image', match: {} },
  { name: 'volumes', resource: 'volume', match: {} },
  { name: 'networks', resource: 'network', match: {} },
  // `all: true`, no `unusedFor`, no `keepStorage`: every unused record, as `system prune -a` does.
  { name: 'build-cache', resource: 'buildCache', match: { all: true } },
];

export interface Timed {
  readonly wallSeconds: number;
  readonly removed: Counts;
  readonly bytes: Counts;
  readonly problems: readonly string[];
}

/** Runs a program to its end (test/support's runTool); with the wall seconds from spawn to exit. */
async function runProcess(
  cmd: string,
  args: readonly string[],
): Promise<{ code: number; out: string; err: string; seconds: number }> {
  const t = performance.now();
  const r = await runTool(cmd, args);
  return { code: r.code ?? -1, out: r.stdout, err: r.stderr, seconds: (performance.now() - t) / 1000 };
}

/** A configuration directory for `reclaimd once`: the policies, the engine, a state dir of its own. */
export function reclaimdConfig(host: string, policies: readonly Policy[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-bench-'));
  writeFileSync(path.join(dir, 'p.yaml'), stringify({ policies }));
  writeFileSync(
    path.join(dir, 'config.yaml'),
    stringify({
      docker: { host },
      state: { dir },
      policies: ['p.yaml'],
      limits: { maxRemovalsPerRun: 1_000_000 },
    }),
  );
  return path.join(dir, 'config.yaml');
}

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;

/** `reclaimd once --mode MODE --json`, spawn to exit, and what its report says it removed. */
export async function reclaimdOnce(config: string, mode: 'dry-run' | 'enforce'): Promise<Timed> {
  const r = await runProcess(process.execPath, [CLI, 'once', '--mode', mode, '--json', '--config', config]);
  const removed: Counts = {};
  const bytes: Counts = {};
  const problems: string[] = [];
  if (r.code !== 0) problems.push(`reclaimd exited ${r.code}: ${r.err.trim().split('\n').slice(-3).join(' / ')}`);
  try {
    const report = JSON.parse(r.out) as {
      removed?: Array<{ resource: string; bytes?: number | null }>;
      skipped?: unknown[];
    };
    for (const x of report.removed ?? []) {
      removed[x.resource] = (removed[x.resource] ?? 0) + 1;
      bytes[x.resource] = (bytes[x.resource] ?? 0) + (x.bytes ?? 0);
    }
    if ((report.skipped ?? []).length > 0) problems.push(`reclaimd skipped ${report.skipped?.length} removals`);
  } catch {
    problems.push('reclaimd printed no JSON report');
  }
  return { wallSeconds: r.seconds, removed, bytes, problems };
}

/** The docker CLI that goes with the engine: the variant's, or the machine's on PATH. */
export function dockerCli(binDir: string | undefined): string {
  return binDir === undefined ? 'docker' : path.join(binDir, 'docker');
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** The bytes of the docker CLI's "Total reclaimed space: 1.23GB" line (0 when it is absent). */
export function reclaimedSpace(output: string): number {
  const m = /Total reclaimed space:\s*([\d.]+)\s*([kKMGT]?B)/.exec(output);
  return m ? Math.round(Number(m[1]) * (UNITS[m[2] as string] ?? 1)) : 0;
}

/**
 * `docker -H HOST system prune -af --volumes`, spawn to exit. From API 1.42 (Docker 23) that
 * removes only anonymous volumes, so there `docker volume prune -af` follows it, timed with it:
 * the two commands a user runs for what reclaimd's policies remove. The CLI prints one total
 * per command and lists images by layer as well as by ID, so its `removed` is left to the
 * listing diff.
 */
export async function systemPrune(cli: string, host: string, apiVersion: string): Promise<Timed> {
  const commands = [['system', 'prune', '-af', '--volumes']];
  if (compareVersions(apiVersion, '1.42') >= 0) commands.push(['volume', 'prune', '-af']);
  let wallSeconds = 0;
  let total = 0;
  const problems: string[] = [];
  for (const args of commands) {
    const r = await runProcess(cli, ['-H', host, ...args]);
    wallSeconds += r.seconds;
    total += reclaimedSpace(r.out);
    if (r.code !== 0) problems.push(`docker ${args.join(' ')} exited ${r.code}: ${r.err.trim()}`);
  }
  return { wallSeconds, removed: {}, bytes: { total }, problems };
}

interface PruneAnswer {
  SpaceReclaimed?: number;
  ContainersDeleted?: string[] | null;
  ImagesDeleted?: Array<{ Deleted?: string }> | null;
  VolumesDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  CachesDeleted?: string[] | null;
}

/**
 * The prune endpoints one after the other, as `system prune -af --volumes` calls them:
 * containers, images (`dangling=false`: every unused one), volumes (`all=true` from API 1.42,
 * which 1.41 rejects and does not need), networks, build cache (`all=true`).
 */
export async function pruneEndpoints(docker: Docker, apiVersion: string): Promise<Timed> {
  const knownImages = new Set((await docker.listImages({ all: true })).map((i) => i.Id));
  const t = performance.now();
  const c = (await docker.pruneContainers()) as PruneAnswer;
  const i = (await docker.pruneImages({ filters: { dangling: ['false'] } })) as PruneAnswer;
  const volumeFilters = compareVersions(apiVersion, '1.42') >= 0 ? { filters: { all: ['true'] } } : {};
  const v = (await docker.pruneVolumes(volumeFilters)) as PruneAnswer;
  const n = (await docker.pruneNetworks()) as PruneAnswer;
  // dockerode's pruneBuilder sends no query, so `all` goes through the modem directly.
  const b = await new Promise<PruneAnswer>((resolve, reject) =>
    (docker.modem as { dial: (o: object, cb: (err: unknown, data: unknown) => void) => void }).dial(
      {
        path: '/build/prune?',
        method: 'POST',
        options: { all: true },
        statusCodes: { 200: true, 500: 'server error' },
      },
      (err, data) => (err ? reject(err as Error) : resolve(data as PruneAnswer)),
    ),
  );
  const wallSeconds = (performance.now() - t) / 1000;
  // `Deleted` names images and layers alike; only the IDs that were listed as images count.
  const images = new Set(
    (i.ImagesDeleted ?? []).flatMap((d) => (d.Deleted && knownImages.has(d.Deleted) ? [d.Deleted] : [])),
  );
  return {
    wallSeconds,
    removed: {
      container: c.ContainersDeleted?.length ?? 0,
      image: images.size,
      volume: v.VolumesDeleted?.length ?? 0,
      network: n.NetworksDeleted?.length ?? 0,
      buildCache: b.CachesDeleted?.length ?? 0,
    },
    bytes: {
      container: c.SpaceReclaimed ?? 0,
      image: i.SpaceReclaimed ?? 0,
      volume: v.SpaceReclaimed ?? 0,
      buildCache: b.SpaceReclaimed ?? 0,
    },
    problems: [],
  };
}

/**
 * reclaimd's daemon cycle: `prepare` connects and runs a dry-run cycle, as the daemon's
 * previous cycle would have (image layers and finish times cached), outside the timing; `run`
 * times the enforce cycle alone, in process, with the defaults the CLI uses (4 removals in
 * flight).
 */
export function reclaimdCycle(host: string, policies: readonly Policy[]) {
  const config = makeConfig(policies);
  const silent = createLogger('silent');
  let engine: EngineAdapter | undefined;
  return {
    async prepare(): Promise<void> {
      engine = new EngineAdapter(await connect(host));
      await runCycle(engine, config, { mode: 'dry-run', now: Date.now() }, silent);
    },
    async run(): Promise<Timed> {
      if (engine === undefined) throw new Error('reclaimdCycle: run before prepare');
      const t = performance.now();
      const report = await runCycle(engine, config, { mode: 'enforce', now: Date.now() }, silent);
      const wallSeconds = (performance.now() - t) / 1000;
      const removed: Counts = {};
      const bytes: Counts = {};
      for (const r of report.removed) {
        removed[r.resource] = (removed[r.resource] ?? 0) + 1;
        bytes[r.resource] = (bytes[r.resource] ?? 0) + (r.bytes ?? 0);
      }
      const problems = [
        ...(report.skipped.length > 0 ? [`${report.skipped.length} skipped`] : []),
        ...(report.interrupted ? [`interrupted: ${report.interrupted}`] : []),
      ];
      return { wallSeconds, removed, bytes, problems };
    },
  };
}

/** Ten minutes: no hog outlives a run that hangs. */
const HOG_LIMIT_MS = 600_000;

/**
 * A busy loop on core 0 (`taskset -c 0` where there is taskset), for the contention mode;
 * the returned function ends it. It ends by itself after ten minutes in any case.
 */
export function startHog(): () => void {
  let pinned = true;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    pinned = false;
  }
  const loop = ['sh', '-c', 'while :; do :; done'];
  // taskset execs the shell, so the pid is the loop's own.
  const child: ChildProcess = pinned
    ? spawn('taskset', ['-c', '0', ...loop], { stdio: 'ignore' })
    : spawn(loop[0] as string, loop.slice(1), { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), HOG_LIMIT_MS);
  timer.unref();
  return () => {
    clearTimeout(timer);
    child.kill('SIGKILL');
  };
}
