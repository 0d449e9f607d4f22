#!/usr/bin/env node
/**
 * reclaimd's command line: validate | plan | once | daemon. `plan` and `once` run the same
 * cycle code as the daemon; `plan` always in dry-run.
 */
import { parseArgs } from 'node:util';
import type { Config, Mode } from '../core/config/config.js';
import { formatProblem } from '../core/config/problems.js';
import { EngineError } from '../engine/errors.js';
import { EngineProvider } from '../runtime/engine-provider.js';
import { loadConfig } from '../runtime/load-config.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { createMetrics } from '../runtime/metrics.js';
import { Daemon } from '../runtime/daemon.js';
import { runCycle } from '../runtime/cycle/sweep.js';
import { LastUseStore, usesLastUse } from '../runtime/last-use/store.js';
import { planJson, planText, reportJson, reportText } from './render.js';
import { VERSION } from '../lib/version.js';
import { EXIT_NOT_FOUND, runExplain } from './explain.js';
import { unusableArchiveDirs } from '../runtime/cycle/archive.js';
import type { Plan } from '../core/model/plan.js';
import type { Snapshot } from '../core/model/snapshot.js';
import { failureReason } from '../runtime/cycle/record.js';
import {
  acquireProcessLock,
  EXIT_LOCKED,
  LockHeldError,
  lockPaths,
  type ProcessLock,
} from '../runtime/process-lock.js';

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

const EXIT = { ok: 0, failed: 1, invalid: 2, notFound: EXIT_NOT_FOUND, usage: 64, locked: EXIT_LOCKED } as const;

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

  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
    process.stderr.write(`${configPath}: ${loaded.problems.length} problem(s); nothing was removed\n`);
    return EXIT.invalid;
  }
  const config = loaded.value;
  if (command === 'validate') {
    return print(`${configPath}: valid (${config.policies.length} policies, mode ${modeOverride ?? config.mode})`);
  }
  // Logs go to stderr for one-shot commands so that stdout carries only the plan or report.
  // `plan` logs only warnings: its output is the plan. `once` keeps the line per removal.
  const level =
    (command === 'plan' || command === 'explain') && config.log.level === 'info' ? 'warn' : config.log.level;
  const log = createLogger(level, command === 'daemon' ? process.stdout : process.stderr);
  if (command === 'daemon') return daemon(configPath, config, modeOverride, log, values.listen);
  if (command === 'explain')
    return explainCommand(config, positionals[1] as string, modeOverride ?? config.mode, log, values.json === true);
  return oneShot(
    command === 'plan' ? 'dry-run' : (modeOverride ?? config.mode),
    config,
    log,
    values.json === true,
    command,
  );
}

async function oneShot(mode: Mode, config: Config, log: Logger, json: boolean, command: string): Promise<number> {
  // `once` removes things: one reclaimd at a time. A lost lock stops the removals like a shutdown.
  const stop = new AbortController();
  const lock =
    command === 'once'
      ? await takeProcessLock(command, config, log, () => stop.abort('the process lock was lost'))
      : undefined;
  if (typeof lock === 'number') return lock;
  const provider = new EngineProvider(config.dockerHost, log, config.requestTimeoutMs);
  try {
    const engine = await provider.get();
    // Last use as remembered by the daemon's state file; `plan` only reads it. Neither follows
    // events, so neither marks the file as watched: a file no daemon watched recently counts
    // everything as used now (see WATCH_GAP_MS), and `once` from cron alone selects nothing by unusedFor.
    const store = new LastUseStore({
      dir: config.stateDir,
      log,
      readOnly: command === 'plan',
      needed: usesLastUse(config),
    });
    await store.open(engine.cache.engineId);
    const now = Date.now();
    const usage = (snapshot: Snapshot) => store.observe(snapshot, now);
    const report = await runCycle(engine, config, { mode, now, signal: stop.signal, usage }, log);
    await store.flush();
    if (command === 'plan')
      print(json ? JSON.stringify(planJson(report.plan, mode), null, 2) : planText(report.plan, mode));
    else print(json ? JSON.stringify(reportJson(report), null, 2) : reportText(report));
    if (mode === 'dry-run') await warnUnusableArchiveDirs(report.plan);
    // A removal in doubt cannot be settled by a later process: `once` keeps nothing over.
    if (report.inDoubt.length > 0)
      process.stderr.write(
        `reclaimd: ${report.inDoubt.length} removal(s) in doubt: the engine may have carried them out; they are not counted, and a later run plans again those still there\n`,
      );
    return failureReason(report) === undefined ? EXIT.ok : EXIT.failed;
  } catch (err) {
    const e = err instanceof EngineError ? err : undefined;
    const message = e?.message ?? '';
    const hint = /EACCES/.test(message)
      ? ' (permission denied on the socket: run as a member of its group, e.g. --group-add with its gid)'
      : /HTTP request to an HTTPS server/.test(message)
        ? ' (the engine requires TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)'
        : e?.kind === 'unreachable'
          ? ' (is the engine running, and is DOCKER_HOST or docker.host right?)'
          : '';
    process.stderr.write(`reclaimd: ${command} failed: ${(err as Error).message}${hint}; nothing was removed\n`);
    return EXIT.failed;
  } finally {
    await lock?.release();
  }
}

