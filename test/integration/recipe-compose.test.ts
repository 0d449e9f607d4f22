// The Compose recipe as a reader follows it: the command block of docs/deploy/compose.md, read
// from the doc and run in bash, in a temporary copy of the files it uses (the Compose file, the
// Prometheus configuration and rules beside it, the Grafana files it mounts, the policies and
// the build context), on the throwaway engine. reclaimd is built with `--build` from the
// Dockerfile, Prometheus scrapes it over the project's own bridge network, and the test asks
// Prometheus's HTTP API what it sees: the target up and a cycle counted.
//
// What differs from a reader's terminal, and why (nothing else is changed):
// - The socket: `/var/run/docker.sock` in the block (DOCKER_GID) becomes the throwaway engine's,
//   and DOCKER_SOCKET (a setting of the Compose file) mounts that one into reclaimd.
// - `up -d --build` starts `reclaimd prometheus` only: no Grafana image can be had here.
// - Images: RECLAIMD_IMAGE names the image --build makes (one tag per run), PROMETHEUS_IMAGE
//   a stand-in built from this machine's prometheus binary (test/support/prometheus-image.ts)
//   instead of prom/prometheus, which no registry here can serve; the Dockerfile's default
//   base (node:20-bookworm-slim) is made from this machine's node by
//   scripts/make-local-base.sh under that name, so the recipe's build resolves it unchanged.
// - PROMETHEUS_PORT (a setting of the Compose file): a free port instead of 9090.
// - DOCKER_BUILDKIT=0, and a warm build cache. The engine runs without a bridge (and its
//   builds with no network), and `npm ci` in the Dockerfile needs the registry. So the test
//   first builds the same Dockerfile from the same copy with `--network host` (the classic
//   builder, as image-build.ts does), and the recipe's `--build` then runs every step from
//   that cache, as it would on a host where the image was built before. The recipe keeps no
//   build network or base argument that only a test needs.
// - DOCKER_HOST, DOCKER_CONFIG and PATH: the throwaway engine, the Compose v2 plugin of
//   scripts/install-engines.sh, and the docker CLI of the engine under test.
//
// The project's bridge network is a real interface of this machine that would outlive the
// engine, so the test takes the project down (`down -v`), checks that the interface is gone,
// and removes every image it made.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { waitFor } from '../support/daemon-process.js';
import { ROOT, runShellBlock, shellBlock } from '../support/doc-commands.js';
import { engineVariant } from '../support/engine-variant.js';
import { dockerFor, newRunId } from '../support/fixtures.js';
import { allImageIds, dockerCli, freePort, removeImagesSince, runScript } from '../support/image-build.js';
import { buildPrometheusImage } from '../support/prometheus-image.js';

const DOC = 'docs/deploy/compose.md';
const MARKER = 'docker compose -p reclaimd up -d --build';
const PROJECT = 'reclaimd'; // the block's -p
const PROJECT_LABEL = `com.docker.compose.project=${PROJECT}`;

const host = inject('dockerHost');
const socket = host.slice('unix://'.length);
const variant = engineVariant();
let docker: Docker;
let run: string;
let before: Set<string>;
let copy: string;
let nodeBase: string;
const tags: string[] = [];
let env: Record<string, string>;
let prometheusPort: number;
let networkIds: string[] = [];

/** The Compose v2 plugin that scripts/install-engines.sh unpacks (bookworm only has Compose v1). */
function composePlugin(): string {
  const dir = process.env['RECLAIMD_ENGINES_DIR'] ?? '/var/cache/reclaimd/engines';
  const plugin = path.join(dir, 'compose', 'cli-plugins', 'docker-compose');
  try {
    statSync(plugin);
  } catch {
    throw new Error(`the Compose v2 plugin is not at ${plugin}: run scripts/install-engines.sh`);
  }
  return plugin;
}

/** The Dockerfile's default base image (`ARG BASE=...`), which a reader's build pulls. */
function dockerfileBase(): string {
  const m = /^ARG BASE=(\S+)$/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  if (!m?.[1]) throw new Error('Dockerfile: no ARG BASE=<image>');
  return m[1];
}

