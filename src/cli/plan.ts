/** `reclaimd plan`: what a cycle would remove and keep, always in dry-run; it removes nothing. */
import type { Config } from '../core/config/config.js';
import type { Logger } from '../runtime/logger.js';
import { runOneShot } from './one-shot.js';
import { planJson, planText } from './render.js';

/**
 * Runs one dry-run cycle and prints its plan. It takes no process lock and only reads the
 * last-use state file, so it is safe beside a running daemon.
 */
export function planCommand(config: Config, log: Logger, json: boolean): Promise<number> {
  const mode = 'dry-run';
  return runOneShot({
    command: 'plan',
    mode,
    config,
    log,
    readOnlyState: true,
    render: (report) => (json ? JSON.stringify(planJson(report.plan, mode), null, 2) : planText(report.plan, mode)),
  });
}
