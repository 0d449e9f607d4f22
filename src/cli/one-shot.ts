/**
 * One cycle run from the command line, shared by `plan` and `once`: the same cycle code as the
 * daemon, with the outcome printed instead of recorded in metrics.
 */
import type { Config, Mode } from '../core/config/config.js';
import type { Plan } from '../core/model/plan.js';
import { EngineError } from '../engine/errors.js';
import { unusableArchiveDirs } from '../runtime/cycle/archive.js';
import { failureReason } from '../runtime/cycle/record.js';
import { runCycle, type CycleReport } from '../runtime/cycle/sweep.js';
import { EngineProvider } from '../runtime/engine-provider.js';
import { openOneShotLastUse } from '../runtime/last-use/one-shot.js';
import type { Logger } from '../runtime/logger.js';
import { EXIT, print } from './exit-codes.js';

export interface OneShotOptions {
  /** The command's name, as error messages give it. */
  readonly command: 'plan' | 'once';
  readonly mode: Mode;
  readonly config: Config;
  readonly log: Logger;
  /** Whether the last-use state file is only read (`plan`) or also written (`once`). */
  readonly readOnlyState: boolean;
  /** Aborted when the process lock is lost: the removal in flight finishes, no new one starts. */
  readonly signal?: AbortSignal;
  /** The text printed to stdout for the cycle's report. */
  readonly render: (report: CycleReport) => string;
}

/**
 * Runs one cycle and prints its report; returns EXIT.ok, or EXIT.failed if the cycle did not
 * complete or the engine failed (then saying so on stderr).
 */
export async function runOneShot(options: OneShotOptions): Promise<number> {
  const { command, mode, config, log } = options;
  const provider = new EngineProvider(config.dockerHost, log, config.requestTimeoutMs);
  try {
    const engine = await provider.get();
    // Last use as remembered by the daemon's state file; `plan` only reads it.
    const now = Date.now();
    const lastUse = await openOneShotLastUse(config, log, engine.cache.engineId, {
      readOnly: options.readOnlyState,
      now,
    });
    const report = await runCycle(
      engine,
      config,
      { mode, now, usage: lastUse.usage, ...(options.signal ? { signal: options.signal } : {}) },
      log,
    );
    await lastUse.flush();
    print(options.render(report));
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
