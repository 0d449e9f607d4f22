// The daemon's schedule on a fake clock: the real node-cron tasks call back at each scheduled
// time, once, never after stop, and keep their footing when the wall clock is set forward or
// back (node-cron sleeps on the monotonic clock; fake timers model that, vi.setSystemTime
// moves only the wall clock).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getTasks } from 'node-cron';
import { startSchedule, warnOfRepeatedHour } from '../../src/runtime/schedule.js';
import { captureLog } from '../support/capture-log.js';
import { inTimeZone } from '../support/time-zone.js';

inTimeZone('UTC');

describe('startSchedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires at each scheduled time, once, and not after stop', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:00:10Z') });
    const fired: string[] = [];
    const schedule = startSchedule('*/30 * * * *', () => fired.push(new Date().toISOString()), captureLog().log);
    await vi.advanceTimersByTimeAsync(29 * 60_000 + 49_000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fired).toEqual(['2026-11-27T10:30:00.000Z']);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(fired).toEqual(['2026-11-27T10:30:00.000Z', '2026-11-27T11:00:00.000Z']);
    schedule.stop();
    await vi.advanceTimersByTimeAsync(3 * 3_600_000);
    expect(fired).toHaveLength(2);
  });

  it('stops both tasks of an either-day schedule, and leaves none in node-cron', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T00:00:00Z') });
    const before = getTasks().size;
    let fired = 0;
    const schedule = startSchedule('* * 1 * mon', () => fired++, captureLog().log);
    expect(getTasks().size).toBe(before + 2);
    schedule.stop();
    expect(getTasks().size).toBe(before);
    // Monday the 30th and Tuesday the 1st would each fire 1,440 times.
    await vi.advanceTimersByTimeAsync(5 * 86_400_000);
    expect(fired).toBe(0);
  });

  it('notices a wall clock set forward when its sleep ends, and fires once for all it skipped', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:00:00Z') });
    const fired: string[] = [];
    const { log, lines } = captureLog();
    const schedule = startSchedule('0 * * * *', () => fired.push(new Date().toISOString()), log);
    vi.setSystemTime(Date.parse('2026-11-27T15:20:00Z'));
    // node-cron sleeps until 11:00 by the old clock: an hour, whatever the wall clock says.
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    // It wakes at 16:20 by the new clock and runs once, for 16:00; 11:00 to 15:00 are missed.
    expect(fired).toEqual(['2026-11-27T16:20:00.000Z']);
    // One warning of ours for the late wake-up, none of node-cron's per missed time.
    expect(lines.filter((l) => l['msg'] === 'node-cron warns')).toEqual([]);
    expect(lines.filter((l) => l['level'] === 40)).toMatchObject([
      { scheduledFor: '2026-11-27T16:00:00.000Z', lateMs: 20 * 60_000 },
    ]);
    // The next is 17:00 by the new clock.
    await vi.advanceTimersByTimeAsync(39 * 60_000);
    expect(fired).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toEqual(['2026-11-27T16:20:00.000Z', '2026-11-27T17:00:00.000Z']);
    schedule.stop();
  });

  it('does not fire early when the wall clock is set back', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:50:00Z') });
    let fired = 0;
    const schedule = startSchedule('0 * * * *', () => fired++, captureLog().log);
    vi.setSystemTime(Date.parse('2026-11-27T09:50:00Z'));
    // 11:00 was due in 10 minutes by the old clock; by the new one it is 70 minutes away.
    await vi.advanceTimersByTimeAsync(69 * 60_000);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toBe(1);
    schedule.stop();
  });

  it('warns of nothing about daylight saving in UTC', () => {
    const { log, lines } = captureLog();
    warnOfRepeatedHour(log);
    expect(lines.filter((l) => l['level'] === 40)).toEqual([]);
  });

  it('refuses what is not a crontab expression', () => {
    expect(() => startSchedule('0 0 L * *', () => undefined, captureLog().log)).toThrow(
      'schedule "0 0 L * *": day of month "L" is not a number',
    );
  });
});
