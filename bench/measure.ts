// The benchmark's measurements: a steady-state cycle against the raw list calls it needs,
// removal throughput of reclaimd and of the engine's own prune, and the daemon's memory.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { stringify } from 'yaml';
import { cpuTicks, ticksPerSecond } from './engine-cpu.js';
import { connect, compareVersions } from '../src/engine/client.js';
import { EngineAdapter } from '../src/engine/adapter.js';
import { runCycle } from '../src/runtime/cycle/sweep.js';
import { createLogger } from '../src/runtime/logger.js';
import { resolveConfig, type Config } from '../src/core/config/config.js';
import type { Policy } from '../src/core/config/schema.js';

const silent = createLogger('silent');

export function makeConfig(policies: readonly Policy[], concurrentRemovals = 4): Config {
  const raw = { policies: ['bench.yaml'], limits: { maxRemovalsPerRun: 1_000_000, concurrentRemovals } };
  const r = resolveConfig('bench-config.yaml', raw, [{ file: 'bench.yaml', text: JSON.stringify({ policies }) }]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

/** Policies that look at every object of every kind and select nothing. */
export const NOTHING: Policy[] = [
  { name: 'old-images', resource: 'image', match: { olderThan: '5200w' } },
  { name: 'old-containers', resource: 'container', match: { stoppedFor: '5200w' } },
  { name: 'old-volumes', resource: 'volume', match: { olderThan: '5200w' } },
];

/** What `docker container prune`, `docker image prune` and `docker volume prune` remove. */
export const PRUNE_EQUIVALENT: Policy[] = [
  { name: 'stopped', resource: 'container', match: {} },
  { name: 'dangling', resource: 'image', match: { dangling: true } },
  { name: 'unused-volumes', resource: 'volume', match: {} },
];

/** The median of the values (the mean of the two middle ones for an even count). */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

/** One steady-state cycle and the raw list calls timed beside it. */
export interface Pair {
  readonly cycle: number;
  readonly list: number;
}

/**
 * Cycles against the raw lists, from pairs timed side by side. The ratio is the median of the
 * pairs' own ratios, so that a slow moment of the shared machine meets both halves of a pair
 * rather than one side of a comparison of two medians; `low` and `high` are its quartiles.
 */
export interface Paired {
  readonly cycleSeconds: number;
  readonly listSeconds: number;
  readonly ratio: number;
  readonly low: number;
  readonly high: number;
  readonly pairs: number;
}

/** The value at fraction `q` of the sorted values (the nearest rank, no interpolation). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.round(q * (sorted.length - 1))] as number;
}

export function summarizePairs(pairs: readonly Pair[]): Paired {
  if (pairs.length === 0) throw new Error('no pairs to summarize');
  const ratios = pairs.map((p) => p.cycle / p.list).sort((a, b) => a - b);
  return {
    cycleSeconds: median(pairs.map((p) => p.cycle)),
    listSeconds: median(pairs.map((p) => p.list)),
    ratio: median(ratios),
    low: quantile(ratios, 0.25),
    high: quantile(ratios, 0.75),
    pairs: pairs.length,
  };
}

export interface SteadyState extends Paired {
  readonly callsPerCycle: number;
  readonly firstCycleSeconds: number;
  readonly firstCycleCalls: number;
}

/** The raw list calls a cycle needs, timed as one. */
async function timeLists(docker: Docker): Promise<number> {
  const t = performance.now();
  await Promise.all([docker.listImages({ all: true }), docker.listContainers({ all: true }), docker.listVolumes()]);
  return (performance.now() - t) / 1000;
}

/**
 * How many pairs each steady-state figure rests on. Single list calls at 5,000 vary by a third
 * from one to the next (the engine's own jitter, which pairing cannot cancel), so ten pairs
 * gave medians 0.2 apart on the same code; thirty bring that to about a tenth.
 */
const PAIRS = 30;

export async function steadyState(host: string, docker: Docker, rounds = PAIRS): Promise<SteadyState> {
  const engine = new EngineAdapter(await connect(host));
  const config = makeConfig(NOTHING);
  /** API calls of the latest cycle. */
  let calls = 0;
  const cycle = async () => {
    const before = engine.calls;
    const t = performance.now();
    await runCycle(engine, config, { mode: 'dry-run', now: Date.now() }, silent);
    calls = engine.calls - before;
    return (performance.now() - t) / 1000;
  };
  const firstCycleSeconds = await cycle();
  const firstCycleCalls = calls;
  await timeLists(docker);
  const pairs: Pair[] = [];
  // Each pair times the two back to back, taking turns going first, so that caches, garbage
  // collection and the machine's load treat them alike.
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      const list = await timeLists(docker);
      pairs.push({ list, cycle: await cycle() });
    } else {
      const c = await cycle();
      pairs.push({ cycle: c, list: await timeLists(docker) });
    }
  }
  return { ...summarizePairs(pairs), callsPerCycle: calls, firstCycleSeconds, firstCycleCalls };
}

