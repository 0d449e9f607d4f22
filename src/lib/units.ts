/** Durations and sizes as written in policy files. */

const DURATION = /^([0-9]+)(s|m|h|d|w)$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Parses `30s 15m 6h 7d 2w` into milliseconds, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (SECONDS[m[2] as string] as number) * 1000;
}

const SIZE = /^([0-9]+(?:\.[0-9]+)?)\s?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;
const BYTES: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** Parses sizes such as `500MB` or `2GiB` into bytes, or undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (BYTES[m[2] as string] as number));
}

/** Formats bytes for people: 1.5 MB. Decimal units, like the docker CLI. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  if (Math.abs(bytes) < 1000) return `${bytes} B`;
  let unit = 0;
  // Round first, then decide the unit, so 999,999 bytes reads "1.00 MB", not "1000.0 kB".
  for (;;) {
    const value = bytes / 1000 ** unit;
    const shown = Number(value.toFixed(Math.abs(value) < 10 ? 2 : 1));
    if (Math.abs(shown) < 1000 || unit === units.length - 1)
      return `${Math.abs(shown) < 10 ? shown.toFixed(2) : shown.toFixed(1)} ${units[unit]}`;
    unit++;
  }
}

/** Seconds per unit, the size of the unit above it (the remainder is what this one shows), symbol. */
const DURATION_UNITS: ReadonlyArray<readonly [number, number, string]> = [
  [86_400, Infinity, 'd'],
  [3600, 86_400, 'h'],
  [60, 3600, 'm'],
  [1, 60, 's'],
];

/** Formats milliseconds for people: 3d 4h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  // The two largest non-zero units, built without intermediate arrays or closures: the
  // planner formats one duration for every object it selects.
  let out = '';
  let shown = 0;
  for (const [size, above, unit] of DURATION_UNITS) {
    const n = Math.floor((s % above) / size);
    if (n <= 0) continue;
    out = shown === 0 ? `${n}${unit}` : `${out} ${n}${unit}`;
    if (++shown === 2) break;
  }
  return shown === 0 ? '0s' : out;
}
