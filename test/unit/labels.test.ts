// Label selectors decide protection ("never remove") and matching, so parsing and holding are
// pinned exactly: a selector that silently parses differently could unprotect an object.
import { describe, expect, it } from 'vitest';
import { allLabels, firstLabel, parseLabelSelector } from '../../src/lib/labels.js';

describe('parseLabelSelector', () => {
  it.each([
    ['team', { key: 'team', absent: false }],
    ['team=ci', { key: 'team', value: 'ci', absent: false }],
    ['!keep', { key: 'keep', absent: true }],
    // An explicit empty value means "present and empty", not "present".
    ['team=', { key: 'team', value: '', absent: false }],
    // Only the first `=` splits; the value keeps the rest verbatim, spaces included.
    ['url=a=b', { key: 'url', value: 'a=b', absent: false }],
    ['note= x', { key: 'note', value: ' x', absent: false }],
    ['com.example/role', { key: 'com.example/role', absent: false }],
    ['a!b', { key: 'a!b', absent: false }],
  ])('%j parses', (text, expected) => {
    expect(parseLabelSelector(text)).toEqual(expected);
  });

  it.each([
    ['', /^"" has no valid label key$/],
    ['!', /^"!" has no valid label key$/],
    ['=ci', /^"=ci" has no valid label key$/],
    ['!=ci', /^"!=ci" has no valid label key$/],
    ['!!keep', /^"!!keep" has no valid label key$/],
    ['a b', /^"a b" has no valid label key$/],
    [' team', /^" team" has no valid label key$/],
    ['team ', /^"team " has no valid label key$/],
    ['team\t=x', /has no valid label key/],
    ['!keep=yes', /^"!keep=yes": "!key" takes no value$/],
    ['!keep=', /"!key" takes no value/],
  ])('%j is rejected', (text, reason) => {
    const r = parseLabelSelector(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(reason);
  });
});

describe('allLabels', () => {
  const labels = { team: 'ci', empty: '', tier: 'gold' };
  it.each([
    [[], true],
    [['team'], true],
    [['team=ci'], true],
    [['team=CI'], false],
    [['team=ci', 'tier=gold'], true],
    [['team=ci', 'tier=silver'], false],
    [['empty'], true],
    [['empty='], true],
    [['team='], false],
    [['!keep'], true],
    [['!team'], false],
    [['missing'], false],
    // Only own keys count: "constructor" is not a label of a plain object.
    [['constructor'], false],
    [['!constructor'], true],
  ])('%j on {team=ci, empty=, tier=gold} → %s', (selectors, expected) => {
    expect(allLabels(selectors)(labels)).toBe(expected);
  });

  it('throws on an invalid selector (config validation should have caught it)', () => {
    expect(() => allLabels(['ok', '!a=b'])).toThrow(/"!a=b": "!key" takes no value/);
  });
});

describe('firstLabel', () => {
  // The planner quotes the returned selector in "protected by label ..." reasons.
  it('returns the first selector, in list order, that holds', () => {
    const pick = firstLabel(['keep=yes', 'pinned', '!owner']);
    expect(pick({ pinned: '1', keep: 'yes' })).toBe('keep=yes');
    expect(pick({ pinned: '1', keep: 'no' })).toBe('pinned');
    expect(pick({ owner: 'me' })).toBeUndefined();
    expect(pick({})).toBe('!owner');
    expect(firstLabel([])({ anything: 'x' })).toBeUndefined();
  });
});
