/**
 * Globs over `/`-separated names (repositories, tags, container and volume names).
 *
 * Matching simulates the pattern as a small automaton, one character at a time, instead of
 * compiling it to a RegExp: a hostile pattern such as `*a*a*a*a*b` against a long name then
 * costs O(pattern × name) steps rather than exponential backtracking.
 */

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'any' } // `?`: one character other than `/`
  | { kind: 'star' } // `*`: any run of characters other than `/`
  | { kind: 'globstar' } // `**`: any run of characters, `/` included
  | { kind: 'dirs' } // `**/` at the start of a segment: no directory, or any directories
  | { kind: 'class'; negated: boolean; ranges: Array<[string, string]> };

export type GlobResult = { ok: true; match: (name: string) => boolean } | { ok: false; reason: string };

/** Compiles a glob, or explains why it is not one. */
export function compileGlob(pattern: string): GlobResult {
  if (pattern.length === 0) return { ok: false, reason: 'the pattern is empty' };
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { ok: false, reason: 'it ends with a lone "\\"' };
      tokens.push({ kind: 'char', char: next });
      i++;
    } else if (c === '*') {
      let run = 1;
      while (pattern[i + run] === '*') run++;
      if (run > 2) return { ok: false, reason: `"${'*'.repeat(run)}" is not a glob operator; use * or **` };
      const segmentStart = i === 0 || pattern[i - 1] === '/';
      if (run === 2 && segmentStart && pattern[i + 2] === '/') {
        tokens.push({ kind: 'dirs' });
        i += 2;
      } else {
        tokens.push(run === 2 ? { kind: 'globstar' } : { kind: 'star' });
        i += run - 1;
      }
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
    } else if (c === '[') {
      const parsed = parseClass(pattern, i);
      if (!parsed.ok) return parsed;
      tokens.push(parsed.token);
      i = parsed.end;
    } else {
      tokens.push({ kind: 'char', char: c });
    }
  }
  // Up to two wildcards a RegExp is faster and its backtracking stays polynomial (at worst
  // quadratic in the name); beyond that the automaton guarantees linear time.
  const wildcards = tokens.filter((t) => t.kind === 'star' || t.kind === 'globstar' || t.kind === 'dirs').length;
  if (wildcards <= 2) {
    const re = new RegExp(`^${tokens.map(toRegExp).join('')}$`, 'u');
    return { ok: true, match: (name) => re.test(name) };
  }
  return { ok: true, match: (name) => run(tokens, name) };
}

function toRegExp(token: Token): string {
  switch (token.kind) {
    case 'char':
      return token.char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    case 'any':
      return '[^/]';
    case 'star':
      return '[^/]*';
    case 'globstar':
      return '.*';
    case 'dirs':
      return '(?:.*/)?';
    case 'class': {
      const body = token.ranges.map(([lo, hi]) => (lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`)).join('');
      return token.negated ? `[^/${body}]` : `(?!/)[${body}]`;
    }
  }
}

function esc(c: string): string {
  return c.replace(/[\\\]^-]/g, '\\$&');
}

function parseClass(
  pattern: string,
  start: number,
): { ok: true; token: Token; end: number } | { ok: false; reason: string } {
  let i = start + 1;
  const negated = pattern[i] === '!' || pattern[i] === '^';
  if (negated) i++;
  const ranges: Array<[string, string]> = [];
  for (; i < pattern.length && (pattern[i] !== ']' || ranges.length === 0); i++) {
    const lo = pattern[i] as string;
    if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
      const hi = pattern[i + 2] as string;
      if (hi < lo) return { ok: false, reason: `the range "${lo}-${hi}" is reversed` };
      ranges.push([lo, hi]);
      i += 2;
    } else {
      ranges.push([lo, lo]);
    }
  }
  if (pattern[i] !== ']') return { ok: false, reason: `the "[" at position ${start + 1} is never closed` };
  return { ok: true, token: { kind: 'class', negated, ranges }, end: i };
}

function consumes(token: Token, c: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.char === c;
    case 'any':
      return c !== '/';
    case 'class':
      return c !== '/' && token.ranges.some(([lo, hi]) => c >= lo && c <= hi) !== token.negated;
    default:
      return false;
  }
}

/**
 * Runs the automaton. A state is a token position; for a `**\/` token at position p, p means
 * "not started" and p + 0.5 "inside its directories", so that its `/` stays a real boundary.
 */
function run(tokens: Token[], name: string): boolean {
  let states = closure(tokens, new Set([0]));
  for (const c of name) {
    const next = new Set<number>();
    for (const s of states) {
      if (!Number.isInteger(s)) {
        next.add(s);
        if (c === '/') next.add(s + 0.5);
        continue;
      }
      const token = tokens[s];
      if (token === undefined) continue;
      if (token.kind === 'dirs') {
        next.add(s + 0.5);
        if (c === '/') next.add(s + 1);
      } else if (token.kind === 'globstar' || (token.kind === 'star' && c !== '/')) next.add(s);
      else if (consumes(token, c)) next.add(s + 1);
    }
    if (next.size === 0) return false;
    states = closure(tokens, next);
  }
  return states.has(tokens.length);
}

/** Adds the states reachable without input: past `*`, `**` and `**\/` matching nothing. */
function closure(tokens: Token[], states: Set<number>): Set<number> {
  const work = [...states];
  while (work.length > 0) {
    const p = work.pop() as number;
    const kind = Number.isInteger(p) ? tokens[p]?.kind : undefined;
    if (kind !== 'star' && kind !== 'globstar' && kind !== 'dirs') continue;
    if (!states.has(p + 1)) {
      states.add(p + 1);
      work.push(p + 1);
    }
  }
  return states;
}

/** Compiles globs known to be valid (the schema checked them); true when any matches. */
export function anyGlob(patterns: readonly string[]): (name: string) => boolean {
  const matchers = patterns.map((p) => {
    const r = compileGlob(p);
    if (!r.ok) throw new Error(`invalid glob "${p}": ${r.reason}`);
    return r.match;
  });
  // Plain loops rather than `some` with an arrow: this runs for every object under every
  // policy, and an arrow made per call is garbage the planner then has to collect.
  const only = matchers.length === 1 ? matchers[0] : undefined;
  if (only) return only;
  return (name) => {
    for (const m of matchers) if (m(name)) return true;
    return false;
  };
}
