// `npm run bench [-- --scale N --seed S --repeat R --concurrency C --engine E --removal-only
// --contention]`: builds realistic engine state on a throwaway engine, measures reclaimd against
// the list calls it needs and against the engine's own prune, and writes
// bench/results/scale-N.{md,json}; then the removal benchmark of issue 20 (removal.ts) on a build
// host's state, written to bench/results/removal-N-ENGINE[-contention].{md,json}.
// `--removal-only` skips the first part. Numbers, not assertions: see docs/performance.md.
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import type Docker from 'dockerode';
import { parseArgs } from 'node:util';
import { startThrowawayEngine } from '../test/support/throwaway-engine.js';
import { engineVariant } from '../test/support/engine-variant.js';
import { dockerFor } from '../test/support/fixtures.js';
import { shippedNode, type ShippedNode } from '../test/support/shipped-node.js';
import { connect } from '../src/engine/client.js';
import { buildFixture, removeFixture, type Fixture } from './fixture.js';
import {
  NODE_DEFAULTS,
  daemonMemory,
  daemonSteady,
  engineRemoval,
  layersSize,
  reclaimdRemoval,
  sameAs,
  steadyState,
  summarize,
  type DaemonSteady,
  type Memory,
  type Repeated,
  type SteadyState,
  type Throughput,
} from './measure.js';
import { DEFAULTS } from '../src/core/config/config.js';
import { plannerAlone } from './planner.js';
import { renderMarkdown } from './report.js';
import { settle } from './golden.js';
import { removalBench } from './removal.js';
import { removalName } from './removal-stats.js';
import { renderRemoval } from './removal-report.js';

