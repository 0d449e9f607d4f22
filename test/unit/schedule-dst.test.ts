// When the real node-cron tasks fire across daylight saving changes, in a zone that has them.
// A file of its own: node-cron reads local time through an Intl formatter it creates once and
// keeps, so the zone must be set before its first use in the process, and cannot change after.
import { describe, expect, it, vi } from 'vitest';
import { startSchedule, warnOfRepeatedHour } from '../../src/runtime/schedule.js';
import { captureLog } from '../support/capture-log.js';
import { inTimeZone } from '../support/time-zone.js';

inTimeZone('Europe/Berlin');

/** The first `count` times the schedule's tasks call back, started on a fake clock at `from`, in UTC. */
async function runs(expr: string, from: string, count: number): Promise<string[]> {
  vi.useFakeTimers({ now: Date.parse(from) });
  const fired: string[] = [];
  const schedule = startSchedule(expr, () => fired.push(new Date().toISOString()), captureLog().log);
  try {
    for (let i = 0; fired.length < count && i < 1_000; i++) await vi.advanceTimersToNextTimerAsync();
  } finally {
    schedule.stop();
    vi.useRealTimers();
  }
  return fired;
}

describe('the schedule across daylight saving changes (Europe/Berlin)', () => {
  it('runs in the zone set for the test', () => {
    expect(new Date(Date.parse('2026-07-01T00:00:00Z')).getHours()).toBe(2);
  });

  it('warns that node-cron mishandles the hour the clocks go back', () => {
    const { log, lines } = captureLog();
    warnOfRepeatedHour(log);
    const warnings = lines.filter((l) => l['level'] === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ utcOffsetMinutes: [60, 120] });
    expect(String(warnings[0]?.['msg'])).toContain('TZ=UTC');
  });

  it('does not fire at a time the clocks skip', async () => {
    // 2026-03-29: 02:00 local becomes 03:00 (01:00 UTC); 02:30 does not exist that day.
    expect(await runs('30 2 * * *', '2026-03-28T02:00:00Z', 2)).toEqual([
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  // node-cron 4.6 (the latest) gets the hour the clocks repeat wrong, and no option of ours can
  // help: its runner rounds "now" with Date#setMilliseconds, which reads a repeated local time
  // as its first pass, an hour early. During the second pass it therefore sees every due time
  // as still ahead, re-arms a 0 ms timer, and spins until the hour is over; what fell due in
  // the hour is then missed (node-cron/node-cron#509). These two cases say what crontab(5) does;
  // they are marked as failing so the suite turns red, and they can be unmarked, once node-cron
  // is fixed. The timer budget keeps the spin from running the fake clock for real.
  it.fails('fires once in an hour the clocks repeat (node-cron#509)', async () => {
    // 2026-10-25: 03:00 local (CEST, 01:00 UTC) goes back to 02:00 (CET); 02:30 happens twice.
    const fired = await runs('30 2 * * *', '2026-10-24T12:00:00Z', 2);
    expect(fired.map((t) => new Date(t).toString().slice(0, 24))).toEqual([
      'Sun Oct 25 2026 02:30:00',
      'Mon Oct 26 2026 02:30:00',
    ]);
  });

  it.fails('goes on firing in the second pass of the repeated hour (node-cron#509)', async () => {
    expect(await runs('*/15 * * * *', '2026-10-25T01:05:00Z', 2)).toEqual([
      '2026-10-25T01:15:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ]);
  });
});
