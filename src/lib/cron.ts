/**
 * Cron expressions as crontab(5) reads them, turned into what node-cron schedules. node-cron
 * does the matching and the timing (src/runtime/schedule.ts); this file only checks the
 * expression and bridges the places where the two read an expression differently:
 *
 * - crontab fires on a day matching *either* day field when both are restricted; node-cron
 *   wants both. Such an expression becomes two node-cron expressions, one per day field.
 * - node-cron accepts what crontab refuses (`L`, `W`, `#`, `?`, full names like `monday`,
 *   ranges that wrap like `10-5`, steps longer than the field like 61 seconds) and
 *   refuses `5/15`, which crontab reads as `5-59/15`. We accept crontab's forms only.
 * - node-cron's messages name neither the field's range nor what it expected; ours do.
 */
import { validateDetailed } from 'node-cron';

export type CronResult =
  | {
      readonly ok: true;
      /** What to give node-cron: one expression, or two when both day fields are restricted. */
      readonly expressions: readonly string[];
    }
  | { readonly ok: false; readonly message: string };

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
  // 7 is Sunday too, as crontab(5) allows; node-cron reads it so as well.
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS },
];

// node-cron knows these too, but we need the fields to tell whether both day fields are restricted.
const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * Checks "m h dom mon dow", "s m h dom mon dow" or a nickname like "@daily", and returns the
 * node-cron expressions (always six fields, numbers only) that together fire when crontab would.
 */
export function parseCron(expression: string): CronResult {
  const text = expression.trim();
  const parts = (NICKNAMES[text.toLowerCase()] ?? text).split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return {
      ok: false,
      message: `it has ${text === '' ? 0 : parts.length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    };
  }
  const texts = parts.length === 5 ? ['0', ...parts] : parts;
  const fields: string[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const converted = convertField(texts[i] as string, field);
    if (!converted.ok) return { ok: false, message: converted.error };
    fields.push(converted.text);
  }
  const [s, m, h, day, month, weekday] = fields as [string, string, string, string, string, string];
  const expressions =
    texts[3] !== '*' && texts[5] !== '*'
      ? [`${s} ${m} ${h} ${day} ${month} *`, `${s} ${m} ${h} * ${month} ${weekday}`]
      : [fields.join(' ')];
  const kept: string[] = [];
  for (const e of expressions) {
    const check = validateDetailed(e);
    const error = check.errors[0];
    if (check.valid) kept.push(e);
    // "0 0 30 2 *" never fires, and node-cron says so; with a day of week beside it, the
    // day-of-month half alone never fires and is dropped.
    else if (error === undefined || !/impossible day/.test(error.message))
      return { ok: false, message: `node-cron refuses ${JSON.stringify(e)}: ${error?.message ?? 'no reason given'}` };
  }
  if (kept.length === 0) return { ok: false, message: 'it never fires (no such day)' };
  return { ok: true, expressions: kept };
}

/**
 * One field, a comma-separated list of `*`, `n`, `a-b`, each optionally `/step`, written the
 * way node-cron reads it: names as numbers, and `a/step` as `a-max/step`.
 */
function convertField(text: string, field: Field): { ok: true; text: string } | { ok: false; error: string } {
  const items: string[] = [];
  for (const item of text.split(',')) {
    const m = /^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m)
      return { ok: false, error: `${field.name} "${item}" is not a value, a range like 1-5, or a step like */15` };
    const range = m[1] as string;
    const step = m[2];
    if (step !== undefined && (Number(step) < 1 || Number(step) > field.max))
      return { ok: false, error: `${field.name} step "/${step}" must be between 1 and ${field.max}` };
    const suffix = step === undefined ? '' : `/${step}`;
    if (range === '*') {
      items.push(`*${suffix}`);
      continue;
    }
    const [a, b] = range.split('-') as [string, string | undefined];
    const start = value(a, field);
    // "5/15" runs from 5 to the end in steps of 15, as in crontab(5).
    const end = b !== undefined ? value(b, field) : step !== undefined ? field.max : start;
    if (typeof start === 'string') return { ok: false, error: start };
    if (typeof end === 'string') return { ok: false, error: end };
    // node-cron would wrap round ("10-5" is 10 to 59, then 0 to 5); crontab refuses it.
    if (end < start) return { ok: false, error: `${field.name} range "${range}" runs backwards` };
    items.push(end === start && step === undefined ? `${start}` : `${start}-${end}${suffix}`);
  }
  return { ok: true, text: items.join(',') };
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