export interface Throughput {
  readonly seconds: number;
  /** reclaimd only: the cycle's phases. */
  readonly timings?: { snapshotSeconds: number; planSeconds: number; executeSeconds: number };
  readonly removed: Record<string, number>;
  /** What the side reported freed, per resource. */
  readonly bytes: Record<string, number>;
  /**
   * How far the engine's own LayersSize (`/system/df`) fell over the run, read before and
   * after it, outside the timing: what the disk got back of images (and, on the containerd
   * image store, of the containers' snapshots too), whatever either side reports.
   */
  readonly engineDrop?: number;
  readonly perSecond: number;
}

/**
 * One enforce cycle with the prune-equivalent policies, timed whole: listing, planning,
 * measuring and removing. The adapter has run a dry-run cycle first, as a daemon that has
 * been running would have, so image layers and finish times are cached.
 */
export async function reclaimdRemoval(host: string, concurrentRemovals: number): Promise<Throughput> {
  const engine = new EngineAdapter(await connect(host));
  const config = makeConfig(PRUNE_EQUIVALENT, concurrentRemovals);
  await runCycle(engine, config, { mode: 'dry-run', now: Date.now() }, silent);
  const t = performance.now();
  const report = await runCycle(engine, config, { mode: 'enforce', now: Date.now() }, silent);
  const seconds = (performance.now() - t) / 1000;
  const removed: Record<string, number> = { container: 0, image: 0, volume: 0 };
  const bytes: Record<string, number> = { container: 0, image: 0, volume: 0 };
  for (const r of report.removed) {
    removed[r.resource] = (removed[r.resource] ?? 0) + 1;
    bytes[r.resource] = (bytes[r.resource] ?? 0) + (r.bytes ?? 0);
  }
  if (report.skipped.length > 0)
    throw new Error(
      `reclaimd skipped ${report.skipped.length} removals: ${JSON.stringify(report.skipped.slice(0, 3))}`,
    );
  return { seconds, removed, bytes, perSecond: report.removed.length / seconds, timings: report.timings };
}

/** Several removals of the same fixture by one side, and what is reported of them. */
export interface Repeated {
  /** Median wall time, the objects removed over it, and each phase's median (reclaimd). */
  readonly summary: Throughput;
  /** Every run's wall time, in the order they ran. */
  readonly seconds: readonly number[];
  readonly min: number;
  readonly max: number;
}

/**
 * The median run of one side. Counts and bytes are those of the first run; `sameAs` tells
 * whether another run (of either side) removed the same objects and reported the same bytes.
 */
export function summarize(runs: readonly Throughput[]): Repeated {
  const first = runs[0];
  if (first === undefined) throw new Error('no runs to summarize');
  const seconds = runs.map((r) => r.seconds);
  const mid = median(seconds);
  const count = Object.values(first.removed).reduce((a, b) => a + b, 0);
  const phases = runs.flatMap((r) => (r.timings ? [r.timings] : []));
  const timings =
    phases.length === runs.length
      ? {
          snapshotSeconds: median(phases.map((t) => t.snapshotSeconds)),
          planSeconds: median(phases.map((t) => t.planSeconds)),
          executeSeconds: median(phases.map((t) => t.executeSeconds)),
        }
      : undefined;
  return {
    summary: {
      seconds: mid,
      removed: first.removed,
      bytes: first.bytes,
      ...(first.engineDrop === undefined ? {} : { engineDrop: first.engineDrop }),
      perSecond: count / mid,
      ...(timings ? { timings } : {}),
    },
    seconds,
    min: Math.min(...seconds),
    max: Math.max(...seconds),
  };
}

