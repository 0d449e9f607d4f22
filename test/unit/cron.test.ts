// Cron schedules: what parses and what is refused with which words, when each fires (also
// across daylight saving changes), a property against a plain minute-by-minute reference,
// and the daemon's timer on a fake clock.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { nextRun, parseCron, type CronSchedule } from '../../src/lib/cron.js';
import { startCronTimer } from '../../src/runtime/schedule.js';

const tz = process.env['TZ'];
const useZone = (zone: string | undefined) => {
  if (zone === undefined) delete process.env['TZ'];
  else process.env['TZ'] = zone;
};

function schedule(expr: string): CronSchedule {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(`${expr}: ${r.message}`);
  return r.schedule;
}

/** The next `count` firing times after `from`, as ISO strings (UTC). */
function runs(expr: string, from: string, count = 3): string[] {
  const s = schedule(expr);
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < count; i++) {
    t = nextRun(s, t) as number;
    out.push(new Date(t).toISOString());
  }
  return out;
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
  ])('refuses %j: %s', (expr, message) => {
    expect(parseCron(expr)).toEqual({ ok: false, message });
  });
});

describe('nextRun (UTC)', () => {
  beforeAll(() => useZone('UTC'));
  afterAll(() => useZone(tz));

  it('fires strictly after the given time, on whole seconds', () => {
    expect(runs('*/30 * * * *', '2026-11-27T10:00:00.000Z')).toEqual([
      '2026-11-27T10:30:00.000Z',
      '2026-11-27T11:00:00.000Z',
      '2026-11-27T11:30:00.000Z',
    ]);
    expect(runs('*/30 * * * *', '2026-11-27T09:59:59.999Z', 1)).toEqual(['2026-11-27T10:00:00.000Z']);
    expect(runs('*/20 * * * * *', '2026-11-27T10:00:05.500Z')).toEqual([
      '2026-11-27T10:00:20.000Z',
      '2026-11-27T10:00:40.000Z',
      '2026-11-27T10:01:00.000Z',
    ]);
  });

  it('skips to weekdays, months and years as needed', () => {
    // 2026-11-27 is a Friday.
    expect(runs('0 3 * * mon-fri', '2026-11-27T04:00:00Z')).toEqual([
      '2026-11-30T03:00:00.000Z',
      '2026-12-01T03:00:00.000Z',
      '2026-12-02T03:00:00.000Z',
    ]);
    expect(runs('0 0 1 jan,jul *', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2027-01-01T00:00:00.000Z',
      '2027-07-01T00:00:00.000Z',
    ]);
    expect(runs('0 12 29 2 *', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2028-02-29T12:00:00.000Z',
      '2032-02-29T12:00:00.000Z',
    ]);
    expect(runs('0 0 * * 7', '2026-11-27T00:00:00Z', 1)).toEqual(['2026-11-29T00:00:00.000Z']);
  });

  it('fires on either day field when both are restricted, as crontab(5) does', () => {
    // The 1st of the month or any Monday.
    expect(runs('0 0 1 * mon', '2026-11-27T00:00:00Z')).toEqual([
      '2026-11-30T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      '2026-12-07T00:00:00.000Z',
    ]);
    // One of them `*`: both must hold (every Monday, whatever the date).
    expect(runs('0 0 * * mon', '2026-11-27T00:00:00Z', 2)).toEqual([
      '2026-11-30T00:00:00.000Z',
      '2026-12-07T00:00:00.000Z',
    ]);
  });

  it('agrees with a minute-by-minute reading of the fields, for random schedules and times', () => {
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
    fc.assert(
      fc.property(expr, when, (e, t) => {
        const parsed = parseCron(e);
        const expected = reference(e, t);
        if (expected === undefined) return !parsed.ok;
        return parsed.ok && nextRun(parsed.schedule, t) === expected;
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

describe('nextRun across daylight saving changes (Europe/Berlin)', () => {
  beforeAll(() => useZone('Europe/Berlin'));
  afterAll(() => useZone(tz));

  it('does not fire at a time the clocks skip', () => {
    // 2026-03-29: 02:00 local becomes 03:00 (01:00 UTC); 02:30 does not exist that day.
    expect(runs('30 2 * * *', '2026-03-28T02:00:00Z', 2)).toEqual([
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('fires once in an hour the clocks repeat, in its first pass', () => {
    // 2026-10-25: 03:00 local (CEST, 01:00 UTC) goes back to 02:00 (CET); 02:30 happens twice.
    expect(runs('30 2 * * *', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // Asked from inside the second pass, it goes forward, never back.
    expect(runs('*/15 * * * *', '2026-10-25T01:05:00Z', 2)).toEqual([
      '2026-10-25T01:15:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ]);
  });
});

describe('startCronTimer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires at each scheduled time, once, and not after stop', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:00:10Z') });
    const fired: string[] = [];
    const timer = startCronTimer(schedule('*/30 * * * *'), () => fired.push(new Date().toISOString()));
    vi.advanceTimersByTime(29 * 60_000 + 49_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['2026-11-27T10:30:00.000Z']);
    vi.advanceTimersByTime(30 * 60_000);
    expect(fired).toEqual(['2026-11-27T10:30:00.000Z', '2026-11-27T11:00:00.000Z']);
    timer.stop();
    vi.advanceTimersByTime(3 * 3_600_000);
    expect(fired).toHaveLength(2);
  });

  it('notices a wall clock set forward within a minute, and fires once for all it skipped', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:00:00Z') });
    let fired = 0;
    const timer = startCronTimer(schedule('0 * * * *'), () => fired++);
    vi.setSystemTime(Date.parse('2026-11-27T15:20:00Z'));
    vi.advanceTimersByTime(60_000);
    expect(fired).toBe(1);
    // The next is 16:00 by the new clock, not 11:00.
    vi.advanceTimersByTime(38 * 60_000);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(fired).toBe(2);
    timer.stop();
  });

  it('does not fire early when the wall clock is set back', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-27T10:50:00Z') });
    let fired = 0;
    const timer = startCronTimer(schedule('0 * * * *'), () => fired++);
    vi.setSystemTime(Date.parse('2026-11-27T09:50:00Z'));
    // 11:00 was due in 10 minutes by the old clock; by the new one it is 70 minutes away.
    vi.advanceTimersByTime(69 * 60_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(fired).toBe(1);
    timer.stop();
  });
});
