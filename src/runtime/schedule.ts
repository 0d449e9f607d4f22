/**
 * Calls `run` each time the cron schedule fires. One timer at a time, never longer than a
 * minute: timers follow the monotonic clock, so a wall clock set forward or back (NTP, a
 * suspended VM) is noticed within a minute instead of at the end of a long wait. A clock set
 * far forward fires once, not once for every time it skipped.
 */
import { nextRun, type CronSchedule } from '../lib/cron.js';

export interface CronTimer {
  stop(): void;
}

const MAX_WAIT_MS = 60_000;

export function startCronTimer(schedule: CronSchedule, run: () => void, now: () => number = Date.now): CronTimer {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let due = nextRun(schedule, now());
  const arm = () => {
    if (stopped || due === undefined) return;
    timer = setTimeout(tick, Math.min(Math.max(0, due - now()), MAX_WAIT_MS));
  };
  const tick = () => {
    const t = now();
    if (due !== undefined && t >= due) {
      due = nextRun(schedule, t);
      run();
    }
    arm();
  };
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
