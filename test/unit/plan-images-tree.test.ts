// Parent/child images. The engine refuses to delete an image that still has a child, and an
// untagged parent left without children is garbage; reclaimd deletes with noprune and plans
// such parents itself, after their children, so every deletion is one it checked.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import { ago, byId, config, image, names, planAt } from '../support/builders.js';

const stale: Policy = { name: 'stale', resource: 'image', match: { olderThan: '30d' } };

describe('a selected image with a child that stays', () => {
  it('is kept, naming the child', () => {
    const base = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const app = image({ id: 'c', parent: base, tags: ['app:1'], created: ago(1) });
    const p = planAt(config({ policies: [stale] }), { images: [base, app] });
    expect(p.actions).toEqual([]);
    expect(p.kept).toEqual([
      {
        resource: 'image',
        id: 'p',
        name: 'base:1',
        policy: 'stale',
        reason: 'has a dependent child image app:1 that stays',
      },
    ]);
  });

  it('propagates up a chain until nothing changes', () => {
    // Listed oldest ancestor first, so one pass over the selection is not enough.
    const g = image({ id: 'g', tags: ['g:1'], created: ago(90) });
    const m = image({ id: 'm', parent: g, tags: ['m:1'], created: ago(80) });
    const k = image({ id: 'k', parent: m, tags: ['k:1'], created: ago(70) });
    const young = image({ id: 'y', parent: k, created: ago(1), tags: ['y:1'] });
    const p = planAt(config({ policies: [stale] }), { images: [g, m, k, young] });
    expect(p.actions).toEqual([]);
    expect(byId(p.kept).map((x) => [x.id, x.reason])).toEqual([
      ['g', 'has a dependent child image m:1 that stays'],
      ['k', 'has a dependent child image y:1 that stays'],
      ['m', 'has a dependent child image k:1 that stays'],
    ]);
  });

  it('names the same child whatever order the images are listed in', () => {
    // Found by the listing-order property: p has two children that stay, a only because its
    // own child y is young and b on its own account. Deciding and naming in one pass named
    // whichever child had been decided first, so the reason changed with the listing order.
    const p0 = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const a = image({ id: 'a', parent: p0, tags: ['a:1'], created: ago(90) });
    const y = image({ id: 'y', parent: a, tags: ['y:1'], created: ago(1) });
    const b = image({ id: 'b', parent: p0, tags: ['b:1'], created: ago(1) });
    const expected = [
      ['a', 'has a dependent child image y:1 that stays'],
      ['p', 'has a dependent child image a:1 that stays'],
    ];
    for (const images of [
      [p0, a, y, b],
      [a, y, b, p0],
      [b, y, a, p0],
      [y, p0, b, a],
    ]) {
      const p = planAt(config({ policies: [stale] }), { images });
      expect(byId(p.kept).map((x) => [x.id, x.reason])).toEqual(expected);
    }
  });

  it('names an untagged child by its short ID', () => {
    const base = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const kid = image({ id: 'sha256:abcdef0123456789', parent: base, created: ago(1) });
    const p = planAt(config({ policies: [stale] }), { images: [base, kid] });
    expect(p.kept.map((k) => k.reason)).toEqual(['has a dependent child image <none>@abcdef012345 that stays']);
  });

  it('a child kept by a keep rule keeps its parent; a child selected by an earlier policy frees it', () => {
    const base = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const app = image({ id: 'c', parent: base, tags: ['app:v1'], created: ago(90) });
    const keeping = planAt(config({ policies: [{ ...stale, keep: { tags: ['v*'] } }] }), { images: [base, app] });
    expect(keeping.actions).toEqual([]);
    expect(byId(keeping.kept).map((k) => [k.id, k.reason])).toEqual([
      ['c', 'keep.tags matches app:v1'],
      ['p', 'has a dependent child image app:v1 that stays'],
    ]);
    const other: Policy = { name: 'apps', resource: 'image', match: { repositories: ['app'] } };
    // The first policy to match decides, so the one that selects the child must come first.
    const freed = planAt(config({ policies: [other, { ...stale, keep: { tags: ['v*'] } }] }), { images: [base, app] });
    expect(freed.actions.map((a) => [a.id, a.policy])).toEqual([
      ['c', 'apps'],
      ['p', 'stale'],
    ]);
    expect(freed.kept).toEqual([]);
  });

  it('a child a report-only policy selects stays, so its parent stays', () => {
    const base = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const app = image({ id: 'c', parent: base, tags: ['app:1'], created: ago(90) });
    const report: Policy = { name: 'look', resource: 'image', action: 'report', match: { repositories: ['app'] } };
    const p = planAt(config({ policies: [report, stale] }), { images: [base, app] });
    expect(p.actions).toEqual([]);
    expect(names(p.reported)).toEqual(['image:app:1']);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([['p', 'has a dependent child image app:1 that stays']]);
  });
});

