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
      tokens.push(run === 2 ? { kind: 'globstar' } : { kind: 'star' });
      i += run - 1;
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
  return { ok: true, match: (name) => run(tokens, name) };
}

function parseClass(pattern: string, start: number): { ok: true; token: Token; end: number } | { ok: false; reason: string } {
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

/** Runs the automaton: `states` holds every token position reachable after the input so far. */
function run(tokens: Token[], name: string): boolean {
  let states = closure(tokens, new Set([0]));
  for (const c of name) {
    const next = new Set<number>();
    for (const p of states) {
      const token = tokens[p];
      if (token === undefined) continue;
      if (token.kind === 'globstar' || (token.kind === 'star' && c !== '/')) next.add(p);
      else if (consumes(token, c)) next.add(p + 1);
    }
    if (next.size === 0) return false;
    states = closure(tokens, next);
  }
  return states.has(tokens.length);
}

/** Adds the positions reachable without input: past `*` or `**`, and past `**\/` as "no directory". */
function closure(tokens: Token[], states: Set<number>): Set<number> {
  const work = [...states];
  while (work.length > 0) {
    const p = work.pop() as number;
    const token = tokens[p];
    const skips: number[] = [];
    if (token?.kind === 'star' || token?.kind === 'globstar') skips.push(p + 1);
    const next = tokens[p + 1];
    if (token?.kind === 'globstar' && next?.kind === 'char' && next.char === '/') skips.push(p + 2);
    for (const s of skips) {
      if (!states.has(s)) {
        states.add(s);
        work.push(s);
      }
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
  return (name) => matchers.some((m) => m(name));
}
