// Cron schedules: what parses and what is refused with which words, which node-cron
// expressions an expression becomes, and when the real node-cron tasks fire (on a fake clock,
// in UTC), also against a plain minute-by-minute reference for random schedules. Daylight
// saving changes are in schedule-dst.test.ts: node-cron keeps the zone of its first Intl
// formatter for the life of the process, so a second zone needs a process of its own.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseCron } from '../../src/lib/cron.js';
import { startSchedule } from '../../src/runtime/schedule.js';
import { captureLog } from '../support/capture-log.js';
import { inTimeZone } from '../support/time-zone.js';

inTimeZone('UTC');

/**
 * The first `count` times the real node-cron task(s) call back, started on a fake clock at
 * `from`, as ISO strings (UTC). Gives up after `limit` timers (node-cron sleeps at most a day).
 */
async function runs(expr: string, from: string | number, count = 3, limit = 5_000): Promise<string[]> {
  vi.useFakeTimers({ now: typeof from === 'number' ? from : Date.parse(from) });
  const fired: string[] = [];
  const schedule = startSchedule(expr, () => fired.push(new Date().toISOString()), captureLog().log);
  try {
    for (let i = 0; fired.length < count && i < limit; i++) await vi.advanceTimersToNextTimerAsync();
  } finally {
    schedule.stop();
    vi.useRealTimers();
  }
  return fired;
}

describe('parseCron', () => {
  it.each([
    ['*/30 * * * *'],
    ['0 3 * * 1-5'],
    ['*/10 * * * * *'],
    ['0 0 1 jan,Jul *'],
    ['0 0 * * mon-fri'],
    ['5/15 * * * *'],
    ['0 0 * * 7'],
    ['@hourly'],
    ['  0  4 * * *  '],
    // The 30th of February never comes, but Mondays in February do.
    ['0 0 30 2 mon'],
  ])('accepts %j', (expr) => {
    expect(parseCron(expr).ok).toBe(true);
  });

  it.each([
    ['', 'it has 0 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)'],
    ['* * * * * * *', 'it has 7 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)'],
    ['60 * * * *', 'minute 60 is out of range 0–59'],
    ['* 24 * * *', 'hour 24 is out of range 0–23'],
    ['* * 0 * *', 'day of month 0 is out of range 1–31'],
    ['* * * 13 *', 'month 13 is out of range 1–12'],
    ['* * * * 8', 'day of week 8 is out of range 0–7'],
    ['10-5 * * * *', 'minute range "10-5" runs backwards'],
    ['* * * foo *', 'month "foo" is not a number or a name like feb'],
    ['*/61 * * * * *', 'second step "/61" must be between 1 and 59'],
    ['1,,2 * * * *', 'minute "" is not a value, a range like 1-5, or a step like */15'],
    ['L * * * *', 'minute "L" is not a number'],
    ['@fortnightly', 'it has 1 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)'],
    ['0 0 30 2 *', 'it never fires (no such day)'],
    ['0 0 31 4,6 *', 'it never fires (no such day)'],
    // What node-cron accepts and crontab(5) does not.
    ['0 0 L * *', 'day of month "L" is not a number'],
    ['0 0 15W * *', 'day of month "15W" is not a number'],
    ['0 0 * * 1#2', 'day of week "1#2" is not a value, a range like 1-5, or a step like */15'],
    ['0 0 ? * *', 'day of month "?" is not a value, a range like 1-5, or a step like */15'],
    ['0 0 * * monday', 'day of week "monday" is not a number or a name like mon'],
    ['0 0 * * 7-1', 'day of week range "7-1" runs backwards'],
  ])('refuses %j: %s', (expr, message) => {
    expect(parseCron(expr)).toEqual({ ok: false, message });
  });

  it('hands node-cron numbers, six fields, and one expression per restricted day field', () => {
    expect(parseCron('*/30 * * * *')).toEqual({ ok: true, expressions: ['0 */30 * * * *'] });
    expect(parseCron('@weekly')).toEqual({ ok: true, expressions: ['0 0 0 * * 0'] });
    expect(parseCron('0 0 1 jan,Jul sun-sat')).toEqual({
      ok: true,
      expressions: ['0 0 0 1 1,7 *', '0 0 0 * 1,7 0-6'],
    });
    // crontab's "5/15" is node-cron's "5-59/15"; 7 stays 7 (node-cron reads it as Sunday too).
    expect(parseCron('5/15 * * * 7')).toEqual({ ok: true, expressions: ['0 5-59/15 * * * 7'] });
    // The day-of-month half never fires and is left out.
    expect(parseCron('0 0 30 2 mon')).toEqual({ ok: true, expressions: ['0 0 0 * 2 1'] });
  });
});