describe('deletion order', () => {
  it('puts stand-alone images first, then children before parents, whatever their IDs and listing order', () => {
    // IDs sort the other way round on purpose.
    const a = image({ id: 'a', tags: ['root:1'], created: ago(90) });
    const b = image({ id: 'b', parent: a, tags: ['mid:1'], created: ago(90) });
    const c = image({ id: 'c', parent: b, tags: ['leaf:1'], created: ago(90) });
    const z = image({ id: 'z', tags: ['solo:1'], created: ago(90) });
    const p = planAt(config({ policies: [stale] }), { images: [a, z, b, c] });
    expect(p.actions.map((x) => x.id)).toEqual(['z', 'c', 'b', 'a']);
  });
});

describe('untagged parents left without children', () => {
  const root = image({ id: 'r', layers: [['l0', 1000]], created: ago(90) });
  const mid = image({ id: 'm', parent: root, layers: [['l1', 100]], created: ago(90) });
  const apps: Policy = { name: 'apps', resource: 'image', match: { repositories: ['app'] } };

  it('are planned as removals of their own, after their child, credited to its policy', () => {
    const app = image({ id: 'c', parent: mid, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const p = planAt(config({ policies: [apps] }), { images: [root, mid, app] });
    expect(p.actions).toEqual([
      {
        resource: 'image',
        id: 'c',
        name: 'app:1',
        policy: 'apps',
        reason: 'tags app:1 match',
        bytes: 10,
        tags: ['app:1'],
        digests: [],
        inTree: true,
      },
      {
        resource: 'image',
        id: 'm',
        name: '<none>@m',
        policy: 'apps',
        reason: 'untagged parent of app:1, left with no child and used by no container',
        bytes: 100,
        tags: [],
        digests: [],
        dependsOn: ['c'],
        inTree: true,
      },
      {
        resource: 'image',
        id: 'r',
        name: '<none>@r',
        policy: 'apps',
        reason: 'untagged parent of app:1, left with no child and used by no container',
        bytes: 1000,
        tags: [],
        digests: [],
        dependsOn: ['m'],
        inTree: true,
      },
    ]);
    // Each parent counts against limits.maxRemovalsPerRun like any removal.
    expect(p.totals).toEqual({ count: 3, bytes: 1110 });
  });

  it('a parent selected in its own right is planned once, under its own policy', () => {
    const app = image({ id: 'c', parent: mid, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const cfg = config({ policies: [apps, { name: 'all', resource: 'image', match: {} }] });
    const p = planAt(cfg, { images: [root, mid, app] });
    expect(p.actions.map((a) => [a.id, a.policy, a.bytes])).toEqual([
      ['c', 'apps', 10],
      ['m', 'all', 100],
      ['r', 'all', 1000],
    ]);
  });

  it('a protected untagged parent stays, with everything above it', () => {
    const guarded = image({ id: 'm', parent: root, layers: [['l1', 100]], labels: { keep: '1' }, created: ago(90) });
    const app = image({ id: 'c', parent: guarded, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const p = planAt(config({ policies: [apps], protect: { labels: ['keep'] } }), { images: [root, guarded, app] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['c', 10]]);
  });

  // Found by the replanning property: the parent stayed because a report-only policy matched
  // it, and the next cycle, with the child gone, removed it as dangling under p0.
  it('is decided on as the dangling image it becomes, so the next cycle removes nothing more', () => {
    const r2 = image({ id: 'r', layers: [['l0', 1000]], labels: { stage: 'build' }, created: ago(90) });
    const m2 = image({ id: 'm', parent: r2, layers: [['l1', 100]], labels: { stage: 'build' }, created: ago(90) });
    const app = image({ id: 'c', parent: m2, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const dangling: Policy = { name: 'dangling', resource: 'image', match: { dangling: true } };
    const look: Policy = { name: 'look', resource: 'image', action: 'report', match: { labels: ['stage=build'] } };
    const first = config({ policies: [dangling, look, apps] });
    const p = planAt(first, { images: [r2, m2, app] });
    expect(p.actions.map((a) => [a.id, a.policy])).toEqual([
      ['c', 'apps'],
      ['m', 'apps'],
      ['r', 'apps'],
    ]);
    // What the report-only policy said about them while they had a child no longer stands.
    expect(p.reported).toEqual([]);
    // With the report-only policy first it decides, now and in the next cycle: the parents stay.
    const second = config({ policies: [look, dangling, apps] });
    expect(planAt(second, { images: [r2, m2, app] }).actions.map((a) => a.id)).toEqual(['c']);
    expect(planAt(second, { images: [r2, m2] }).actions).toEqual([]);
  });

  // Found by the replanning property: the tagged top image stayed because its untagged child
  // had not been selected, although that child went with its own child; the next cycle took it.
  it('lets a selected image go when its only child is an untagged parent that goes too', () => {
    const top = image({ id: 'a', tags: ['ci/app:1'], layers: [['l0', 1000]], created: ago(90) });
    const m2 = image({ id: 'm', parent: top, layers: [['l1', 100]], created: ago(90) });
    const leaf = image({ id: 'c', parent: m2, tags: ['ci/app:pr-1'], layers: [['l2', 10]], created: ago(90) });
    const ciPolicy: Policy = { name: 'ci', resource: 'image', match: { repositories: ['ci/**'] } };
    const p = planAt(config({ policies: [ciPolicy] }), { images: [top, m2, leaf] });
    expect(p.actions.map((a) => [a.id, (a.resource === 'image' ? a.dependsOn : undefined) ?? []])).toEqual([
      ['c', []],
      ['m', ['c']],
      ['a', ['m']],
    ]);
    expect(p.kept).toEqual([]);
    // A protected middle image holds everything above it, and names itself as the reason.
    const held = planAt(config({ policies: [ciPolicy], protect: { labels: ['keep'] } }), {
      images: [top, { ...m2, labels: { keep: '1' } }, leaf],
    });
    expect(held.actions.map((a) => a.id)).toEqual(['c']);
    expect(held.kept.map((k) => [k.id, k.reason])).toEqual([['a', 'has a dependent child image <none>@m that stays']]);
  });

  it('a keep rule of a pressure policy holds a parent even while the pressure condition does not hold', () => {
    const m2 = image({ id: 'm', parent: root, layers: [['l1', 100]], labels: { tier: 'mid' }, created: ago(90) });
    const app = image({ id: 'c', parent: m2, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const budget: Policy = {
      name: 'budget',
      resource: 'image',
      match: {},
      keep: { labels: ['tier'] },
      when: { totalSizeAbove: '1TB' },
      until: { totalSizeBelow: '500GB' },
    };
    const p = planAt(config({ policies: [budget, apps] }), { images: [root, m2, app] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['c', 10]]);
  });

  // A parent that a policy kept (keep.labels here) or only reported stays too.
  it.each<[string, Policy]>([
    [
      'kept by a keep rule',
      { name: 'mids', resource: 'image', match: { labels: ['tier=mid'] }, keep: { labels: ['tier'] } },
    ],
    ['only reported', { name: 'mids', resource: 'image', action: 'report', match: { labels: ['tier=mid'] } }],
  ])('a parent %s is not removed with its child', (_, held) => {
    const m2 = image({ id: 'm', parent: root, layers: [['l1', 100]], labels: { tier: 'mid' }, created: ago(90) });
    const app = image({ id: 'c', parent: m2, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const p = planAt(config({ policies: [held, apps] }), { images: [root, m2, app] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['c', 10]]);
  });
});

describe('dangling: false', () => {
  it('means tagged: an untagged parent with children is neither dangling nor tagged', () => {
    const root = image({ id: 'r', layers: [['l0', 1000]], created: ago(90) });
    const app = image({ id: 'c', parent: root, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const p = planAt(config({ policies: [{ name: 'tagged', resource: 'image', match: { dangling: false } }] }), {
      images: [root, app],
    });
    expect(p.actions.map((a) => [a.id, a.reason])).toEqual([
      ['c', 'tagged'],
      ['r', 'untagged parent of app:1, left with no child and used by no container'],
    ]);
  });
});