/**
 * True when both removed the same number of objects per resource and the engine's disk usage
 * fell by the same; and, unless `ownBytes` is false, both reported the same bytes per resource.
 * (On the containerd image store the engine's image prune reports only content blobs, not the
 * snapshots it frees with them, so there only the engine's own figure is compared.)
 */
export function sameAs(a: Throughput, b: Throughput, ownBytes = true): boolean {
  const keys = new Set([
    ...Object.keys(a.removed),
    ...Object.keys(b.removed),
    ...Object.keys(a.bytes),
    ...Object.keys(b.bytes),
  ]);
  return (
    a.engineDrop === b.engineDrop &&
    [...keys].every(
      (k) => (a.removed[k] ?? 0) === (b.removed[k] ?? 0) && (!ownBytes || (a.bytes[k] ?? 0) === (b.bytes[k] ?? 0)),
    )
  );
}

/** The engine's LayersSize, outside any timing: the benchmark's measure of what the disk got back. */
export async function layersSize(docker: Docker): Promise<number> {
  return ((await docker.df()) as { LayersSize: number }).LayersSize;
}

/** `docker container prune -f && docker image prune -f && docker volume prune -f`, as one would in cron. */
export async function engineRemoval(docker: Docker, apiVersion: string): Promise<Throughput> {
  const knownImages = new Set((await docker.listImages({ all: true })).map((i) => i.Id));
  const t = performance.now();
  const c = (await docker.pruneContainers()) as { ContainersDeleted?: string[] | null; SpaceReclaimed?: number };
  const i = (await docker.pruneImages({ filters: { dangling: ['true'] } })) as {
    ImagesDeleted?: Array<{ Deleted?: string }> | null;
    SpaceReclaimed?: number;
  };
  // From API 1.42 the engine prunes only anonymous volumes unless asked for all; 1.41 rejects `all`.
  const volumeFilters = compareVersions(apiVersion, '1.42') >= 0 ? { filters: { all: ['true'] } } : {};
  const v = (await docker.pruneVolumes(volumeFilters)) as { VolumesDeleted?: string[] | null; SpaceReclaimed?: number };
  const seconds = (performance.now() - t) / 1000;
  // `Deleted` lists images and layer chain IDs alike; images are what `Untagged`/config IDs name,
  // so count the entries that were images: every dangling image here has exactly one entry
  // whose ID is an image ID, and layer IDs are never image IDs.
  const imageIds = new Set(
    (i.ImagesDeleted ?? []).flatMap((d) => (d.Deleted ? [d.Deleted] : [])).filter((id) => knownImages.has(id)),
  );
  const removed = {
    container: c.ContainersDeleted?.length ?? 0,
    image: [...imageIds].length,
    volume: v.VolumesDeleted?.length ?? 0,
  };
  return {
    seconds,
    removed,
    bytes: { container: c.SpaceReclaimed ?? 0, image: i.SpaceReclaimed ?? 0, volume: v.SpaceReclaimed ?? 0 },
    perSecond: (removed.container + removed.image + removed.volume) / seconds,
  };
}

export interface Memory {
  /** 3 s after the cycle: the heap the cycle grew is still held. */
  readonly afterCycleRssMB: number;
  /** 60 s after the cycle, as the daemon sits between cycles (V8 gives memory back when idle). */
  readonly idleRssMB: number;
  readonly peakRssMB: number;
}

/** How long after the cycle "idle" is read: V8's memory reducer acts within about 30 s. */
const IDLE_AFTER_MS = 60_000;

