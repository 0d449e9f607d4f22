/** The process lock as the commands that remove things take it: `once` and `daemon`. */
import type { Config } from '../core/config/config.js';
import type { Logger } from '../runtime/logger.js';
import { acquireProcessLock, LockHeldError, lockPaths, type ProcessLock } from '../runtime/process-lock.js';
import { EXIT } from './exit-codes.js';

/**
 * Takes the process lock (see src/runtime/process-lock.ts), or says on stderr who holds it and
 * returns EXIT.locked. `onLost` runs if the lock is taken away later.
 */
export async function takeProcessLock(
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
