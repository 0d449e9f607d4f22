// A child process for the process-lock test: takes the lock at the given paths, prints `held`,
// and keeps it until it is killed (SIGTERM releases it on the way out; SIGKILL leaves it behind).
// Run with `node --import tsx lock-holder.ts PATH...`.
import { pino } from 'pino';
import { acquireProcessLock } from '../../src/runtime/process-lock.js';

const paths = process.argv.slice(2);
await acquireProcessLock({ paths, log: pino({ level: 'silent' }), onLost: () => process.exit(3) });
process.stdout.write('held\n');
// Keep the event loop alive: the lock's own refresh timer does not.
setInterval(() => {}, 60_000);
