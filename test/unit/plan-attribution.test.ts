// Rules that span policies and resources: which policy is credited, when `kept` lists an
// object, the removal limit, and that listing order never changes the plan.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import type { Snapshot } from '../../src/core/model/snapshot.js';
import { ago, anonName, config, container, image, names, planAt, shuffled, volume } from '../support/builders.js';

describe('attribution', () => {
  const snap: Partial<Snapshot> = {
    images: [image({ id: 'i', tags: ['ci/app:1'], created: ago(90) })],
    containers: [container({ name: 'job', finishedAt: ago(90) })],
    volumes: [volume({ name: 'tmp', created: ago(90) })],
  };
  const pair = (resource: 'image' | 'container' | 'volume'): Policy[] => [
    { name: `${resource}-a`, resource, match: {} } as Policy,
    { name: `${resource}-b`, resource, match: {} } as Policy,
  ];

  it.each(['image', 'container', 'volume'] as const)(
    'a %s two policies select is removed once, credited to the first',
    (resource) => {
      const p = planAt(config({ policies: pair(resource) }), snap);
      expect(p.actions.map((a) => [a.resource, a.policy])).toEqual([[resource, `${resource}-a`]]);
      expect(p.totals.count).toBe(1);
    },
  );

  it('credit follows policy order, not resource order or policy names', () => {
    const policies: Policy[] = [
      { name: 'z-late', resource: 'volume', match: {} },
      { name: 'a-early', resource: 'volume', match: { names: ['tmp'] } },
    ];
    expect(planAt(config({ policies }), snap).actions.map((a) => a.policy)).toEqual(['z-late']);
  });

  // The first policy that matches an object decides: a keep rule shields it from later
  // policies too, so "keep the newest 3" cannot be undone by a broader policy further down.
  it('an object one policy keeps stays kept, whatever a later policy would select it for', () => {
    const policies: Policy[] = [
      { name: 'keeper', resource: 'image', match: {}, keep: { tags: ['*'] } },
      { name: 'taker', resource: 'image', match: { repositories: ['ci/*'] } },
    ];
    const p = planAt(config({ policies }), snap);
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => [k.name, k.policy])).toEqual([['ci/app:1', 'keeper']]);
  });

  it('keep.newest of one policy is not undone by a later, broader policy', () => {
    const policies: Policy[] = [
      { name: 'prs', resource: 'image', match: { repositories: ['ci/*'] }, keep: { newest: 1 } },
      { name: 'old', resource: 'image', match: { olderThan: '1d' } },
    ];
    const p = planAt(config({ policies }), snap);
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => [k.name, k.policy])).toEqual([['ci/app:1', 'prs']]);
  });

  it('an object one policy selects stays selected whatever a later policy would keep it for', () => {
    const policies: Policy[] = [
      { name: 'taker', resource: 'container', match: {} },
      { name: 'keeper', resource: 'container', match: {}, keep: { names: ['*'] } },
    ];
    const p = planAt(config({ policies }), snap);
    expect(p.actions.map((a) => [a.name, a.policy])).toEqual([['job', 'taker']]);
    expect(p.kept).toEqual([]);
  });

  it('an object several policies keep is listed once, with the first reason', () => {
    const policies: Policy[] = [
      { name: 'one', resource: 'volume', match: {}, keep: { names: ['tmp'] } },
      { name: 'two', resource: 'volume', match: {}, keep: { names: ['t*'] } },
    ];
    expect(planAt(config({ policies }), snap).kept).toEqual([
      { resource: 'volume', id: 'tmp', name: 'tmp', policy: 'one', reason: 'keep.names matches its name' },
    ]);
  });

  it('a report-only policy first takes the object: a later remove policy does not remove it', () => {
    const policies: Policy[] = [
      { name: 'look', resource: 'volume', action: 'report', match: {} },
      { name: 'take', resource: 'volume', match: {} },
    ];
    const p = planAt(config({ policies }), snap);
    expect([p.actions, p.reported.map((r) => [r.name, r.policy])]).toEqual([[], [['tmp', 'look']]]);
  });
});