/**
 * Takes the process lock of `once` and `daemon` (see src/runtime/process-lock.ts), or says on stderr
 * who holds it and returns EXIT.locked. `onLost` runs if the lock is taken away later.
 */
async function takeProcessLock(
  command: string,
  config: Config,
  log: Logger,
  onLost: () => void,
): Promise<ProcessLock | number> {
  try {
    return await acquireProcessLock({
      paths: await lockPaths(config),
      log,
      onLost: (lockPath, err) => {
        log.error(
          { lock: lockPath, err: err.message },
          'lost the process lock: another reclaimd may run now; no further removal starts',
        );
        onLost();
      },
    });
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    process.stderr.write(`reclaimd: ${command} refused: ${err.message}\n`);
    return EXIT.locked;
  }
}

/** A dry-run predicts the real run: an archive directory it could not write to means skips, not removals. */
async function warnUnusableArchiveDirs(plan: Plan): Promise<void> {
  for (const { dir, problem } of await unusableArchiveDirs(plan)) {
    process.stderr.write(
      `reclaimd: warning: archive directory ${dir} is not usable (${problem}); a real run would skip the images to archive there (archive-failed) instead of removing them\n`,
    );
  }
}

async function explainCommand(config: Config, query: string, mode: Mode, log: Logger, json: boolean): Promise<number> {
  const provider = new EngineProvider(config.dockerHost, log, config.requestTimeoutMs);
  try {
    const out = await runExplain(await provider.get(), config, query, { json, mode, now: Date.now() });
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.code;
  } catch (err) {
    process.stderr.write(`reclaimd: explain failed: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}

async function daemon(
  configPath: string,
  config: Config,
  modeOverride: Mode | undefined,
  log: Logger,
  listen: string | undefined,
): Promise<number> {
  // Held for the daemon's whole life, from the initial configuration (a reload does not move it).
  let lockLost = () => {};
  const lock = await takeProcessLock('daemon', config, log, () => lockLost());
  if (typeof lock === 'number') return lock;
  const d = new Daemon({
    configPath,
    initialConfig: config,
    modeOverride,
    log,
    metrics: createMetrics(),
    ...(listen ? { listen } : {}),
  });
  try {
    await d.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not start');
    await lock.release();
    return EXIT.failed;
  }
  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (code: number) => {
      stopping = true;
      void d
        .stop()
        .then(() => lock.release())
        .then(() => {
          resolve(code);
          // Everything is flushed and closed by now; a connection some library still holds open
          // must not keep a stopped daemon from exiting (its supervisor would wait, then kill it).
          setTimeout(() => process.exit(code), 2000).unref();
        });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal means "now": exit at once, without waiting for the removal in flight.
      if (stopping) process.exit(130);
      log.info({ signal }, 'shutting down: finishing the removal in flight');
      shutdown(EXIT.ok);
    };
    // Another process may take a lost lock at any time: stop as on SIGTERM, but exit non-zero
    // so that a supervisor restarts the daemon; it runs again as soon as the lock is free.
    lockLost = () => {
      if (!stopping) shutdown(EXIT.failed);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP is what `systemctl reload` and most supervisors send: re-read the configuration.
    process.on('SIGHUP', () => void d.reloadNow());
    // The outer loop never dies: a stray rejection is logged, not fatal.
    process.on('unhandledRejection', (err) =>
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'unhandled rejection'),
    );
  });
}

function print(text: string, code: number = EXIT.ok): number {
  process.stdout.write(`${text}\n`);
  return code;
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
