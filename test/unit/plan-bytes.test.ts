// Predicted bytes, through the whole planner: what `plan` promises is what a run must free,
// so shared layers, layers other images keep, totals and report-only numbers are pinned.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import { ago, anonName, config, container, image, planAt, volume } from '../support/builders.js';

const ci: Policy = { name: 'ci', resource: 'image', match: { repositories: ['ci/*'] } };
const base = ['base', 1_000_000] as const;
const img = (id: string, repo: string, top: number) =>
  image({ id, tags: [`${repo}:1`], created: ago(90), layers: [base, [`top-${id}`, top]] });

describe('image bytes', () => {
  it('counts a shared layer once, on the deletion that releases its last holder', () => {
    const p = planAt(config({ policies: [ci] }), { images: [img('b', 'ci/b', 20), img('a', 'ci/a', 10)] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['a', 10],
      ['b', 1_000_020],
    ]);
    expect(p.totals).toEqual({ count: 2, bytes: 1_000_030 });
  });

  it('does not count a layer that an image the plan keeps still holds', () => {
    const p = planAt(config({ policies: [ci] }), {
      images: [img('a', 'ci/a', 10), img('b', 'ci/b', 20), img('k', 'prod/k', 30)],
    });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
  });

  it('does not count a layer held by an image a remaining container uses', () => {
    const used = img('u', 'ci/u', 30);
    const p = planAt(config({ policies: [ci] }), {
      images: [img('a', 'ci/a', 10), used],
      containers: [container({ name: 'svc', state: 'running', image: used })],
    });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['a', 10]]);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([['u', 'in use by container svc (running)']]);
  });

  it('does count it when the plan also removes that container', () => {
    const used = img('u', 'ci/u', 30);
    const cfg = config({ policies: [ci, { name: 'gone', resource: 'container', match: {} }] });
    const p = planAt(cfg, {
      images: [img('a', 'ci/a', 10), used],
      containers: [container({ name: 'old', image: used, sizeRw: 5 })],
    });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['ctr-old', 5],
      ['a', 10],
      ['u', 1_000_030],
    ]);
    expect(p.totals).toEqual({ count: 3, bytes: 1_000_045 });
  });
});

describe('totals', () => {
  it('count every action, sum the known bytes and count the unknown ones apart', () => {
    const cfg = config({
      policies: [{ name: 'ctr', resource: 'container', match: {} }, ci, { name: 'vol', resource: 'volume', match: {} }],
    });
    const p = planAt(cfg, {
      containers: [container({ name: 'x', sizeRw: 300 }), container({ name: 'y' })],
      images: [img('a', 'ci/a', 10)],
      volumes: [volume({ name: 'data', size: 4000 }), volume({ name: anonName('e') })],
    });
    expect(p.actions.map((a) => [a.resource, a.bytes])).toEqual([
      ['container', 300],
      ['container', null],
      ['image', 1_000_010],
      ['volume', 4000],
      ['volume', null],
    ]);
    expect(p.totals).toEqual({ count: 5, bytes: 1_004_310, unknown: 2 });
  });

  it('an empty plan has zero totals and is not blocked', () => {
    const p = planAt(config({ policies: [ci] }), {});
    expect(p).toEqual({ actions: [], reported: [], kept: [], totals: { count: 0, bytes: 0 }, blocked: undefined });
  });
});

describe('reported bytes are marginal', () => {
  const look: Policy = { name: 'look', resource: 'image', action: 'report', match: { repositories: ['qa/*'] } };

  it('a reported image gets what deleting it alone would free after the planned removals', () => {
    // ci/a goes, so qa/r becomes the last holder of base.
    const p = planAt(config({ policies: [ci, look] }), { images: [img('a', 'ci/a', 10), img('r', 'qa/r', 40)] });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([['a', 10]]);
    expect(p.reported).toEqual([
      { resource: 'image', id: 'r', name: 'qa/r:1', policy: 'look', reason: 'tags qa/r:1 match', bytes: 1_000_040 },
    ]);
    // Reported bytes are never part of the totals.
    expect(p.totals).toEqual({ count: 1, bytes: 10 });
  });

  it('layers another remaining image holds are not in a reported image’s bytes', () => {
    const p = planAt(config({ policies: [look] }), {
      images: [img('r', 'qa/r', 40), img('s', 'qa/s', 50), img('k', 'prod/k', 1)],
    });
    expect(p.reported.map((a) => [a.id, a.bytes])).toEqual([
      ['r', 40],
      ['s', 50],
    ]);
  });

  it('reported containers and volumes carry their own size, or null', () => {
    const cfg = config({
      policies: [
        { name: 'ctr', resource: 'container', action: 'report', match: {} },
        { name: 'vol', resource: 'volume', action: 'report', match: {} },
      ],
    });
    const p = planAt(cfg, {
      containers: [container({ name: 'a', sizeRw: 7 }), container({ name: 'b' })],
      volumes: [volume({ name: 'v', size: 9 })],
    });
    expect(p.reported.map((a) => [a.name, a.policy, a.bytes])).toEqual([
      ['a', 'ctr', 7],
      ['b', 'ctr', null],
      ['v', 'vol', 9],
    ]);
    expect([p.actions, p.totals]).toEqual([[], { count: 0, bytes: 0 }]);
  });
});

describe('layers held by containers whose image was force-deleted', () => {
  const img = image({
    id: 'y',
    tags: ['y:1'],
    layers: [
      ['L', 1000],
      ['top', 10],
    ],
    created: ago(90),
  });
  const policies: Policy[] = [
    { name: 'ghosts', resource: 'container', match: { names: ['ghost'] } },
    { name: 'imgs', resource: 'image', match: { repositories: ['y'] } },
  ];
  const ghost = container({ name: 'ghost', id: 'c-ghost', imageId: 'gone', state: 'exited', finishedAt: ago(5) });

  it('are not counted as freed while that container stays', () => {
    const p = planAt(config({ policies: [policies[1] as Policy] }), {
      images: [img],
      containers: [ghost],
      ghostLayers: { 'c-ghost': ['L'] },
    });
    expect(p.totals.bytes).toBe(10);
  });

  it('are freed with the image when the plan removes that container too', () => {
    const p = planAt(config({ policies }), { images: [img], containers: [ghost], ghostLayers: { 'c-ghost': ['L'] } });
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['c-ghost', null],
      ['y', 1010],
    ]);
  });
});
