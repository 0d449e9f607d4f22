// `npm run bench [-- --scale N --seed S]`: builds realistic engine state on a throwaway engine,
// measures reclaimd against the list calls it needs and against the engine's own prune, and
// writes bench/results/latest.{md,json}. Numbers, not assertions: see docs/performance.md.
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startThrowawayEngine } from '../test/support/throwaway-engine.js';
import { dockerFor } from '../test/support/fixtures.js';
import { connect } from '../src/docker/client.js';
import { buildFixture, removeFixture, type Fixture } from './fixture.js';
import { daemonMemory, engineRemoval, reclaimdRemoval, steadyState, type Memory, type SteadyState, type Throughput } from './measure.js';
import { plannerAlone } from './planner.js';
import { renderMarkdown } from './report.js';

export interface BenchResult {
  readonly when: string;
  readonly machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; engine: string; api: string };
  readonly scale: number;
  readonly fixture: Fixture;
  readonly steady: SteadyState;
  readonly memory: Memory;
  readonly removal: { reclaimd: Throughput; prune: Throughput; concurrency: number };
  readonly planner: ReturnType<typeof plannerAlone>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '4' }, out: { type: 'string', default: 'bench/results' } } });
  const scale = Number(values.scale);
  const seed = Number(values.seed);
  const concurrency = Number(values.concurrency);
  const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

  say('planner alone: 100,000 objects × 20 policies');
  const planner = plannerAlone(40_000, 40_000, 20_000);

  const engine = await startThrowawayEngine();
  try {
    const docker = dockerFor(engine.host);
    const { apiVersion, engineVersion } = await connect(engine.host);
    say(`building fixture set A at scale ${scale}`);
    const fixture = await buildFixture(docker, scale, seed, 'a');
    say(`built in ${fixture.seconds.toFixed(1)} s; steady-state cycles`);
    const steady = await steadyState(engine.host, docker);
    say('daemon memory');
    const memory = await daemonMemory(engine.host);
    say('removal by reclaimd (enforce)');
    const reclaimd = await reclaimdRemoval(engine.host, concurrency);
    await removeFixture(docker, 'a');
    say('building the same fixture again for the engine prune');
    await buildFixture(docker, scale, seed, 'a');
    say('removal by docker container/image/volume prune');
    const prune = await engineRemoval(docker, apiVersion);
    await removeFixture(docker, 'a');

    const result: BenchResult = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, engine: engineVersion, api: apiVersion },
      scale,
      fixture,
      steady,
      memory,
      removal: { reclaimd, prune, concurrency },
      planner,
    };
    mkdirSync(values.out, { recursive: true });
    writeFileSync(`${values.out}/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${values.out}/latest.md`, renderMarkdown(result));
    process.stdout.write(renderMarkdown(result));
  } finally {
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
