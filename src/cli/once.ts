/** `reclaimd once`: one cycle in the configured mode, as from a cron job or a CI step. */
import type { Config, Mode } from '../core/config/config.js';
import type { Logger } from '../runtime/logger.js';
import { runOneShot } from './one-shot.js';
import { reportJson, reportText } from './render.js';
import { takeProcessLock } from './take-lock.js';

/**
 * Runs one cycle and prints its report. It may remove things, so it holds the process lock
 * while it runs: one reclaimd at a time.
 */
export async function onceCommand(mode: Mode, config: Config, log: Logger, json: boolean): Promise<number> {
  // A lost lock stops the removals like a shutdown.
  const stop = new AbortController();
  const lock = await takeProcessLock('once', config, log, () => stop.abort('the process lock was lost'));
  if (typeof lock === 'number') return lock;
  try {
    return await runOneShot({
      command: 'once',
      mode,
      config,
      log,
      readOnlyState: false,
      signal: stop.signal,
      render: (report) => (json ? JSON.stringify(reportJson(report), null, 2) : reportText(report)),
    });
  } finally {
    await lock.release();
  }
}
