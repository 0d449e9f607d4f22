/** The CLI's exit codes, as its help text lists them, and how a command ends with a result. */
import { EXIT_LOCKED } from '../runtime/process-lock.js';

/**
 * 3 (`notFound`): explain found no such object, or several; 75 (`locked`): another reclaimd
 * process holds the lock; 64 (`usage`): sysexits' EX_USAGE.
 */
export const EXIT = { ok: 0, failed: 1, invalid: 2, notFound: 3, usage: 64, locked: EXIT_LOCKED } as const;

/** Writes `text` and a newline to stdout, and returns `code` for the command to exit with. */
export function print(text: string, code: number = EXIT.ok): number {
  process.stdout.write(`${text}\n`);
  return code;
}
