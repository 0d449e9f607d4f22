// Globs select what gets deleted, so every operator is pinned as data: a glob that matches
// too much removes images or containers nobody meant to remove.
import { describe, expect, it } from 'vitest';
import { anyGlob, compileGlob } from '../../src/lib/glob.js';

function matches(pattern: string, name: string): boolean {
  const r = compileGlob(pattern);
  if (!r.ok) throw new Error(`"${pattern}" should compile, got: ${r.reason}`);
  return r.match(name);
}

describe('compileGlob matching', () => {
  it.each([
    // Plain characters match themselves, the whole name, nothing more.
    ['nginx', 'nginx', true],
    ['nginx', 'nginx2', false],
    ['nginx', 'ngin', false],
    ['nginx', 'NGINX', false],
    // `*` is any run inside one segment, the empty run included, never across `/`.
    ['pr-*', 'pr-', true],
    ['pr-*', 'pr-123', true],
    ['pr-*', 'pr-1/2', false],
    ['ci/*', 'ci/app', true],
    ['ci/*', 'ci/app:1', true],
    ['ci/*', 'ci/team/app', false],
    ['*', '', true],
    ['*', 'a/b', false],
    ['*/app', 'x/app', true],
    ['*/app', 'app', false],
    // `?` is exactly one character other than `/`.
    ['v?', 'v1', true],
    ['v?', 'v', false],
    ['v?', 'v12', false],
    ['a?b', 'a/b', false],
    // `**` crosses segments.
    ['**', 'a/b/c', true],
    ['**', '', true],
    ['ci/**', 'ci/app', true],
    ['ci/**', 'ci/team/app', true],
    ['ci/**', 'cd/app', false],
    ['ci/**', 'ci', false],
    ['a**b', 'a/x/b', true],
    ['registry:5000/**', 'registry:5000/ci/app', true],
    // `**/x` also matches `x` itself (zero directories) and `x` at any depth.
    ['**/x', 'x', true],
    ['**/x', 'a/x', true],
    ['**/x', 'a/b/x', true],
    ['**/x', 'a/b/y', false],
    ['ci/**/app', 'ci/app', true],
    ['ci/**/app', 'ci/a/b/app', true],
    ['ci/**/app', 'ci/a/b/app2', false],
    // Classes: members, ranges, negation with ! or ^, never `/`.
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['v[a-c]', 'vb', true],
    ['v[a-c]', 'vd', false],
    ['[0-9][0-9]', '42', true],
    ['[!a]', 'b', true],
    ['[!a]', 'a', false],
    ['[^a]', 'b', true],
    ['[^a]', 'a', false],
    ['[!a]', '/', false],
    ['a[/]b', 'a/b', false],
    // A `]` right after `[` (or `[!`) is a member, a trailing `-` is literal.
    ['[]a]', ']', true],
    ['[]a]', 'a', true],
    ['[a-]', '-', true],
    ['[a-]', 'b', false],
    // Escapes make operators literal.
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['\\?', '?', true],
    ['\\?', 'x', false],
    ['\\[a]', '[a]', true],
    ['\\\\', '\\', true],
  ])('%j against %j → %s', (pattern, name, expected) => {
    expect(matches(pattern, name)).toBe(expected);
  });

  // The automaton must not backtrack exponentially; a correct `false` is the contract here.
  it('a pathological pattern against a long name is simply false', () => {
    expect(matches('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(matches('**a**a**a**a**a**a**b', 'a/'.repeat(2500))).toBe(false);
    expect(matches('*a*a*a*a*a*a*a*a*b', `${'a'.repeat(5000)}b`)).toBe(true);
  });

  // The `/` after `**` is a real segment boundary (as in bash globstar, gitignore, minimatch):
  // a policy about `app` repositories under ci/ must not also take `ci/xapp`.
  it.each([
    ['**/x', 'ax'],
    ['ci/**/app', 'ci/xapp'],
  ])('%j does not match %j (the / after ** is a segment boundary)', (pattern, name) => {
    expect(matches(pattern, name)).toBe(false);
  });
});

describe('compileGlob rejects what is not a glob, saying why', () => {
  it.each([
    ['', /^the pattern is empty$/],
    ['[abc', /the "\[" at position 1 is never closed/],
    ['ci/[!', /the "\[" at position 4 is never closed/],
    ['[!]', /the "\[" at position 1 is never closed/],
    ['***', /"\*\*\*" is not a glob operator; use \* or \*\*/],
    ['ci/****', /"\*\*\*\*" is not a glob operator/],
    ['abc\\', /ends with a lone "\\"/],
    ['[c-a]', /the range "c-a" is reversed/],
  ])('%j', (pattern, reason) => {
    const r = compileGlob(pattern);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('anyGlob', () => {
  it('is true when any of the patterns matches, false for none or an empty list', () => {
    const m = anyGlob(['ci/*', 'tmp-?']);
    expect([m('ci/app'), m('tmp-1'), m('prod/app'), m('tmp-12')]).toEqual([true, true, false, false]);
    expect(anyGlob([])('anything')).toBe(false);
  });

  // Config validation already rejected bad globs; reaching one here is a programming error.
  it('throws on an invalid pattern, naming it and the reason', () => {
    expect(() => anyGlob(['ok', '[x'])).toThrow(/invalid glob "\[x": the "\[" at position 1 is never closed/);
  });
});
