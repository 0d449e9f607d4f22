// Renders a plan as text, one decision per line, so a golden comparison that fails shows a
// line diff rather than two opaque hashes. It reads values only, never the TypeScript shape of
// Action: known fields come first in a fixed order, then any other field by name, so a field
// that is added, dropped or moved between union members shows up in the diff.

/** Field order within one line; fields not listed follow, sorted by name. */
const ORDER = [
  'resource',
  'id',
  'name',
  'policy',
  'reason',
  'bytes',
  'bytesRange',
  'tags',
  'digests',
  'dependsOn',
  'inTree',
  'prune',
  'archive',
];

function rank(key: string): number {
  const i = ORDER.indexOf(key);
  return i === -1 ? ORDER.length : i;
}

/** Object keys sorted so that the text does not depend on the order fields were written in. */
function sortedKeys(value: object): string[] {
  return Object.keys(value).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** JSON with object keys in a stable order; undefined fields are left out, as JSON.stringify does. */
function stable(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts = sortedKeys(record)
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stable(record[k])}`);
  return `{${parts.join(',')}}`;
}

/** One entry as `key=value` pairs on one line. */
function line(entry: unknown): string {
  if (entry === null || typeof entry !== 'object') return stable(entry);
  const record = entry as Record<string, unknown>;
  return sortedKeys(record)
    .filter((k) => record[k] !== undefined)
    .map((k) => `${k}=${stable(record[k])}`)
    .join(' ');
}

/**
 * The whole plan: each list as a section with one line per entry in plan order, then every
 * other top-level field on a line of its own.
 */
export function renderPlan(plan: object): string {
  const record = plan as Record<string, unknown>;
  const out: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const value = record[key];
    if (Array.isArray(value)) {
      out.push(`## ${key} (${value.length})`);
      for (const entry of value) out.push(line(entry));
    } else {
      out.push(`## ${key}`, stable(value));
    }
  }
  return `${out.join('\n')}\n`;
}
