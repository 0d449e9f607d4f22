import { afterAll, beforeAll } from 'vitest';

/**
 * Runs the calling test file in time zone `tz` (process.env.TZ, which Node reads again when it
 * changes) and restores the zone after. node-cron keeps the zone of its first Intl formatter, so
 * a file uses one zone only.
 */
export function inTimeZone(tz: string): void {
  const before = process.env['TZ'];
  beforeAll(() => {
    process.env['TZ'] = tz;
  });
  afterAll(() => {
    if (before === undefined) delete process.env['TZ'];
    else process.env['TZ'] = before;
  });
}