export interface BenchResult {
  readonly when: string;
  readonly machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    engine: string;
    api: string;
    store: string;
    variant: string;
  };
  readonly scale: number;
  readonly fixture: Fixture;
  readonly steady: SteadyState;
  /** The real daemon's own steady-state cycles as it logs them, each paired with the raw lists, and its CPU time per cycle, by how node runs it. */
  readonly steadyDaemon: { readonly defaults: DaemonSteady; readonly shipped: DaemonSteady };
  readonly memory: Memory;
  /** The same, with the node flags and environment the image and the systemd unit run the daemon with. */
  readonly memoryShipped: Memory;
  readonly shipped: ShippedNode;
  /**
   * `reclaimd` and `prune` are the medians of `repeat` runs each (see `runs`), each run on a
   * fixture built for it from the same seed; the two sides take turns going first.
   */
  readonly removal: {
    reclaimd: Throughput;
    prune: Throughput;
    concurrency: number;
    repeat: number;
    runs: { reclaimd: Repeated; prune: Repeated; order: string[] };
    /**
     * Every run of both sides removed the same objects per resource and the engine's disk usage
     * fell by the same; on the classic store both also reported the same bytes.
     */
    identical: boolean;
  };
  readonly planner: ReturnType<typeof plannerAlone>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: String(DEFAULTS.concurrentRemovals) },
      repeat: { type: 'string', default: '3' },
      out: { type: 'string', default: 'bench/results' },
      // docker-20.10 (the machine's), docker-28.5 or docker-28.5-containerd: see test/support/engine-variant.ts.
      engine: { type: 'string', default: process.env['RECLAIMD_TEST_ENGINE'] ?? 'docker-20.10' },
      // Only the removal benchmark and its fixed costs: no steady-state, daemon, memory or planner runs.
      'removal-only': { type: 'boolean', default: false },
      // A busy loop on one core during every measured removal of every side.
      contention: { type: 'boolean', default: false },
    },
  });
  const variant = engineVariant(values.engine);
  const scale = Number(values.scale);
  const seed = Number(values.seed);
  const concurrency = Number(values.concurrency);
  const repeat = Math.max(1, Math.floor(Number(values.repeat)));
  // Seconds since the start on every line, so a run's log tells how long each step took.
  const started = performance.now();
  const say = (msg: string) =>
    process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}\n`);

  const engine = await startThrowawayEngine([], variant);
  try {
    const docker = dockerFor(engine.host);
    const { apiVersion, engineVersion } = await connect(engine.host);
    if (!values['removal-only']) await classic(engine.host, docker, apiVersion, engineVersion);
    const removal = await removalBench({
      engine,
      docker,
      variant,
      apiVersion,
      scale,
      seed,
      repeat,
      contention: values.contention,
      say,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        engineVersion,
        api: apiVersion,
        store: variant.containerdStore ? 'containerd image store' : 'overlay2',
      },
    });
    mkdirSync(values.out, { recursive: true });
    const name = removalName(scale, variant.name, values.contention);
    writeFileSync(`${values.out}/${name}.json`, `${JSON.stringify(removal, null, 2)}\n`);
    writeFileSync(`${values.out}/${name}.md`, renderRemoval(removal));
    process.stdout.write(renderRemoval(removal));
  } finally {
    await engine.stop();
  }

  /** The steady-state, daemon, memory, planner and prune-equivalent measurements: scale-N.{md,json}. */
  async function classic(host: string, docker: Docker, apiVersion: string, engineVersion: string): Promise<void> {
    say('planner alone: 100,000 objects × 20 policies');
    const planner = plannerAlone(40_000, 40_000, 20_000);
    say(`building fixture set A at scale ${scale}`);
    const fixture = await buildFixture(docker, scale, seed, 'a');
    say(`built in ${fixture.seconds.toFixed(1)} s; steady-state cycles`);
    const steady = await steadyState(host, docker);
    say("the daemon's own steady-state cycles, node defaults and as shipped");
    const shipped = shippedNode();
    const steadyDaemon = {
      defaults: await daemonSteady(host, docker, NODE_DEFAULTS),
      shipped: await daemonSteady(host, docker, shipped),
    };
    say('daemon memory');
    const memory = await daemonMemory(host);
    const memoryShipped = await daemonMemory(host, shipped);

    // Removal: each side removes a fixture built for it from the same seed, `repeat` times,
    // and the sides take turns going first (R P, P R, R P, ...), so neither always meets an
    // engine that has just removed a fixture. Every run's fixture is built right before it,
    // the first one included: a fixture left alone for the minutes the measurements above
    // take removed more slowly than one just built, on either side (at 1,000, one run each:
    // reclaimd 5.51 s against 4.71, prune 8.07 against 6.59), so the first fixture serves
    // only those measurements. Before each run the page cache is written back and the engine
    // left alone for a moment, so the writes of the build are not paid by the removal.
    const runs: { reclaimd: Throughput[]; prune: Throughput[] } = { reclaimd: [], prune: [] };
    const order: string[] = [];
    await removeFixture(docker, 'a');
    for (let i = 0; i < repeat; i++) {
      for (const side of i % 2 === 0 ? (['reclaimd', 'prune'] as const) : (['prune', 'reclaimd'] as const)) {
        say(`building the same fixture again (${side}, run ${i + 1} of ${repeat})`);
        await buildFixture(docker, scale, seed, 'a');
        await settle();
        say(
          `removal by ${side === 'reclaimd' ? 'reclaimd (enforce)' : 'docker container/image/volume prune'}, run ${i + 1} of ${repeat}`,
        );
        const before = await layersSize(docker);
        const timed =
          side === 'reclaimd' ? await reclaimdRemoval(host, concurrency) : await engineRemoval(docker, apiVersion);
        const run = { ...timed, engineDrop: before - (await layersSize(docker)) };
        runs[side].push(run);
        order.push(side);
        say(`  ${run.seconds.toFixed(2)} s`);
        await removeFixture(docker, 'a');
      }
    }
    const reference = runs.reclaimd[0] as Throughput;
    const identical = [...runs.reclaimd, ...runs.prune].every((r) => sameAs(r, reference, !variant.containerdStore));
    const reclaimd = summarize(runs.reclaimd);
    const prune = summarize(runs.prune);

    const result: BenchResult = {
      when: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        engine: engineVersion,
        api: apiVersion,
        store: variant.containerdStore ? 'containerd image store' : 'overlay2',
        variant: variant.name,
      },
      scale,
      fixture,
      steady,
      steadyDaemon,
      memory,
      memoryShipped,
      shipped,
      removal: {
        reclaimd: reclaimd.summary,
        prune: prune.summary,
        concurrency,
        repeat,
        runs: { reclaimd, prune, order },
        identical,
      },
      planner,
    };
    mkdirSync(values.out, { recursive: true });
    // One pair of files per scale and engine: the newest run of each is kept. The machine's own
    // engine keeps the plain name.
    const name = variant.name === 'docker-20.10' ? `scale-${scale}` : `scale-${scale}-${variant.name}`;
    writeFileSync(`${values.out}/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${values.out}/${name}.md`, renderMarkdown(result));
    process.stdout.write(renderMarkdown(result));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
