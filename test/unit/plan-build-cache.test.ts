// buildCache policies: the planner predicts which records BuildKit's prune removes, so the
// dry-run names them and their bytes; the prune parameters it plans are what enforce sends.
import { describe, expect, it } from 'vitest';
import type { BuildCachePolicy } from '../../src/core/config/schema.js';
import type { BuildCacheRecord } from '../../src/core/model/snapshot.js';
import type { Action } from '../../src/core/model/plan.js';

/** The records a build-cache prune removes; other actions have none. */
const recordsOf = (a: Action) => (a.resource === 'buildCache' ? a.prune.records : undefined);
import { rankForDeletion, simulatePrune } from '../../src/core/planner/resources/build-cache.js';
import { DAY, HOUR, NOW, ago, config, planAt } from '../support/builders.js';

const policy = (match: BuildCachePolicy['match'], rest: Partial<BuildCachePolicy> = {}): BuildCachePolicy => ({
  name: 'cache',
  resource: 'buildCache',
  match,
  ...rest,
});

function rec(id: string, spec: Partial<BuildCacheRecord> = {}): BuildCacheRecord {
  return {
    id,
    parent: undefined,
    type: 'regular',
    description: id,
    inUse: false,
    shared: false,
    size: 1000,
    createdAt: ago(30),
    lastUsedAt: ago(10),
    usageCount: 1,
    ...spec,
  };
}

const ids = (rs: readonly BuildCacheRecord[]) => rs.map((r) => r.id);
const prune = (records: BuildCacheRecord[], o: { unusedFor?: number; keepStorage?: number; all?: boolean }) =>
  ids(simulatePrune(records, { unusedFor: o.unusedFor, keepStorage: o.keepStorage, all: o.all ?? false }, NOW));

describe('what a prune may remove', () => {
  it('never a record in use; without all, no internal, frontend or shared record', () => {
    const records = [
      rec('free'),
      rec('busy', { inUse: true }),
      rec('int', { type: 'internal' }),
      rec('fe', { type: 'frontend' }),
      rec('shared', { shared: true }),
      rec('mount', { type: 'exec.cachemount' }),
    ];
    expect(prune(records, {})).toEqual(['free', 'mount']);
    expect(prune(records, { all: true })).toEqual(['free', 'int', 'fe', 'shared', 'mount']);
  });

  it('a parent only after all its children, in a later round', () => {
    const records = [rec('parent'), rec('child', { parent: 'parent' }), rec('kid2', { parent: 'parent' })];
    expect(prune(records, {})).toEqual(['child', 'kid2', 'parent']);
  });

  it('a parent whose child stays (in use, or shared) stays too', () => {
    expect(prune([rec('p'), rec('c', { parent: 'p', inUse: true })], {})).toEqual([]);
    expect(prune([rec('p'), rec('c', { parent: 'p', shared: true })], {})).toEqual([]);
    expect(prune([rec('p'), rec('c', { parent: 'p', shared: true })], { all: true })).toEqual(['c', 'p']);
  });
});

describe('unusedFor', () => {
  it.each<[string, number | undefined, boolean]>([
    ['used 8d ago', ago(8), true],
    ['used exactly 7d ago', ago(7), true],
    ['used a second under 7d ago', ago(7) + 1000, false],
    ['used an hour ago', NOW - HOUR, false],
    // BuildKit prunes a record with no last-use time whatever the filter says.
    ['never used', undefined, true],
  ])('%s → removed %s', (_why, lastUsedAt, expected) => {
    expect(prune([rec('r', { lastUsedAt })], { unusedFor: 7 * DAY })).toEqual(expected ? ['r'] : []);
  });
});

describe('keepStorage', () => {
  // Oldest and least used first; stop as soon as the cache is below keepStorage.
  const records = [
    rec('old', { lastUsedAt: ago(9), size: 400 }),
    rec('mid', { lastUsedAt: ago(5), size: 300 }),
    rec('new', { lastUsedAt: ago(1), size: 300 }),
  ];

  it.each<[number, string[]]>([
    [1001, []], // 1000 < 1001: BuildKit does nothing
    [1000, ['old']], // 1000 is not below 1000: one goes, leaving 600
    [700, ['old']], // 600 < 700
    [600, ['old', 'mid']], // 600 is not below 600
    [1, ['old', 'mid', 'new']],
  ])('keepStorage %d removes %j', (keep, expected) => {
    expect(prune(records, { keepStorage: keep })).toEqual(expected);
  });

  it('counts every record that is not shared, in use or not, but removes only free ones', () => {
    const withBusy = [
      ...records,
      rec('busy', { inUse: true, size: 5000, lastUsedAt: ago(20) }),
      rec('img', { shared: true, size: 9000 }),
    ];
    expect(prune(withBusy, { keepStorage: 5500 })).toEqual(['old', 'mid']);
  });

  it('together with unusedFor, only old records are candidates', () => {
    expect(prune(records, { keepStorage: 1, unusedFor: 4 * DAY })).toEqual(['old', 'mid']);
  });

  it('ranks by last use and use count together, like BuildKit', () => {
    const ranked = rankForDeletion([
      rec('a', { lastUsedAt: ago(9), usageCount: 50 }),
      rec('b', { lastUsedAt: ago(5), usageCount: 1 }),
      rec('c', { lastUsedAt: ago(1), usageCount: 2 }),
    ]);
    // a: 1/3 + 3/3; b: 2/3 + 1/3; c: 3/3 + 2/3.
    expect(ids(ranked)).toEqual(['b', 'a', 'c']);
  });
});