describe('limits.maxRemovalsPerRun', () => {
  const snap: Partial<Snapshot> = { volumes: [volume({ name: 'a' }), volume({ name: 'b' }), volume({ name: 'c' })] };
  const all: Policy = { name: 'all', resource: 'volume', match: {} };

  it.each([
    [2, 'the plan removes 3 objects, more than limits.maxRemovalsPerRun (2); nothing will be removed'],
    [0, 'the plan removes 3 objects, more than limits.maxRemovalsPerRun (0); nothing will be removed'],
    [3, undefined],
    [500, undefined],
  ])('3 removals with a limit of %d → blocked %j, actions still listed', (max, blocked) => {
    const p = planAt(config({ policies: [all], limits: { maxRemovalsPerRun: max } }), snap);
    expect(p.blocked).toBe(blocked);
    expect(names(p.actions)).toEqual(['volume:a', 'volume:b', 'volume:c']);
  });

  it('defaults to 500', () => {
    const many = Array.from({ length: 501 }, (_, i) => volume({ name: `v${String(i).padStart(3, '0')}` }));
    expect(planAt(config({ policies: [all] }), { volumes: many }).blocked).toMatch(
      /removes 501 objects, more than limits.maxRemovalsPerRun \(500\)/,
    );
    expect(planAt(config({ policies: [all] }), { volumes: many.slice(1) }).blocked).toBeUndefined();
  });

  it('reported objects do not count towards the limit', () => {
    const p = planAt(config({ policies: [{ ...all, action: 'report' }], limits: { maxRemovalsPerRun: 0 } }), snap);
    expect([p.blocked, p.reported.length]).toEqual([undefined, 3]);
  });
});

