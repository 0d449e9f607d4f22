// Runs the built CLI (dist/cli/main.js, built by `npm test` before vitest starts) as a separate
// process, the way operators run it, and writes throwaway configuration directories.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `reclaimd <args>` against the engine at `dockerHost` (unset: no DOCKER_HOST at all). */
export function runCli(args: string[], dockerHost?: string): Promise<CliResult> {
  return runNode([CLI, ...args], { dockerHost });
}

/**
 * Runs node with `args`, in `cwd` if given, with DOCKER_HOST set only to `dockerHost` and the
 * docker TLS variables only as `env` gives them.
 */
export function runNode(
  args: string[],
  options: { dockerHost?: string | undefined; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[key];
  if (options.dockerHost !== undefined) env['DOCKER_HOST'] = options.dockerHost;
  Object.assign(env, options.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Writes config.yaml and policies/*.yaml into a fresh directory; returns the config path. */
export function writeConfig(config: Record<string, unknown>, policyFiles: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-cfg-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(path.join(dir, 'config.yaml'), stringify({ policies: ['policies/*.yaml'], ...config }));
  for (const [name, content] of Object.entries(policyFiles)) {
    writeFileSync(path.join(dir, 'policies', name), typeof content === 'string' ? content : stringify(content));
  }
  return path.join(dir, 'config.yaml');
}
