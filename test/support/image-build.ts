// Builds the reclaimd container image inside the throwaway engine, the way the README tells
// users to (docker build, docker run), with no registry: the base is made from this
// machine's own node by scripts/make-local-base.sh and passed through the BASE build arg.
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { engineVariant } from './engine-variant.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The CLI reads contexts and credentials from DOCKER_CONFIG; an empty one keeps the host's
// docker settings out of the test. It holds only the CLI plugins (buildx) of the engine under
// test, whose docker CLI comes first on PATH.
const variant = engineVariant();
const dockerConfig = mkdtempSync(path.join(tmpdir(), 'reclaimd-dcfg-'));
if (variant.pluginDir !== undefined) symlinkSync(variant.pluginDir, path.join(dockerConfig, 'cli-plugins'));
const cliPath = [variant.binDir, process.env['PATH'] ?? ''].filter((d) => d !== undefined).join(path.delimiter);

/** Runs the docker CLI against `host` only; rejects with its stderr when it fails. */
export function dockerCli(
  host: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT']) delete env[key];
  Object.assign(
    env,
    { DOCKER_HOST: host, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0', PATH: cliPath },
    options.env ?? {},
  );
  return new Promise((resolve, reject) => {
    execFile(
      'docker',
      args,
      { env, cwd: options.cwd ?? REPO_ROOT, maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`docker ${args.join(' ')} failed: ${err.message}\n${stdout.slice(-4000)}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** Runs a script of the repository with DOCKER_HOST set to `host`. */
export function runScript(host: string, script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: dockerConfig, PATH: cliPath };
    execFile(path.join(REPO_ROOT, script), args, { env, cwd: REPO_ROOT, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * Builds the local base and then the reclaimd image; returns the image's tag. `--network host`
 * lets `npm ci` reach the registry although the engine has no bridge network.
 */
export async function buildReclaimdImage(host: string, run: string): Promise<{ base: string; image: string }> {
  const base = await runScript(host, 'scripts/make-local-base.sh', [`reclaimd-test/node-base:${run}`]);
  const image = `reclaimd-test/reclaimd:${run}`;
  // --force-rm: a failed step's container goes too, so it holds no image the test must remove.
  await dockerCli(
    host,
    [
      'build',
      '--force-rm',
      '--network',
      'host',
      '--build-arg',
      `BASE=${base}`,
      '--label',
      `reclaimd-test=${run}`,
      '-t',
      image,
      '.',
    ],
    { timeoutMs: 600_000 },
  );
  return { base, image };
}

/** IDs of every image on the engine, intermediate ones included. */
export async function allImageIds(docker: Docker): Promise<Set<string>> {
  return new Set((await docker.listImages({ all: true })).map((i) => i.Id));
}

/**
 * Removes every image that is not in `before`. The classic builder leaves the build stage's
 * images untagged and unlabelled, so they are found by difference; children go before
 * parents, so the loop repeats while it makes progress.
 */
export async function removeImagesSince(docker: Docker, before: Set<string>, tags: string[]): Promise<void> {
  for (const tag of tags)
    await docker
      .getImage(tag)
      .remove()
      .catch(() => undefined);
  for (let round = 0; round < 20; round += 1) {
    const left = [...(await allImageIds(docker))].filter((id) => !before.has(id));
    if (left.length === 0) return;
    let removed = 0;
    for (const id of left) {
      await docker
        .getImage(id)
        .remove()
        .then(() => (removed += 1))
        .catch(() => undefined);
    }
    if (removed === 0) return;
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The value of one sample in a Prometheus text exposition, or undefined. */
export function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/**
 * The environment `dockerCli` gives the docker CLI, for a shell that runs docker commands
 * itself (a documentation block): the engine at `host` only, the CLI of the engine under test,
 * an empty DOCKER_CONFIG and the classic builder. The host's client settings are blanked,
 * since the caller merges this over its own environment (the CLI reads empty as unset).
 */
export function dockerCliEnv(host: string): Record<string, string> {
  return {
    DOCKER_HOST: host,
    DOCKER_CONFIG: dockerConfig,
    DOCKER_BUILDKIT: '0',
    PATH: cliPath,
    DOCKER_TLS_VERIFY: '',
    DOCKER_CERT_PATH: '',
    DOCKER_CONTEXT: '',
  };
}
