// `npm run bench:profile [-- --scale N --engine E]`: where the engine's CPU goes while each side
// of the removal benchmark runs, from dockerd's own CPU profile (`/debug/pprof/profile`, which
// the engine serves on its API socket). Each side runs on a fresh copy of the same build-host
// state, as in the benchmark; the profile covers the side's whole run. Prints, per side, the
// profile's total and the API handlers and other hot spots by cumulative CPU, so a gap between
// reclaimd and prune can be read off the engine, not guessed. Numbers, not assertions.
import http from 'node:http';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { cumulative } from './profile-sum.js';
import { startThrowawayEngine } from '../test/support/throwaway-engine.js';
import { engineVariant } from '../test/support/engine-variant.js';
import { dockerFor } from '../test/support/fixtures.js';
import { connect } from '../src/engine/client.js';
import { buildBuildHost } from './build-host.js';
import { makeGolden } from './golden.js';
import {
  SYSTEM_PRUNE_EQUIVALENT,
  dockerCli,
  pruneEndpoints,
  reclaimdConfig,
  reclaimdCycle,
  reclaimdOnce,
  systemPrune,
} from './sides.js';
import { engineCpu } from './engine-cpu.js';

/** Starts dockerd's CPU profile for `seconds` on its socket; resolves with the raw (gzipped) profile. */
function cpuProfile(socketPath: string, seconds: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: `/debug/pprof/profile?seconds=${seconds}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`/debug/pprof/profile: HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
  });
}

/** The lines worth reading: API handlers first, then the hottest functions of the engine's own code. */
function report(side: string, wall: number, cpu: number, prof: { total: number; byFunction: Map<string, number> }) {
  const rows = [...prof.byFunction].sort((a, b) => b[1] - a[1]);
  const handlers = rows.filter(([name]) => /router\/|Router\)|\.(get|post|delete)[A-Z]\w*$/.test(name)).slice(0, 15);
  const hot = rows.filter(([name]) => /docker\/docker|moby\/moby|containerd\/containerd/.test(name)).slice(0, 25);
  const line = ([name, s]: [string, number]) => `  ${s.toFixed(3).padStart(7)} s  ${name}`;
  process.stdout.write(
    `\n## ${side}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s engine CPU (/proc), ${prof.total.toFixed(2)} s in dockerd's profile\n` +
      `API handlers (cumulative):\n${handlers.map(line).join('\n')}\n` +
      `engine code (cumulative):\n${hot.map(line).join('\n')}\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '300' },
      engine: { type: 'string', default: 'docker-28.5' },
      seconds: { type: 'string', default: '0' },
    },
  });
  const variant = engineVariant(values.engine);
  const scale = Number(values.scale);
  const say = (msg: string) => process.stderr.write(`[profile] ${msg}\n`);
  const engine = await startThrowawayEngine([], variant);
  try {
    const docker = dockerFor(engine.host);
    const { apiVersion } = await connect(engine.host);
    say(`building the build-host fixture at scale ${scale}`);
    const fixture = await buildBuildHost(docker, scale, 1, 'h');
    const golden = await makeGolden(engine, docker, fixture, 1, 'h', say);
    const config = reclaimdConfig(engine.host, SYSTEM_PRUNE_EQUIVALENT);
    const cycle = reclaimdCycle(engine.host, SYSTEM_PRUNE_EQUIVALENT);
    const cli = dockerCli(variant.binDir);
    const sides: Array<[string, () => Promise<unknown>, (() => Promise<void>)?]> = [
      ['reclaimd once --mode enforce', () => reclaimdOnce(config, 'enforce')],
      ["reclaimd's daemon cycle", () => cycle.run(), () => cycle.prepare()],
      ['docker system prune -af --volumes', () => systemPrune(cli, engine.host, apiVersion)],
      ['prune endpoints', () => pruneEndpoints(docker, apiVersion)],
    ];
    const socket = engine.host.replace(/^unix:\/\//, '');
    for (const [name, run, prepare] of sides) {
      await golden.prepare();
      await prepare?.();
      // The profile's window: long enough for the slowest side at this scale, read whole.
      const seconds = Number(values.seconds) || Math.ceil(scale / 40) + 3;
      const cpu = engineCpu(dirname(engine.dataRoot));
      const profiling = cpuProfile(socket, seconds);
      await new Promise((r) => setTimeout(r, 200));
      const c0 = cpu();
      const t = performance.now();
      await run();
      const wall = (performance.now() - t) / 1000;
      const used = cpu() - c0;
      report(name, wall, used, cumulative(await profiling));
    }
  } finally {
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
