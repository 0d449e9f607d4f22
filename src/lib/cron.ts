/**
 * Cron expressions, read as crontab(5) reads them, with an optional leading seconds field,
 * and the next time one fires in local time. Pure: the daemon's timer (src/runtime/schedule.ts)
 * is the only caller that looks at the clock.
 *
 * Ours rather than node-cron's because node-cron works out every time through
 * Intl.DateTimeFormat, which pages in about 7 MB of ICU data that then stays resident: a
 * tenth of the idle daemon (docs/performance.md, Memory).
 */

export interface CronSchedule {
  /** Allowed values per field, indexed by value: second, minute, hour, day of month (1–31), month (1–12), day of week (0–6, Sunday 0). */
  readonly second: readonly boolean[];
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  readonly day: readonly boolean[];
  readonly month: readonly boolean[];
  readonly weekday: readonly boolean[];
  /** Both day fields restricted (neither is `*`): a day matching either one fires, as in crontab(5). */
  readonly eitherDay: boolean;
}

export type CronResult =
  { readonly ok: true; readonly schedule: CronSchedule } | { readonly ok: false; readonly message: string };

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: readonly Field[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as crontab(5) allows.
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS },
];

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Parses "m h dom mon dow", "s m h dom mon dow" or a nickname like "@daily". */
export function parseCron(expression: string): CronResult {
  const text = expression.trim();
  const expanded = NICKNAMES[text.toLowerCase()] ?? text;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return {
      ok: false,
      message: `it has ${text === '' ? 0 : parts.length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    };
  }
  const texts = parts.length === 5 ? ['0', ...parts] : parts;
  const sets: boolean[][] = [];
  for (const [i, field] of FIELDS.entries()) {
    const set = parseField(texts[i] as string, field);
    if (typeof set === 'string') return { ok: false, message: set };
    sets.push(set);
  }
  const [second, minute, hour, day, month, weekday] = sets as [
    boolean[],
    boolean[],
    boolean[],
    boolean[],
    boolean[],
    boolean[],
  ];
  if (weekday[7]) weekday[0] = true;
  weekday.length = 7;
  const schedule: CronSchedule = {
    second,
    minute,
    hour,
    day,
    month,
    weekday,
    eitherDay: texts[3] !== '*' && texts[5] !== '*',
  };
  // "0 0 30 2 *" parses but never fires; say so now rather than wait for ever.
  if (nextRun(schedule, Date.UTC(2000, 0, 1)) === undefined)
    return { ok: false, message: 'it never fires (no such day)' };
  return { ok: true, schedule };
}

/** One field: a comma-separated list of `*`, `n`, `a-b`, each optionally `/step`. */
function parseField(text: string, field: Field): boolean[] | string {
  const set: boolean[] = Array.from({ length: field.max + 1 }, () => false);
  for (const item of text.split(',')) {
    const m = /^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m) return `${field.name} "${item}" is not a value, a range like 1-5, or a step like */15`;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1 || step > field.max)
      return `${field.name} step "/${m[2] as string}" must be between 1 and ${field.max}`;
    let from = field.min;
    let to = field.max;
    if (m[1] !== '*') {
      const [a, b] = (m[1] as string).split('-') as [string, string | undefined];
      const start = value(a, field);
      // "5/15" runs from 5 to the end in steps of 15, as in crontab(5).
      const end = b !== undefined ? value(b, field) : m[2] !== undefined ? field.max : start;
      if (typeof start === 'string') return start;
      if (typeof end === 'string') return end;
      if (end < start) return `${field.name} range "${m[1] as string}" runs backwards`;
      [from, to] = [start, end];
    }
    for (let v = from; v <= to; v += step) set[v] = true;
  }
  return set;
}

function value(text: string, field: Field): number | string {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (field.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text))
    return `${field.name} "${text}" is not a number${field.names ? ` or a name like ${field.names[1] as string}` : ''}`;
  const n = Number(text);
  if (n < field.min || n > field.max) return `${field.name} ${n} is out of range ${field.min}–${field.max}`;
  return n;
}

/** The longest search: a schedule firing only on 29 February fires within eight years. */
const SEARCH_YEARS = 9;

/**
 * The first time strictly after `after` (ms since the epoch) at which the schedule fires, in
 * the process's local time zone; undefined if it never does. A time skipped by a daylight
 * saving change does not fire; an hour that repeats fires once, in its first pass.
 */
export function nextRun(s: CronSchedule, after: number): number | undefined {
  let t = Math.floor(after / 1000) * 1000 + 1000;
  const limit = new Date(t).getFullYear() + SEARCH_YEARS;
  for (;;) {
    const d = new Date(t);
    const [y, mo, dd, h, mi] = [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()];
    if (y > limit) return undefined;
    // Each miss jumps to the start of the next unit of local time; `later` makes sure the
    // jump goes forward even where local time repeats (the hour a clock is set back).
    if (!s.month[mo + 1]) t = later(t, new Date(y, mo + 1, 1).getTime());
    else if (!dayMatches(s, d)) t = later(t, new Date(y, mo, dd + 1).getTime());
    else if (!s.hour[h]) t = later(t, new Date(y, mo, dd, h + 1).getTime(), 3_600_000);
    else if (!s.minute[mi]) t = later(t, new Date(y, mo, dd, h, mi + 1).getTime(), 60_000);
    else if (!s.second[d.getSeconds()]) t += 1000;
    else return t;
  }
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const day = s.day[d.getDate()] === true;
  const weekday = s.weekday[d.getDay()] === true;
  return s.eitherDay ? day || weekday : day && weekday;
}

/** `next`, unless local time repeated and it is not after `t`: then `t` plus one whole `unit`, on its boundary. */
function later(t: number, next: number, unit = 1000): number {
  return next > t ? next : Math.floor(t / unit) * unit + unit;
}
