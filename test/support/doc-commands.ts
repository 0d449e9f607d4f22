// The commands the docs tell a user to type, read from the docs themselves, so that a test runs
// what a reader copies and a recipe cannot drift from its files. A test names a block by a
// marker (a piece of its text), applies only the substitutions a throwaway engine forces on it
// (its socket path, a free port, the locally built image), each of which must occur, and runs
// it in bash as a terminal would. DOC_COMMANDS says, for every shell block in the README,
// CONTRIBUTING and docs/, which test runs it or why none can; test/unit/doc-commands.test.ts
// holds every block to that list.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** A fence whose commands a reader types: sh, bash, shell or console. */
const SHELL_FENCE = /^\s*```(sh|bash|shell|console)\s*$/;

/** The text of every shell block of a Markdown file (relative to the root), in order. */
export function shellBlocks(doc: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of readFileSync(path.join(ROOT, doc), 'utf8').split('\n')) {
    if (current === undefined) {
      if (SHELL_FENCE.test(line)) current = [];
    } else if (/^\s*```\s*$/.test(line)) {
      blocks.push(current.join('\n'));
      current = undefined;
    } else current.push(line);
  }
  return blocks;
}

/** The one shell block of `doc` that contains `marker`; throws when none or several do. */
export function shellBlock(doc: string, marker: string): string {
  const found = shellBlocks(doc).filter((b) => b.includes(marker));
  if (found.length !== 1)
    throw new Error(`${doc}: ${found.length} shell blocks contain ${JSON.stringify(marker)}, not 1`);
  return found[0] as string;
}

/**
 * `block` with each [from, to] replaced everywhere; a `from` that does not occur throws, so a
 * doc that no longer says what the test adapts fails the test instead of running something else.
 */
export function substitute(block: string, replace: ReadonlyArray<readonly [string, string]> = []): string {
  let text = block;
  for (const [from, to] of replace) {
    if (!text.includes(from)) throw new Error(`the block no longer contains ${JSON.stringify(from)}:\n${block}`);
    text = text.split(from).join(to);
  }
  return text;
}

export interface RunOptions {
  /** Where the reader stands when typing the block's first line. */
  readonly cwd: string;
  /** Added to this process's environment (DOCKER_HOST of the throwaway engine, say). */
  readonly env?: Readonly<Record<string, string>>;
  readonly replace?: ReadonlyArray<readonly [string, string]>;
  readonly timeoutMs?: number;
}

/** Runs a block in bash, stopping at the first failing command, as `set -e` does; rejects on failure. */
export function runShellBlock(block: string, options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const script = `set -euo pipefail\n${substitute(block, options.replace)}\n`;
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n--- script\n${script}--- stdout\n${stdout}--- stderr\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * Starts a block that does not end by itself (a daemon) in bash, in a process group of its
 * own so that `stop` ends it and everything it started. Output is collected as it comes.
 */
export function startShellBlock(
  block: string,
  options: RunOptions,
): { readonly child: ChildProcess; output: () => string; stop: () => Promise<number | null> } {
  const script = `set -euo pipefail\n${substitute(block, options.replace)}\n`;
  const child = spawn('bash', ['-c', script], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      return exited;
    },
  };
}

/** Who runs a block: a test file that reads it by `marker`, or a reason none can here. */
export type DocCommand =
  | { readonly doc: string; readonly marker: string; readonly runBy: string }
  | { readonly doc: string; readonly marker: string; readonly notRun: string };

/**
 * Every shell block of the docs, once. A `runBy` test must contain the marker (it reads the
 * block with shellBlock); a `notRun` says what no throwaway engine on this machine can do.
 */
export const DOC_COMMANDS: readonly DocCommand[] = [
  { doc: 'README.md', marker: 'npm ci && npx reclaimd daemon', runBy: 'test/integration/readme-commands.test.ts' },
  {
    doc: 'README.md',
    marker: 'npx reclaimd validate --config config.example.yaml',
    runBy: 'test/integration/readme-commands.test.ts',
  },
  {
    doc: 'CONTRIBUTING.md',
    marker: 'npm ci && npx reclaimd daemon',
    runBy: 'test/integration/readme-commands.test.ts',
  },
  {
    doc: 'CONTRIBUTING.md',
    marker: 'scripts/test.sh',
    notRun: 'the test command itself: .ci/run runs scripts/test.sh, which runs every test',
  },
  {
    doc: 'CONTRIBUTING.md',
    marker: 'npm run test:unit',
    notRun: 'parts of the test command: scripts/test.sh runs the same vitest projects and the build',
  },
  {
    doc: 'CONTRIBUTING.md',
    marker: 'npm run typecheck',
    notRun: 'scripts/test.sh runs typecheck, lint and deps before any test; format rewrites files',
  },
  { doc: 'docs/architecture.md', marker: 'npx depcruise src', runBy: 'test/unit/doc-commands.test.ts' },
  { doc: 'docs/deploy/container.md', marker: 'docker build -t reclaimd .', runBy: 'test/integration/image.test.ts' },
  {
    doc: 'docs/deploy/container.md',
    marker: '-v /var/lib/docker:/var/lib/docker:ro',
    notRun: 'a flag to add to the run line above, not a command; pressure.test.ts measures a mounted file system',
  },
  {
    doc: 'docs/deploy/container.md',
    marker: 'tecnativa/docker-socket-proxy',
    notRun:
      'that image needs a registry, and none is reachable here; allow-list.test.ts runs reclaimd through a proxy built from the same endpoint table',
  },
  {
    doc: 'docs/deploy/swarm.md',
    marker: 'docker stack deploy -c reclaimd.stack.yml',
    runBy: 'test/integration/image.test.ts',
  },
  {
    doc: 'docs/deploy/compose.md',
    marker: 'docker compose -p reclaimd up -d --build',
    runBy: 'test/integration/recipe-compose.test.ts',
  },
  {
    doc: 'docs/deploy/systemd.md',
    marker: 'sudo cp deploy/systemd/reclaimd.service /etc/systemd/system/',
    runBy: 'test/integration/recipe-systemd.test.ts',
  },
  {
    doc: 'docs/deploy/npm.md',
    marker: 'node_modules/reclaimd/dist/cli/main.js daemon',
    runBy: 'test/integration/recipe-npm.test.ts',
  },
  {
    doc: 'docs/deploy/kubernetes.md',
    marker: 'kubectl apply -k deploy/kubernetes',
    notRun:
      'no Kubernetes cluster here: test/unit/kubernetes-manifests.test.ts checks the manifests against their schemas',
  },
];
