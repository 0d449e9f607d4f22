/**
 * Calls `run` each time the cron schedule fires, with node-cron, in local time. An expression
 * with both day fields restricted is two node-cron tasks (src/lib/cron.ts); on a day matching
 * both, the two fire at the same time, and `run` is called once for that time.
 *
 * node-cron sleeps until the next time it expects, on the monotonic clock. A wall clock set
 * back therefore fires nothing early; a wall clock set forward, or a process paused past a
 * scheduled time, is noticed when that sleep ends, and then fires once, for the latest time it
 * passed (node-cron's default would drop every time more than a second late, so a cycle held
 * up by a busy event loop would be lost).
 */
import { createTask, type Logger as CronLogger, type TaskContext } from 'node-cron';
import { parseCron } from '../lib/cron.js';
import type { Logger } from './logger.js';

export interface Schedule {
  /** Stops every task; `run` is not called again. */
  stop(): void;
}

/** A scheduled call this late is worth a warning: node-cron wakes within milliseconds otherwise. */
const LATE_MS = 60_000;

/** Starts the node-cron task(s) for a crontab(5) expression; throws if it is not one. */
export function startSchedule(expression: string, run: () => void, log: Logger): Schedule {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new Error(`schedule ${JSON.stringify(expression)}: ${parsed.message}`);
  // The scheduled time each call is for (node-cron passes it, whole seconds): the second task
  // of a pair skips a time the first has already run, and neither goes back to an older one.
  let last = Number.NEGATIVE_INFINITY;
  const fire = ({ date }: TaskContext) => {
    const at = date.getTime();
    if (at <= last) return;
    last = at;
    const late = Date.now() - at;
    if (late >= LATE_MS)
      log.warn(
        { scheduledFor: date.toISOString(), lateMs: late },
        'the schedule woke late (the wall clock moved, or the process was paused): one cycle runs for the times it passed',
      );
    run();
  };
  const logger = cronLogger(log);
  const tasks = parsed.expressions.map((e) =>
    // One cycle runs for all the times a late wake-up passed, and says so once (above), so
    // node-cron's warning for each of them (86,400 after a day's jump of a per-second
    // schedule) would say nothing more.
    createTask(e, fire, { logger, missedExecutionTolerance: Number.POSITIVE_INFINITY, suppressMissedWarning: true }),
  );
  for (const task of tasks) void task.start();
  return {
    stop() {
      // destroy, not stop: it also takes the task out of node-cron's process-wide registry.
      for (const task of tasks) void task.destroy();
    },
  };
}

/** node-cron's own warnings (a missed time, a failed task) as JSON lines like ours, not coloured text. */
function cronLogger(log: Logger): CronLogger {
  const child = log.child({ component: 'node-cron' });
  const detail = (message: string | Error) => (message instanceof Error ? { err: message } : { detail: message });
  return {
    info: (message) => child.debug(detail(message), 'node-cron says'),
    debug: (message) => child.debug(detail(message), 'node-cron says'),
    warn: (message) => child.warn(detail(message), 'node-cron warns'),
    error: (message, err) => child.error({ ...detail(message), ...(err ? { err } : {}) }, 'node-cron reports an error'),
  };
}

/**
 * node-cron 4.6 (the latest) mishandles the hour the clocks go back in the process's local zone:
 * it rounds "now" through local time, reads the repeated hour as its first pass, then re-arms a
 * 0 ms timer until the hour is over and misses what fell due in it (node-cron/node-cron#509,
 * pinned by test/unit/schedule-dst.test.ts). Nothing outside node-cron can fix that, so an
 * operator whose zone has daylight saving hears of it once, when the daemon starts, with the
 * way out.
 */
export function warnOfRepeatedHour(log: Logger, now = new Date()): void {
  const year = now.getFullYear();
  const winter = new Date(year, 0, 1).getTimezoneOffset();
  const summer = new Date(year, 6, 1).getTimezoneOffset();
  if (winter === summer) return;
  log.warn(
    { utcOffsetMinutes: [-winter, -summer] },
    'the schedule runs in local time, whose zone changes for daylight saving: node-cron misses the scheduled ' +
      'cycles of the hour the clocks go back and keeps a CPU busy through it (node-cron#509); run with TZ=UTC, ' +
      'and write the schedule in UTC, to avoid it',
  );
}