/**
 * Copies what the recipe reads into a fresh directory laid out like the checkout: the build
 * context (what .dockerignore lets in, and the Dockerfile), deploy/compose and what its Compose
 * file mounts (../prometheus, ../grafana, ../../policies).
 */
function copyRecipe(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-compose-'));
  const context = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).trim());
  const files = ['Dockerfile', '.dockerignore', ...context, 'deploy/compose', 'deploy/prometheus', 'deploy/grafana'];
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
  }
  return dir;
}

/** `docker compose` on the throwaway engine, in the copy's deploy/compose, as the block sets it up. */
function compose(args: string[]): Promise<string> {
  const gid = String(statSync(socket).gid);
  return dockerCli(host, ['compose', ...args], {
    cwd: path.join(copy, 'deploy/compose'),
    env: { ...env, DOCKER_GID: gid },
  });
}

/** An instant query to Prometheus's HTTP API; the samples' values, or undefined before it answers. */
async function query(expr: string): Promise<number[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
      signal: AbortSignal.timeout(5_000),
    });
    const answer = (await res.json()) as { status: string; data?: { result: Array<{ value: [number, string] }> } };
    if (answer.status !== 'success') return undefined;
    return answer.data?.result.map((r) => Number(r.value[1]));
  } catch {
    return undefined; // not listening yet
  }
}

/** The host's network interfaces, by name. */
function interfaces(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => n !== '');
}

beforeAll(async () => {
  docker = dockerFor(host);
  run = newRunId();
  before = await allImageIds(docker);
  copy = copyRecipe();
  prometheusPort = await freePort();

  const config = mkdtempSync(path.join(tmpdir(), 'reclaimd-compose-cfg-'));
  mkdirSync(path.join(config, 'cli-plugins'));
  symlinkSync(composePlugin(), path.join(config, 'cli-plugins', 'docker-compose'));
  const reclaimdImage = `reclaimd-test/reclaimd-compose:${run}`;
  const prometheusImage = `reclaimd-test/prometheus:${run}`;
  env = {
    DOCKER_HOST: host,
    DOCKER_CONFIG: config,
    DOCKER_BUILDKIT: '0',
    PATH: [variant.binDir, process.env['PATH'] ?? ''].filter((d) => d !== undefined).join(path.delimiter),
    DOCKER_SOCKET: socket,
    RECLAIMD_IMAGE: reclaimdImage,
    PROMETHEUS_IMAGE: prometheusImage,
    PROMETHEUS_PORT: String(prometheusPort),
  };

  nodeBase = dockerfileBase();
  tags.push(reclaimdImage, `reclaimd-test/reclaimd-warm:${run}`, prometheusImage, nodeBase);
  await runScript(host, 'scripts/make-local-base.sh', [nodeBase]);
  // The cache the recipe's build runs from: the same Dockerfile and context, with the network
  // `npm ci` needs (see the top of this file).
  await dockerCli(host, ['build', '--force-rm', '--network', 'host', '-t', `reclaimd-test/reclaimd-warm:${run}`, '.'], {
    cwd: copy,
    timeoutMs: 600_000,
  });
  await buildPrometheusImage(host, run, prometheusImage);
}, 900_000);

afterAll(async () => {
  if (docker === undefined) return;
  // The project's networks as they are now, in case the test stopped before it recorded them.
  const bridgesOf = async () => (await docker.listNetworks({ filters: { label: [PROJECT_LABEL] } })).map((n) => n.Id);
  networkIds = [...new Set([...networkIds, ...(await bridgesOf())])];
  try {
    if (env !== undefined) await compose(['-p', PROJECT, 'down', '-v', '--remove-orphans']);
    const left = {
      containers: await docker.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } }),
      volumes: (await docker.listVolumes({ filters: { label: [PROJECT_LABEL] } })).Volumes ?? [],
      networks: await bridgesOf(),
    };
    expect(left.containers.map((c) => c.Names)).toEqual([]);
    expect(left.volumes.map((v) => v.Name)).toEqual([]);
    expect(left.networks).toEqual([]);
    // A bridge network is the interface br-<first 12 of its ID> on this machine.
    const bridges = new Set(networkIds.map((id) => `br-${id.slice(0, 12)}`));
    expect(interfaces().filter((i) => bridges.has(i))).toEqual([]);
  } finally {
    // Whatever `down` left (when it failed), so that no interface outlives the engine.
    for (const c of await docker.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    for (const id of await bridgesOf())
      await docker
        .getNetwork(id)
        .remove()
        .catch(() => undefined);
    for (const v of (await docker.listVolumes({ filters: { label: [PROJECT_LABEL] } })).Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
    await removeImagesSince(docker, before, tags);
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
    if (env?.['DOCKER_CONFIG'] !== undefined) rmSync(env['DOCKER_CONFIG'], { recursive: true, force: true });
  }
  // The build stages' untagged images included: the engine is left as this file found it.
  expect([...(await allImageIds(docker))].filter((id) => !before.has(id))).toEqual([]);
}, 300_000);

