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
import { EXIT, print } from './exit-codes.js';
import { COMMAND_HELP, isCommand, USAGE } from './help.js';
import { DEFAULT_CONFIG, loadValidConfig, validateCommand } from './validate.js';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        // No default here: whether --config was given decides what a missing file means.
        config: { type: 'string' },
        mode: { type: 'string' },
        json: { type: 'boolean', default: false },
        listen: { type: 'string' },
        help: { type: 'boolean', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    // Commands come first, so the command's own usage is the one to show.
    const first = argv[0];
    process.stderr.write(`${(err as Error).message}\n\n${isCommand(first) ? COMMAND_HELP[first] : USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) return print(VERSION);
  // `reclaimd help [COMMAND]` is `reclaimd [COMMAND] --help`.
  const asksHelp = values.help || positionals[0] === 'help';
  const words = positionals[0] === 'help' ? positionals.slice(1) : positionals;
  const command = words[0];
  if (asksHelp && command === undefined) return print(USAGE);
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (asksHelp && isCommand(command)) return print(COMMAND_HELP[command]);
  if (!isCommand(command) || asksHelp || words.length > (command === 'explain' ? 2 : 1)) {
    process.stderr.write(`unknown command: ${words.join(' ')}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.mode !== undefined && values.mode !== 'dry-run' && values.mode !== 'enforce') {
    process.stderr.write(`--mode: expected dry-run or enforce, got "${values.mode}"\n`);
    return EXIT.usage;
  }
  const object = words[1];
  if (command === 'explain' && object === undefined) {
    process.stderr.write(
      `explain: which object? e.g. reclaimd explain --config FILE ci/app:pr-1\n\n${COMMAND_HELP.explain}\n`,
    );
    return EXIT.usage;
  }
  const modeOverride = values.mode as Mode | undefined;
  const configPath = values.config ?? DEFAULT_CONFIG;

  const config = await loadValidConfig(configPath, {
    command: `${command}${object === undefined ? '' : ` ${object}`}`,
    defaulted: values.config === undefined,
  });
  if (typeof config === 'number') return config;
  if (command === 'validate') return validateCommand(configPath, config, modeOverride);
  // Logs go to stderr for one-shot commands so that stdout carries only the plan or report.
  // `plan` logs only warnings: its output is the plan. `once` keeps the line per removal.
  const level =
    (command === 'plan' || command === 'explain') && config.log.level === 'info' ? 'warn' : config.log.level;
  const log = createLogger(level, command === 'daemon' ? process.stdout : process.stderr);
  // Each command's module is loaded only when it runs: `once` from cron starts without the
  // daemon's metrics, HTTP server and schedules (about 80 ms of a cold start).
  if (command === 'daemon')
    return (await import('./daemon.js')).daemonCommand(configPath, config, modeOverride, log, values.listen);
  const json = values.json === true;
  if (command === 'explain')
    return (await import('./explain.js')).explainCommand(
      config,
      object as string,
      modeOverride ?? config.mode,
      log,
      json,
    );
  if (command === 'plan') return (await import('./plan.js')).planCommand(config, log, json);
  return (await import('./once.js')).onceCommand(modeOverride ?? config.mode, config, log, json);
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
