// The command of docs/deploy/npm.md as a reader runs it: reclaimd installed as a dependency of
// a project of theirs, started with node's memory flags and glibc's allocator settings, read
// from the doc and run in bash, against the throwaway engine, until a cycle shows in /metrics.
//
// What differs from a reader's terminal, and why:
// - reclaimd is installed from `npm pack` of this checkout's build, not from the registry, so
//   that the package tested is the one this commit would publish (the pack runs no scripts:
//   dist/ is what `npx tsc -p tsconfig.build.json` built before the integration tests). Its
//   dependencies come from the registry (or npm's cache) as for any reader.
// - The block's `…` (the reader's own arguments) becomes `--config config.yaml`: a copy of
//   config.example.yaml (with the policies beside it) whose state.dir is a temporary
//   directory, not /var/lib/reclaimd, and whose metrics.listen is a free port instead of
//   9476, which may be taken on this machine.
// - DOCKER_HOST names the throwaway engine.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { ROOT, shellBlock, startShellBlock, substitute } from '../support/doc-commands.js';
import { freePort, sample } from '../support/image-build.js';

const DOC = 'docs/deploy/npm.md';
const MARKER = 'node_modules/reclaimd/dist/cli/main.js daemon';

const host = inject('dockerHost');
const run = promisify(execFile);
let project: string;

beforeAll(async () => {
  project = mkdtempSync(path.join(tmpdir(), 'reclaimd-npm-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], {
    cwd: ROOT,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'a-project', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', `./${packed?.filename ?? ''}`], {
    cwd: project,
    timeout: 600_000,
  });
}, 600_000);

afterAll(() => {
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe('reclaimd from npm (docs/deploy/npm.md)', () => {
  it("runs with the image's node flags and allocator settings and finishes a cycle", async () => {
    const state = path.join(project, 'state');
    mkdirSync(state);
    const port = await freePort();
    writeFileSync(
      path.join(project, 'config.yaml'),
      substitute(readFileSync(path.join(ROOT, 'config.example.yaml'), 'utf8'), [
        ['dir: /var/lib/reclaimd', `dir: ${state}`],
        ['listen: "127.0.0.1:9476"', `listen: "127.0.0.1:${port}"`],
      ]),
    );
    // Its policies/*.yaml, beside it as in the checkout.
    cpSync(path.join(ROOT, 'policies'), path.join(project, 'policies'), { recursive: true });
    const daemon = startShellBlock(shellBlock(DOC, MARKER), {
      cwd: project,
      env: { DOCKER_HOST: host },
      replace: [['daemon …', 'daemon --config config.yaml']],
    });
    try {
      await waitFor(
        async () => {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
            const body = await res.text();
            return (sample(body, 'reclaimd_cycles_total', { result: 'success' }) ?? 0) >= 1 ? true : undefined;
          } catch {
            return undefined; // not listening yet
          }
        },
        60_000,
        () => `a successful cycle in /metrics; reclaimd said:\n${daemon.output()}`,
      );
      // The node the block started (bash's child, or bash itself when it execs the last
      // command) runs with the block's flags and allocator settings.
      const pid = daemon.child.pid ?? 0;
      const node = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
          } catch {
            return false;
          }
        });
      const environ = readFileSync(`/proc/${node ?? pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain('MALLOC_ARENA_MAX=2');
      expect(readFileSync(`/proc/${node ?? pid}/cmdline`, 'utf8').split('\0')).toContain('--heap-growing-percent=10');
    } finally {
      await daemon.stop();
    }
    expect(daemon.output()).toContain('shutting down');
  }, 180_000);
});