describe('the plan', () => {
  const records = [
    rec('old', { lastUsedAt: ago(9), size: 400 }),
    rec('mid', { lastUsedAt: ago(5), size: 300 }),
    rec('new', { lastUsedAt: ago(1), size: 300 }),
  ];

  it('one action per policy with the prune parameters and the predicted records and bytes', () => {
    const p = planAt(config({ policies: [policy({ unusedFor: '4d', keepStorage: '100B' })] }), { buildCache: records });
    expect(p.actions).toEqual([
      {
        resource: 'buildCache',
        id: 'cache',
        name: '2 build cache record(s)',
        policy: 'cache',
        reason:
          'not in use, unused for 4d or more, cache of 1.00 kB is over keepStorage 100B, not shared with images, not internal',
        bytes: 700,
        prune: { until: '345600s', keepStorage: 100, all: false, records: ['old', 'mid'] },
      },
    ]);
    expect(p.totals).toEqual({ count: 1, bytes: 700 });
  });

  it('nothing to prune: no action, so enforce sends no prune either', () => {
    expect(planAt(config({ policies: [policy({ unusedFor: '30d' })] }), { buildCache: records }).actions).toEqual([]);
    expect(planAt(config({ policies: [policy({})] }), {}).actions).toEqual([]);
  });

  it('a later policy is predicted on what the earlier one leaves; report policies remove nothing', () => {
    const p = planAt(
      config({
        policies: [
          policy({ unusedFor: '7d' }, { name: 'report', action: 'report' }),
          policy({ unusedFor: '4d' }, { name: 'a' }),
          policy({}, { name: 'b' }),
        ],
      }),
      { buildCache: records },
    );
    expect(p.reported.map((a) => [a.policy, recordsOf(a)])).toEqual([['report', ['old']]]);
    expect(p.actions.map((a) => [a.policy, recordsOf(a), a.bytes])).toEqual([
      ['a', ['old', 'mid'], 700],
      ['b', ['new'], 300],
    ]);
  });

  it('sizes: binary and decimal units', () => {
    const p = planAt(config({ policies: [policy({ keepStorage: '1KiB' })] }), {
      buildCache: [rec('x', { size: 1024 })],
    });
    expect(p.actions[0]?.resource === 'buildCache' ? p.actions[0].prune.keepStorage : undefined).toBe(1024);
  });

  it('maxRemovalFraction counts the records a prune removes', () => {
    const many = Array.from({ length: 12 }, (_, i) => rec(`r${i}`));
    const p = planAt(config({ policies: [policy({})], limits: { maxRemovalFraction: 0.5 } }), { buildCache: many });
    expect(p.blocked).toBe(
      'the plan removes 12 of 12 build cache records, more than limits.maxRemovalFraction (0.5); nothing will be removed',
    );
  });

  it('all with shared records: on the classic store they free nothing; on the containerd image store up to their size, a range', () => {
    const withShared = [rec('free', { size: 700 }), rec('img', { shared: true, size: 9000 })];
    const classic = planAt(config({ policies: [policy({ all: true })] }), { buildCache: withShared });
    expect(classic.actions.map((a) => [a.bytes, a.resource === 'buildCache' ? a.bytesRange : undefined])).toEqual([
      [700, undefined],
    ]);
    const containerd = planAt(config({ policies: [policy({ all: true })] }), {
      store: 'containerd',
      buildCache: withShared,
    });
    expect(containerd.actions.map((a) => [a.bytes, a.resource === 'buildCache' ? a.bytesRange : undefined])).toEqual([
      [700, { low: 700, high: 9700 }],
    ]);
    expect(containerd.totals).toEqual({ count: 1, bytes: 700, range: { low: 700, high: 9700 } });
  });
});