describe('the Compose recipe (docs/deploy/compose.md)', () => {
  it('builds reclaimd and starts it beside Prometheus, which scrapes a finished cycle', async () => {
    const block = shellBlock(DOC, MARKER);
    await runShellBlock(block, {
      cwd: copy,
      env,
      replace: [
        ['/var/run/docker.sock', socket],
        ['up -d --build', 'up -d --build reclaimd prometheus'],
      ],
      timeoutMs: 600_000,
    });

    // Both on the project's own bridge network: this engine has no default bridge.
    const networks = await docker.listNetworks({ filters: { label: [PROJECT_LABEL] } });
    networkIds = networks.map((n) => n.Id);
    expect(networks.map((n) => n.Driver)).toEqual(['bridge']);
    const containers = await docker.listContainers({ filters: { label: [PROJECT_LABEL] } });
    const service = (name: string) =>
      containers.find((c) => c.Labels['com.docker.compose.service'] === name) ?? expect.fail(`no ${name} container`);
    expect(containers.map((c) => c.Labels['com.docker.compose.service']).sort()).toEqual(['prometheus', 'reclaimd']);

    // reclaimd runs the image --build made, read-only, as uid 10001 with the socket's group.
    const reclaimd = await docker.getContainer(service('reclaimd').Id).inspect();
    expect(reclaimd.Config.Image).toBe(env['RECLAIMD_IMAGE']);
    expect(reclaimd.Config.User).toBe('10001:10001');
    expect(reclaimd.HostConfig.ReadonlyRootfs).toBe(true);
    expect(reclaimd.HostConfig.GroupAdd).toEqual([String(statSync(socket).gid)]);
    expect(reclaimd.Mounts.find((m) => m.Destination === '/var/run/docker.sock')?.Source).toBe(socket);
    const prometheus = await docker.getContainer(service('prometheus').Id).inspect();
    expect(prometheus.Mounts.map((m) => m.Destination)).not.toContain('/var/run/docker.sock');

    // Prometheus's own view, through its HTTP API on the published port. The shipped
    // prometheus.yml scrapes every 30 s, so the first cycle shows within about a minute.
    let last = '(no answer yet)';
    const seen = await waitFor(
      async () => {
        const up = await query('up{job="reclaimd"}');
        const cycles = await query('reclaimd_cycles_total{job="reclaimd",result="success"}');
        last = `up ${JSON.stringify(up)}, successful cycles ${JSON.stringify(cycles)}`;
        return up?.[0] === 1 && (cycles?.[0] ?? 0) >= 1 ? { up, cycles } : undefined;
      },
      150_000,
      () => `Prometheus to scrape reclaimd after a cycle; it answered ${last}`,
    ).catch(async (err: Error) => {
      const logs = await compose(['-p', PROJECT, 'logs', '--no-color']).catch((e: Error) => e.message);
      throw new Error(`${err.message}\n--- docker compose logs\n${logs.slice(-6000)}`);
    });
    expect(seen.up).toEqual([1]);
    const answer = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/targets`, {
      signal: AbortSignal.timeout(5_000),
    });
    const targets = (await answer.json()) as {
      data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> };
    };
    expect(targets.data.activeTargets.map((t) => [t.labels['instance'], t.health])).toEqual([['reclaimd:9476', 'up']]);
  }, 900_000);
});