/** How node runs the daemon: its flags and extra environment (see shipped-node.ts). */
export interface NodeRun {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export const NODE_DEFAULTS: NodeRun = { flags: [], env: {} };

/**
 * Starts the real daemon (dry-run) on `policies` with `schedule`, and calls `onCycle` with each
 * finished cycle's log line and the daemon's pid, one at a time, until it answers true; then
 * kills the daemon.
 */
async function withDaemon(
  host: string,
  policies: readonly Policy[],
  schedule: string,
  node: NodeRun,
  onCycle: (line: { seconds: number }, pid: number) => Promise<boolean> | boolean,
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-bench-'));
  writeFileSync(path.join(dir, 'p.yaml'), stringify({ policies }));
  writeFileSync(
    path.join(dir, 'config.yaml'),
    stringify({
      mode: 'dry-run',
      schedule,
      docker: { host },
      policies: ['p.yaml'],
      limits: { maxRemovalsPerRun: 1_000_000 },
    }),
  );
  const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [...node.flags, cli, 'daemon', '--config', path.join(dir, 'config.yaml'), '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...node.env } },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let busy = Promise.resolve();
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines) {
          if (line.includes('"msg":"cycle failed"')) reject(new Error(line));
          if (!line.includes('"msg":"cycle finished"')) continue;
          const parsed = JSON.parse(line) as { seconds: number };
          busy = busy
            .then(async () => {
              if (await onCycle(parsed, child.pid as number)) resolve();
            })
            .catch(reject);
        }
      });
      child.on('exit', () => reject(new Error('daemon exited')));
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * Runs the real daemon (dry-run, one cycle at start) and reads its RSS from /proc, with node's
 * defaults or with the flags and environment the shipped entry points use (shipped-node.ts).
 */
export async function daemonMemory(host: string, node: NodeRun = NODE_DEFAULTS): Promise<Memory> {
  let memory: Memory | undefined;
  await withDaemon(host, PRUNE_EQUIVALENT, '0 0 1 1 *', node, async (_cycle, pid) => {
    const kb = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    await new Promise((r) => setTimeout(r, 3000));
    const afterCycle = kb('VmRSS');
    await new Promise((r) => setTimeout(r, IDLE_AFTER_MS - 3000));
    memory = { afterCycleRssMB: afterCycle / 1024, idleRssMB: kb('VmRSS') / 1024, peakRssMB: kb('VmHWM') / 1024 };
    return true;
  });
  return memory as Memory;
}

/** How long after the daemon logs a cycle its pair's list calls are timed: past its own tidying up. */
const LISTS_AFTER_MS = 500;

/** The daemon's own steady-state cycles against the raw lists, and the CPU time it spent on each. */
export interface DaemonSteady extends Paired {
  /** Median CPU time (user + system) of the daemon from one cycle's log line to the next's. */
  readonly cpuSeconds: number;
}

/**
 * The real daemon's own steady-state cycle as it logs it (`seconds`), run by its schedule
 * every 3 s with nothing to remove, each of `rounds` cycles after the first (whose caches were
 * cold) paired with the raw list calls timed while the daemon waits for its next cycle. Its
 * CPU time between cycle logs is read from /proc beside: it varies far less than wall time,
 * which waits on the engine. Measures what the daemon does with the node flags it ships with.
 */
export async function daemonSteady(host: string, docker: Docker, node: NodeRun, rounds = PAIRS): Promise<DaemonSteady> {
  const pairs: Pair[] = [];
  const cpu: number[] = [];
  const tick = ticksPerSecond();
  let lastTicks: number | undefined;
  await timeLists(docker);
  await withDaemon(host, NOTHING, '*/3 * * * * *', node, async (cycle, pid) => {
    const ticks = cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (lastTicks !== undefined) {
      cpu.push((ticks - lastTicks) / tick);
      await new Promise((r) => setTimeout(r, LISTS_AFTER_MS));
      pairs.push({ cycle: cycle.seconds, list: await timeLists(docker) });
    }
    lastTicks = ticks;
    return pairs.length >= rounds;
  });
  return { ...summarizePairs(pairs), cpuSeconds: median(cpu) };
}
