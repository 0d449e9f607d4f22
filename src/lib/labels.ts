/** Label selectors: `key` (present), `key=value` (equal), `!key` (absent). */

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelector {
  readonly key: string;
  readonly value?: string;
  readonly absent: boolean;
}

const KEY = /^[^\s=!][^\s=]*$/;

/** Parses a selector, or returns a reason it is not one. */
export function parseLabelSelector(text: string): LabelSelector | string {
  const absent = text.startsWith('!');
  const body = absent ? text.slice(1) : text;
  const eq = body.indexOf('=');
  const key = eq < 0 ? body : body.slice(0, eq);
  if (!KEY.test(key)) return `"${text}" has no valid label key`;
  if (absent && eq >= 0) return `"${text}": "!key" takes no value`;
  return eq < 0 ? { key, absent } : { key, value: body.slice(eq + 1), absent };
}

function selector(text: string): LabelSelector {
  const s = parseLabelSelector(text);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

function holds(s: LabelSelector, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, s.key);
  if (s.absent) return !has;
  return has && (s.value === undefined || labels[s.key] === s.value);
}

/** All selectors hold (an empty list holds). */
export function allLabels(texts: readonly string[]): (labels: Labels) => boolean {
  const selectors = texts.map(selector);
  // A plain loop: an arrow made per call is garbage, and this runs for every object.
  return (labels) => {
    for (const s of selectors) if (!holds(s, labels)) return false;
    return true;
  };
}

/** The first selector that holds, if any: used to say which label kept an object. */
export function firstLabel(texts: readonly string[]): (labels: Labels) => string | undefined {
  const selectors = texts.map((t) => [t, selector(t)] as const);
  if (selectors.length === 0) return () => undefined;
  return (labels) => {
    for (const [text, s] of selectors) if (holds(s, labels)) return text;
    return undefined;
  };
}