describe('determinism', () => {
  // A snapshot that exercises every ordering-sensitive path: parent chains, shared layers,
  // keep.newest ties, used images, anonymous volumes, kept and reported entries.
  const root = image({ id: 'r', layers: [['l0', 500]], created: ago(200) });
  const base = image({ id: 'b', parent: root, tags: ['base:1'], layers: [['l1', 50]], created: ago(100) });
  const app = (n: number) =>
    image({
      id: `app${n}`,
      parent: base,
      tags: [`ci/app:pr-${n}`],
      layers: [[`a${n}`, n]],
      created: ago(n === 4 ? 40 : 60),
    });
  const apps = [app(1), app(2), app(3), app(4)];
  const inUse = image({
    id: 'u',
    tags: ['ci/web:1'],
    layers: [
      ['l0', 500],
      ['w', 9],
    ],
    created: ago(90),
  });
  const qa = image({ id: 'q', tags: ['qa/x:1'], layers: [['q', 3]], created: ago(90) });
  const snap: Snapshot = {
    images: [root, base, ...apps, inUse, qa, image({ id: 'd', created: ago(50), layers: [['d', 7]] })],
    containers: [
      container({ name: 'web', state: 'running', image: inUse, volumes: ['shared'] }),
      container({ name: 'job-1', image: app(1), finishedAt: ago(20), sizeRw: 11, volumes: [anonName('1'), 'shared'] }),
      container({ name: 'job-2', state: 'created', image: inUse, volumes: [anonName('2')] }),
      container({ name: 'keep-me', finishedAt: ago(20) }),
    ],
    volumes: [
      volume({ name: anonName('1'), size: 1 }),
      volume({ name: anonName('2') }),
      volume({ name: 'shared' }),
      volume({ name: 'old', created: ago(60), size: 4 }),
    ],
  };
  const cfg = config({
    policies: [
      {
        name: 'jobs',
        resource: 'container',
        match: { stoppedFor: '7d' },
        keep: { names: ['keep-*'] },
        removeAnonymousVolumes: true,
      },
      { name: 'ci', resource: 'image', match: { repositories: ['ci/*'], olderThan: '30d' }, keep: { newest: 1 } },
      { name: 'dangling', resource: 'image', match: { dangling: true } },
      { name: 'qa', resource: 'image', action: 'report', match: { repositories: ['qa/*'] } },
      { name: 'vols', resource: 'volume', match: { olderThan: '30d' } },
    ],
  });
  const reshuffle = (s: Snapshot, seed: number): Snapshot => ({
    images: shuffled(s.images, seed),
    containers: shuffled(s.containers, seed + 1),
    volumes: shuffled(s.volumes, seed + 2),
  });
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);

  it('the fixture plan is the one expected (so the shuffles below compare something real)', () => {
    const p = planAt(cfg, snap);
    expect(p.actions.map((a) => [a.id, a.policy, a.bytes])).toEqual([
      ['ctr-job-1', 'jobs', 11],
      ['ctr-job-2', 'jobs', null],
      // Stand-alone images first, then the images of a parent/child tree.
      ['d', 'dangling', 7],
      ['app1', 'ci', 1],
      ['app2', 'ci', 2],
      ['app3', 'ci', 3],
      [anonName('1'), 'jobs', 1],
      [anonName('2'), 'jobs', null],
      ['old', 'vols', 4],
    ]);
    expect(p.reported.map((a) => [a.id, a.bytes])).toEqual([['q', 3]]);
    expect(p.kept.map((k) => k.id).sort()).toEqual(['app4', 'ctr-keep-me', 'shared', 'u']);
  });

  it('actions, reported, totals and blocked do not depend on listing order', () => {
    const { kept: _kept, ...expected } = planAt(cfg, snap);
    for (const seed of seeds) {
      const { kept: _k, ...got } = planAt(cfg, reshuffle(snap, seed));
      expect(got, `seed ${seed}`).toEqual(expected);
    }
  });

  // The same engine state listed in another order must give the same plan, `kept` included.
  it('the whole plan, kept included, does not depend on listing order', () => {
    const expected = planAt(cfg, snap);
    for (const seed of seeds) expect(planAt(cfg, reshuffle(snap, seed)), `seed ${seed}`).toEqual(expected);
  });

  // Reasons that name one of several other objects (the container using an image or mounting
  // a volume, the child that stays) must name the same one whatever the listing order.
  const img = image({ id: 'i', tags: ['app:1'] });
  const parent = image({ id: 'p', tags: ['base:1'] });
  it.each<[string, Policy, Snapshot]>([
    [
      'in use by container',
      { name: 'all', resource: 'image', match: {} },
      {
        images: [img],
        containers: [container({ name: 'x', image: img }), container({ name: 'y', image: img })],
        volumes: [],
      },
    ],
    [
      'mounted by container',
      { name: 'all', resource: 'volume', match: {} },
      {
        images: [],
        containers: [container({ name: 'x', volumes: ['v'] }), container({ name: 'y', volumes: ['v'] })],
        volumes: [volume({ name: 'v' })],
      },
    ],
    [
      'dependent child image',
      { name: 'base', resource: 'image', match: { repositories: ['base'] } },
      {
        images: [parent, image({ id: 'c1', parent, tags: ['c:1'] }), image({ id: 'c2', parent, tags: ['c:2'] })],
        containers: [],
        volumes: [],
      },
    ],
  ])('the "%s" reason does not depend on listing order', (_why, policy, s) => {
    const cfg1 = config({ policies: [policy] });
    const reversed: Snapshot = {
      images: [...s.images].reverse(),
      containers: [...s.containers].reverse(),
      volumes: [...s.volumes].reverse(),
    };
    expect(planAt(cfg1, reversed)).toEqual(planAt(cfg1, s));
  });
});

describe('limits.maxRemovalFraction', () => {
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      image({ id: `m${String(i).padStart(2, '0')}`, tags: [`ci/app:${i}`], created: ago(90) }),
    );
  const policies: Policy[] = [{ name: 'ci', resource: 'image', match: { repositories: ['ci/**'] } }];

  it('blocks a plan that would remove more than the fraction of the images', () => {
    const p = planAt(config({ policies, limits: { maxRemovalFraction: 0.5 } }), {
      images: [...many(12), image({ id: 'other', tags: ['prod/app:1'] })],
    });
    expect(p.actions).toHaveLength(12);
    expect(p.blocked).toBe(
      'the plan removes 12 of 13 images, more than limits.maxRemovalFraction (0.5); nothing will be removed',
    );
  });

  it('lets it through when under the fraction, or below 10 removals of a kind', () => {
    const others = Array.from({ length: 20 }, (_, i) => image({ id: `o${i}`, tags: [`prod/app:${i}`] }));
    expect(
      planAt(config({ policies, limits: { maxRemovalFraction: 0.5 } }), { images: [...many(12), ...others] }).blocked,
    ).toBeUndefined();
    expect(
      planAt(config({ policies, limits: { maxRemovalFraction: 0.1 } }), { images: many(9) }).blocked,
    ).toBeUndefined();
  });
});
