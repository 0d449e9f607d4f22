/**
 * `reclaimd validate`: loads the configuration and every policy file, as every command does
 * first, and says whether they are valid.
 */
import type { Config, Mode } from '../core/config/config.js';
import { formatProblem } from '../core/config/problems.js';
import { loadConfig } from '../runtime/load-config.js';
import { EXIT, print } from './exit-codes.js';

/**
 * Loads the configuration at `configPath`, or lists every problem on stderr and returns
 * EXIT.invalid. Every command starts here, so none reaches the engine with a bad configuration.
 */
export async function loadValidConfig(configPath: string): Promise<Config | number> {
  const loaded = await loadConfig(configPath);
  if (loaded.ok) return loaded.value;
  for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
  process.stderr.write(`${configPath}: ${loaded.problems.length} problem(s); nothing was removed\n`);
  return EXIT.invalid;
}

/** Reports a configuration that loaded: how many policies, and the mode a run would use. */
export function validateCommand(configPath: string, config: Config, modeOverride: Mode | undefined): number {
  return print(`${configPath}: valid (${config.policies.length} policies, mode ${modeOverride ?? config.mode})`);
}
