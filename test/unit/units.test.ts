// Durations decide how old is "old enough to delete", so parsing is strict and exact; the
// formatters appear in reasons and logs, so their output is pinned too.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../../src/lib/units.js';

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['30s', 30_000],
    ['15m', 900_000],
    ['6h', 21_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['007m', 420_000],
    ['1000d', 86_400_000_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  // One whole number and one lower-case unit, nothing around it: anything else is undefined,
  // never a guess (a misread "1.5d" as 1d would delete things half a day early).
  it.each(['', '7', 'd', '1.5h', '7D', '7 d', ' 7d', '7d ', '-1d', '+1d', '1y', '1ms', '7dd', '1d2h', '1e3s'])(
    '%j is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('parseSize', () => {
  it.each([
    ['0B', 0],
    ['1 B', 1],
    ['500MB', 500_000_000],
    ['1kB', 1000],
    ['1KB', 1000],
    ['1.5 kB', 1500],
    ['2GB', 2_000_000_000],
    ['1TB', 1e12],
    ['1KiB', 1024],
    ['1.5KiB', 1536],
    ['2GiB', 2 * 1024 ** 3],
    ['3TiB', 3 * 1024 ** 4],
    // Fractions of a byte round to the nearest whole byte.
    ['1.0005kB', 1001],
    ['0.0001kB', 0],
  ])('%j → %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'MB', '1', '1 mb', '1Mb', '1  MB', ' 1MB', '1MB ', '.5MB', '1.MB', '-1MB', '1PB', '1 KIB', '1,5MB'])(
    '%j is not a size',
    (text) => {
      expect(parseSize(text)).toBeUndefined();
    },
  );
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [999, '999 B'],
    [1000, '1.00 kB'],
    [1500, '1.50 kB'],
    [10_000, '10.0 kB'],
    [123_456_789, '123.5 MB'],
    [5e9, '5.00 GB'],
    [1e12, '1.00 TB'],
    // TB is the largest unit: bigger values stay in TB.
    [1.5e15, '1500.0 TB'],
    [-1500, '-1.50 kB'],
  ])('%d → %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5000, '0s'],
    [999, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [3_661_000, '1h 1m'],
    [90_061_000, '1d 1h'],
    [864_000_000, '10d'],
    // Only the two largest non-zero parts are shown.
    [694_861_000, '8d 1h'],
    [86_400_000 + 5000, '1d 5s'],
  ])('%d ms → %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