describe('when the node-cron tasks fire (UTC)', () => {
  it('fires strictly after the start, on whole seconds', async () => {
    expect(await runs('*/30 * * * *', '2026-11-27T10:00:00.000Z')).toEqual([
      '2026-11-27T10:30:00.000Z',
      '2026-11-27T11:00:00.000Z',
      '2026-11-27T11:30:00.000Z',
    ]);
    expect(await runs('*/30 * * * *', '2026-11-27T09:59:59.999Z', 1)).toEqual(['2026-11-27T10:00:00.000Z']);
    expect(await runs('*/20 * * * * *', '2026-11-27T10:00:05.500Z')).toEqual([
      '2026-11-27T10:00:20.000Z',
      '2026-11-27T10:00:40.000Z',
      '2026-11-27T10:01:00.000Z',
    ]);
  });

  it('skips to weekdays, months and years as needed', async () => {
    // 2026-11-27 is a Friday.
    expect(await runs('0 3 * * mon-fri', '2026-11-27T04:00:00Z')).toEqual([
      '2026-11-30T03:00:00.000Z',
      '2026-12-01T03:00:00.000Z',
      '2026-12-02T03:00:00.000Z',
    ]);
    expect(await runs('0 0 1 jan,jul *', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2027-01-01T00:00:00.000Z',
      '2027-07-01T00:00:00.000Z',
    ]);
    expect(await runs('0 12 29 2 *', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2028-02-29T12:00:00.000Z',
      '2032-02-29T12:00:00.000Z',
    ]);
    expect(await runs('0 0 * * 7', '2026-11-27T00:00:00Z', 1)).toEqual(['2026-11-29T00:00:00.000Z']);
    expect(await runs('5/20 * * * *', '2026-11-27T00:00:00Z')).toEqual([
      '2026-11-27T00:05:00.000Z',
      '2026-11-27T00:25:00.000Z',
      '2026-11-27T00:45:00.000Z',
    ]);
  });

  it('fires on either day field when both are restricted, as crontab(5) does', async () => {
    // The 1st of the month or any Monday.
    expect(await runs('0 0 1 * mon', '2026-11-27T00:00:00Z')).toEqual([
      '2026-11-30T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      '2026-12-07T00:00:00.000Z',
    ]);
    // One of them `*`: both must hold (every Monday, whatever the date).
    expect(await runs('0 0 * * mon', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2026-11-30T00:00:00.000Z',
      '2026-12-07T00:00:00.000Z',
    ]);
    // Monday 1 June 2026 matches both fields, so both tasks fire at that time: one call.
    expect(await runs('0 0 1 * mon', '2026-05-28T00:00:00Z')).toEqual([
      '2026-06-01T00:00:00.000Z',
      '2026-06-08T00:00:00.000Z',
      '2026-06-15T00:00:00.000Z',
    ]);
    // Mondays in February, though the 30th never comes.
    expect(await runs('0 0 30 2 mon', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2027-02-01T00:00:00.000Z',
      '2027-02-08T00:00:00.000Z',
    ]);
  });

  it('agrees with a minute-by-minute reading of the fields, for random schedules and times', async () => {
    const field = (min: number, max: number) =>
      fc.oneof(
        fc.constant('*'),
        fc.integer({ min, max }).map(String),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
        fc.integer({ min: 1, max: Math.min(max, 12) }).map((n) => `*/${n}`),
        fc.array(fc.integer({ min, max }), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(',')),
      );
    const expr = fc.tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7)).map((f) => f.join(' '));
    const when = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) });
    await fc.assert(
      fc.asyncProperty(expr, when, async (e, t) => {
        const expected = reference(e, t);
        if (expected === undefined) return !parseCron(e).ok;
        return (await runs(e, t, 1, 4_000))[0] === new Date(expected).toISOString();
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The first whole minute after `t` whose fields all hold, found the slow way: day by day
 * from `t` for nine years, and minute by minute within a day whose date holds.
 */
function reference(expr: string, t: number): number | undefined {
  const [mi, h, dom, mon, dow] = expr.split(' ').map((f, i) =>
    values(
      f as string,
      [
        [0, 59],
        [0, 23],
        [1, 31],
        [1, 12],
        [0, 7],
      ][i] as [number, number],
    ),
  ) as Set<number>[];
  const either = expr.split(' ')[2] !== '*' && expr.split(' ')[4] !== '*';
  const start = new Date(t);
  for (let day = 0; day < 9 * 366; day++) {
    const d = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + day));
    const weekday = d.getUTCDay();
    const domOk = dom!.has(d.getUTCDate());
    const dowOk = dow!.has(weekday) || (weekday === 0 && dow!.has(7));
    if (!mon!.has(d.getUTCMonth() + 1) || !(either ? domOk || dowOk : domOk && dowOk)) continue;
    for (let m = 0; m < 1440; m++) {
      const at = d.getTime() + m * 60_000;
      if (at > t && h!.has(Math.floor(m / 60)) && mi!.has(m % 60)) return at;
    }
  }
  return undefined;
}

function values(field: string, [min, max]: [number, number]): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, step] = item.split('/');
    const [a, b] = range === '*' ? [min, max] : (range as string).split('-').map(Number);
    const from = a as number;
    const to = b ?? from;
    for (let v = from; v <= to; v += Number(step ?? 1)) out.add(v);
  }
  return out;
}
