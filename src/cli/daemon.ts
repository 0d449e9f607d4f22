/**
 * `reclaimd daemon`: cycles on the schedule, /metrics and /healthz, until a signal stops it.
 * The daemon itself is src/runtime/daemon.ts; this is its life as a process: the lock, the
 * signals, the exit code.
 */
import type { Config, Mode } from '../core/config/config.js';
import { Daemon } from '../runtime/daemon.js';
import type { Logger } from '../runtime/logger.js';
import { createMetrics } from '../runtime/metrics.js';
import { EXIT } from './exit-codes.js';
import { takeProcessLock } from './take-lock.js';

/**
 * Runs the daemon until SIGTERM or SIGINT (exit 0, once the removal in flight is done), a
 * second such signal (exit 130 at once), or the loss of the process lock (exit 1, so that a
 * supervisor restarts it). SIGHUP reloads the configuration.
 */
export async function daemonCommand(
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
      shuttingDown(log, signal, d.activity);
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

/** Says what the shutdown waits for: the removals in flight, a cycle that starts no more, or nothing. */
function shuttingDown(log: Logger, signal: NodeJS.Signals, activity: Daemon['activity']): void {
  const { cycle, removalsInFlight } = activity;
  if (removalsInFlight > 0) log.info({ signal, removalsInFlight }, 'shutting down: finishing the removal in flight');
  else if (cycle) log.info({ signal }, 'shutting down: the running cycle stops before its next removal');
  else log.info({ signal }, 'shutting down');
}
