/**
 * `reclaimd validate`: loads the configuration and every policy file, as every command does
 * first, and says whether they are valid.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config, Mode } from '../core/config/config.js';
import { formatProblem, type Problem } from '../core/config/problems.js';
import { loadConfig } from '../runtime/load-config.js';
import { EXIT, print } from './exit-codes.js';

/** The configuration every command reads when --config is not given, in the working directory. */
export const DEFAULT_CONFIG = 'config.yaml';
/** The dry-run configuration this repository ships to start from. */
const EXAMPLE_CONFIG = 'config.example.yaml';

/**
 * Loads the configuration at `configPath`, or lists every problem on stderr and returns
 * EXIT.invalid. Every command starts here, so none reaches the engine with a bad configuration.
 * `command` (with its object, for explain) and `defaulted` (no --config was given) shape the
 * advice when the default file is missing.
 */
export async function loadValidConfig(
  configPath: string,
  options: { command: string; defaulted: boolean },
): Promise<Config | number> {
  const loaded = await loadConfig(configPath);
  if (loaded.ok) return loaded.value;
  if (options.defaulted && isMissing(loaded.problems, configPath)) {
    process.stderr.write(noDefaultConfig(configPath, options.command));
    return EXIT.invalid;
  }
  for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
  process.stderr.write(`${configPath}: ${loaded.problems.length} problem(s); nothing was removed\n`);
  return EXIT.invalid;
}

/** Reports a configuration that loaded: how many policies, and the mode a run would use. */
export function validateCommand(configPath: string, config: Config, modeOverride: Mode | undefined): number {
  return print(`${configPath}: valid (${config.policies.length} policies, mode ${modeOverride ?? config.mode})`);
}

function isMissing(problems: readonly Problem[], configPath: string): boolean {
  return problems.length === 1 && problems[0]?.file === configPath && problems[0].message === 'no such file';
}

/**
 * What to say when --config was not given and ./config.yaml does not exist: a bare "no such
 * file" leaves a newcomer guessing, since the repository ships config.example.yaml instead. The
 * example is named where it is: in the working directory, else beside the installed package
 * (a clone of the repository); the npm package and the image ship none there.
 */
function noDefaultConfig(configPath: string, command: string): string {
  const packaged = fileURLToPath(new URL(`../../${EXAMPLE_CONFIG}`, import.meta.url));
  const example = existsSync(EXAMPLE_CONFIG) ? EXAMPLE_CONFIG : existsSync(packaged) ? shown(packaged) : undefined;
  const lines = [
    `${configPath}: no such file. Without --config, reclaimd reads ${configPath} in the working directory (${process.cwd()}).`,
    example === undefined
      ? `Pass the configuration with --config FILE, e.g. reclaimd ${command} --config /etc/reclaimd/config.yaml`
      : `Pass the configuration with --config FILE; ${example} is a dry-run one to start from:\n  reclaimd ${command} --config ${example}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** A path below the working directory relative to it, as load-config shows files; others in full. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}
