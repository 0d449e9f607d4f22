// Parent/child images. The engine refuses to delete an image that still has a child, and an
// untagged parent left without children is garbage; reclaimd deletes with noprune and plans
// such parents itself, after their children, so every deletion is one it checked.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/policy/schema.js';
import { ago, byId, config, image, names, planAt } from '../support/builders.js';

const stale: Policy = { name: 'stale', resource: 'image', match: { olderThan: '30d' } };

describe('a selected image with a child that stays', () => {
  it('is kept, naming the child', () => {
    const base = image({ id: 'p', tags: ['base:1'], created: ago(90) });
    const app = image({ id: 'c', parent: base, tags: ['app:1'], created: ago(1) });
    const p = planAt(config({ policies: [stale] }), { images: [base, app] });
    expect(p.actions).toEqual([]);
    expect(p.kept).toEqual([{ resource: 'image', id: 'p', name: 'base:1', policy: 'stale', reason: 'has a dependent child image app:1 that stays' }]);
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
    expect(freed.actions.map((a) => [a.id, a.policy])).toEqual([['c', 'apps'], ['p', 'stale']]);
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
      { resource: 'image', id: 'c', name: 'app:1', policy: 'apps', reason: 'tags app:1 match', bytes: 10, tags: ['app:1'], digests: [], inTree: true },
      { resource: 'image', id: 'm', name: '<none>@m', policy: 'apps', reason: 'untagged parent of app:1, left with no child and used by no container', bytes: 100, tags: [], digests: [], dependsOn: ['c'], inTree: true },
      { resource: 'image', id: 'r', name: '<none>@r', policy: 'apps', reason: 'untagged parent of app:1, left with no child and used by no container', bytes: 1000, tags: [], digests: [], dependsOn: ['m'], inTree: true },
    ]);
    // Each parent counts against limits.maxRemovalsPerRun like any removal.
    expect(p.totals).toEqual({ count: 3, bytes: 1110 });
  });

  it('a parent selected in its own right is planned once, under its own policy', () => {
    const app = image({ id: 'c', parent: mid, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const cfg = config({ policies: [apps, { name: 'all', resource: 'image', match: {} }] });
    const p = planAt(cfg, { images: [root, mid, app] });
    expect(p.actions.map((a) => [a.id, a.policy, a.bytes])).toEqual([['c', 'apps', 10], ['m', 'all', 100], ['r', 'all', 1000]]);
  });

  it('a protected untagged parent stays, with everything above it', () => {
    const guarded = image({ id: 'm', parent: root, layers: [['l1', 100]], labels: { keep: '1' }, created: ago(90) });
    const app = image({ id: 'c', parent: guarded, tags: ['app:1'], layers: [['l2', 10]], created: ago(90) });
    const p = planAt(config({ policies: [apps], protect: { labels: ['keep'] } }), { images: [root, guarded, app] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['c', 10]]);
  });

  // A parent that a policy kept (keep.labels here) or only reported stays too.
  it.each<[string, Policy]>([
    ['kept by a keep rule', { name: 'mids', resource: 'image', match: { labels: ['tier=mid'] }, keep: { labels: ['tier'] } }],
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
    const p = planAt(config({ policies: [{ name: 'tagged', resource: 'image', match: { dangling: false } }] }), { images: [root, app] });
    expect(p.actions.map((a) => [a.id, a.reason])).toEqual([['c', 'tagged'], ['r', 'untagged parent of app:1, left with no child and used by no container']]);
  });
});
