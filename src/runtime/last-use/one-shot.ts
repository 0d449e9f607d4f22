/**
 * Last use for the commands that run once (`plan`, `once`, `explain`): the record the daemon
 * keeps in state.dir, opened the same way for all three, so `explain` reads last use exactly as
 * `plan` does at the same moment.
 */
import type { Config } from '../../core/config/config.js';
import type { Snapshot, Usage } from '../../core/model/snapshot.js';
import type { Logger } from '../logger.js';
import { LastUseStore, usesLastUse } from './store.js';

export interface OneShotLastUse {
  /** Merges the listing and returns the usage to plan with (undefined: unknown). */
  readonly usage: (snapshot: Snapshot) => Usage | undefined;
  /** Writes what the listing added; nothing for a read-only store. */
  flush(): Promise<void>;
}

/**
 * Opens the engine's last-use record. Neither command follows events, so neither marks the
 * file as watched: a file no daemon watched recently counts everything as used now (see
 * WATCH_GAP_MS), and `once` from cron alone selects nothing by unusedFor.
 *
 * @param readOnly `plan` and `explain` only read the file; `once` writes what it saw.
 */
export async function openOneShotLastUse(
  config: Config,
  log: Logger,
  engineId: string,
  options: { readonly readOnly: boolean; readonly now: number },
): Promise<OneShotLastUse> {
  const store = new LastUseStore({
    dir: config.stateDir,
    log,
    readOnly: options.readOnly,
    needed: usesLastUse(config),
  });
  await store.open(engineId);
  return { usage: (snapshot) => store.observe(snapshot, options.now), flush: () => store.flush() };
}
