#!/usr/bin/env node
/**
 * reclaimd's command line: validate | plan | once | daemon | explain. This file reads the
 * arguments, prints help and usage errors, loads the configuration and hands over to the
 * command's own file (validate.ts, plan.ts, once.ts, daemon.ts, explain.ts); what it returns
 * is the exit code.
 */
import { parseArgs } from 'node:util';
import type { Mode } from '../core/config/config.js';
import { createLogger } from '../runtime/logger.js';
import { VERSION } from '../lib/version.js';
import { daemonCommand } from './daemon.js';
import { EXIT, print } from './exit-codes.js';
import { explainCommand } from './explain.js';
import { onceCommand } from './once.js';
import { planCommand } from './plan.js';
import { loadValidConfig, validateCommand } from './validate.js';

const USAGE = `reclaimd ${VERSION} — policy-driven cleanup for Docker hosts

Usage:
  reclaimd validate --config FILE            check the configuration and every policy file
  reclaimd plan     --config FILE [--json]   show what would be removed and kept (never removes)
  reclaimd once     --config FILE [--json]   run one cycle in the configured mode
  reclaimd daemon   --config FILE            run cycles on the schedule; serve /metrics, /healthz
  reclaimd explain  --config FILE [--json] OBJECT
                                             why policies would remove or keep one image (ID, short
                                             ID or reference), container (ID or name) or volume (name)

Options:
  --config FILE              the global configuration (default: ./config.yaml)
  --mode dry-run|enforce     override the configuration's mode
  --json                     machine-readable output (plan, once, explain)
  --listen HOST:PORT         override metrics.listen (daemon)
  --help, --version

Exit codes: 0 ok, 1 the engine failed or a cycle did not complete, 2 invalid configuration,
3 explain: no such object (or several match), 64 usage, 75 once, daemon: another reclaimd
process holds the lock (in state.dir, or for this engine on this machine); nothing was removed.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: 'config.yaml' },
        mode: { type: 'string' },
        json: { type: 'boolean', default: false },
        listen: { type: 'string' },
        help: { type: 'boolean', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) return print(VERSION);
  const command = positionals[0];
  if (values.help) return print(USAGE);
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (
    !['validate', 'plan', 'once', 'daemon', 'explain'].includes(command) ||
    positionals.length > (command === 'explain' ? 2 : 1)
  ) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.mode !== undefined && values.mode !== 'dry-run' && values.mode !== 'enforce') {
    process.stderr.write(`--mode: expected dry-run or enforce, got "${values.mode}"\n`);
    return EXIT.usage;
  }
  if (command === 'explain' && positionals[1] === undefined) {
    process.stderr.write(`explain: which object? e.g. reclaimd explain --config FILE ci/app:pr-1\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const modeOverride = values.mode as Mode | undefined;
  const configPath = values.config as string;

  const config = await loadValidConfig(configPath);
  if (typeof config === 'number') return config;
  if (command === 'validate') return validateCommand(configPath, config, modeOverride);
  // Logs go to stderr for one-shot commands so that stdout carries only the plan or report.
  // `plan` logs only warnings: its output is the plan. `once` keeps the line per removal.
  const level =
    (command === 'plan' || command === 'explain') && config.log.level === 'info' ? 'warn' : config.log.level;
  const log = createLogger(level, command === 'daemon' ? process.stdout : process.stderr);
  if (command === 'daemon') return daemonCommand(configPath, config, modeOverride, log, values.listen);
  if (command === 'explain')
    return explainCommand(config, positionals[1] as string, modeOverride ?? config.mode, log, values.json === true);
  if (command === 'plan') return planCommand(config, log, values.json === true);
  return onceCommand(modeOverride ?? config.mode, config, log, values.json === true);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`reclaimd: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
