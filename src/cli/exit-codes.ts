/** The CLI's exit codes, as its help text lists them, and how a command ends with a result. */
import { EXIT_LOCKED } from '../runtime/process-lock.js';
import { EXIT_NOT_FOUND } from './explain.js';

/** 75 (`locked`): another reclaimd process holds the lock; 64 (`usage`): sysexits' EX_USAGE. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, notFound: EXIT_NOT_FOUND, usage: 64, locked: EXIT_LOCKED } as const;

/** Writes `text` and a newline to stdout, and returns `code` for the command to exit with. */
export function print(text: string, code: number = EXIT.ok): number {
  process.stdout.write(`${text}\n`);
  return code;
}
