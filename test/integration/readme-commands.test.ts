// The README's commands, read from the README and run as written on the throwaway engine: the
// set-up's daemon and every command of the short tour, on the shipped config.example.yaml, in
// the checkout's root as a newcomer stands there. The example is in dry-run, so nothing is
// removed; a labelled image of this run is the OBJECT the tour's explain asks about.
//
// What differs from a newcomer's terminal, and why:
// - DOCKER_HOST names the throwaway engine (the README says the commands use DOCKER_HOST).
// - `npm ci && ` is dropped: scripts/test.sh, the command that runs this test, ran it already.
// - The daemon gets `--listen 127.0.0.1:<free port>`: 9476 may be taken on the machine.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { waitFor } from '../support/daemon-process.js';
import { ROOT, runShellBlock, shellBlock, startShellBlock } from '../support/doc-commands.js';
import { cleanupRun, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { freePort, sample } from '../support/image-build.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let tag: string;

beforeAll(async () => {
  docker = dockerFor(host);
  run = newRunId();
  tag = `reclaimd-readme/app:${run}`;
  await loadImage(docker, {
    tags: [tag],
    created: new Date(Date.UTC(2024, 0, 1)),
    labels: { [TEST_LABEL]: run },
    layers: [busyboxLayer()],
  });
});

afterAll(async () => {
  await cleanupRun(docker, run);
});

const env = { DOCKER_HOST: host };

/** The cycles the daemon at `port` has counted, once it answers and has counted one. */
async function successfulCycles(port: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = sample(text, 'reclaimd_cycles_total', { result: 'success' });
    return value !== undefined && value >= 1 ? value : undefined;
  } catch {
    return undefined; // not listening yet
  }
}

/** Runs a daemon line of the README until its first cycle shows in /metrics, then stops it. */
async function daemonRunsACycle(line: string, replace: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const port = await freePort();
  const daemon = startShellBlock(line, {
    cwd: ROOT,
    env,
    replace: [...replace, ['--config config.example.yaml', `--config config.example.yaml --listen 127.0.0.1:${port}`]],
  });
  try {
    await waitFor(
      () => successfulCycles(port),
      60_000,
      () => `a successful cycle in /metrics; the daemon said:\n${daemon.output()}`,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/reclaimd_info\{[^}]*mode="dry-run"/);
  } finally {
    await daemon.stop();
  }
}

describe("the README's set-up", () => {
  it('runs the daemon on config.example.yaml, in dry-run, and it finishes a cycle', async () => {
    const block = shellBlock('README.md', 'npm ci && npx reclaimd daemon');
    const line = block.split('\n').find((l) => l.includes('npx reclaimd daemon')) ?? '';
    await daemonRunsACycle(line, [['npm ci && ', '']]);
  });

  it('is the same line CONTRIBUTING.md gives', () => {
    const readme = shellBlock('README.md', 'npm ci && npx reclaimd daemon').split('\n')[0];
    expect(shellBlock('CONTRIBUTING.md', 'npm ci && npx reclaimd daemon')).toBe(readme);
  });
});

describe("the README's short tour", () => {
  const block = shellBlock('README.md', 'npx reclaimd validate --config config.example.yaml');
  const lines = block.split('\n').filter((l) => l.trim() !== '');

  it('has the five commands it describes', () => {
    expect(lines.map((l) => l.split(' ')[2])).toEqual(['validate', 'plan', 'explain', 'once', 'daemon']);
  });

  it('validate, plan, explain OBJECT and once exit 0 and say what they did, removing nothing', async () => {
    const run = (command: string, replace: ReadonlyArray<readonly [string, string]> = []) =>
      runShellBlock(lines.find((l) => l.startsWith(`npx reclaimd ${command} `)) ?? '', { cwd: ROOT, env, replace });
    expect((await run('validate')).stdout).toMatch(/^config\.example\.yaml: valid \(\d+ policies, mode dry-run\)$/m);
    expect((await run('plan')).stdout).toMatch(/^Would remove \d+ object\(s\), freeing .* \(mode: dry-run\)$/m);
    const explained = await run('explain', [['OBJECT', tag]]);
    expect(explained.stdout).toContain(tag);
    expect((await run('once')).stdout).toMatch(/^Would remove \d+ object\(s\), freeing .* \(mode: dry-run\)$/m);
    // Dry-run: the image is still there.
    expect((await docker.getImage(tag).inspect()).RepoTags).toContain(tag);
  });

  it('daemon runs a dry-run cycle and serves /metrics', async () => {
    await daemonRunsACycle(lines.find((l) => l.startsWith('npx reclaimd daemon ')) ?? '', []);
  });
});
