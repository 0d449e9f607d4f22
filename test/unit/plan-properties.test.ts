// Property-based tests of the planner's safety invariants on random engine states and random
// policies (fast-check): whatever the state and the policies, the plan never selects what is in
// use or protected, respects the limit, does not depend on listing order, and once its
// removals are done, planning again finds nothing new to remove.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import type { ContainerObj, ImageObj, Snapshot, VolumeObj } from '../../src/core/model/snapshot.js';
import { splitReference } from '../../src/core/model/snapshot.js';
import { ago, anonName, config, NOW, planAt, shuffled } from '../support/builders.js';

const REPOS = ['ci/app', 'ci/web', 'prod/app', 'base'];
const TAGS = ['1', 'pr-1', 'pr-2', 'latest'];
const STATES = ['created', 'running', 'paused', 'restarting', 'exited', 'dead'];
const CHAINS = ['c0', 'c1', 'c2', 'c3', 'c4'];
const VOLUMES = ['data', 'cache', anonName('a'), anonName('b'), anonName('c')];

const labelsArb = fc
  .record({ keep: fc.boolean(), team: fc.boolean() })
  .map(({ keep, team }) => ({ ...(keep ? { 'reclaimd.keep': '1' } : {}), ...(team ? { team: 'ci' } : {}) }));

const imagesArb = fc
  .array(
    fc.record({
      tags: fc.uniqueArray(
        fc.tuple(fc.constantFrom(...REPOS), fc.constantFrom(...TAGS)).map(([r, t]) => `${r}:${t}`),
        { maxLength: 2 },
      ),
      parent: fc.option(fc.nat(20), { nil: undefined }),
      age: fc.integer({ min: 0, max: 800 }),
      labels: labelsArb,
      layers: fc.uniqueArray(fc.constantFrom(...CHAINS), { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 12 },
  )
  .map((specs) => {
    const images: ImageObj[] = [];
    const seen = new Set<string>();
    specs.forEach((s, i) => {
      // A tag names one image; a parent comes earlier in the list, so there are no cycles; a
      // layer has one size wherever it appears, as in the engine's layer store.
      const tags = s.tags.filter((t) => !seen.has(t));
      tags.forEach((t) => seen.add(t));
      const parentId = s.parent !== undefined && s.parent < i ? `i${s.parent}` : undefined;
      images.push({
        id: `i${i}`,
        parentId,
        tags,
        digests: [],
        created: ago(s.age),
        labels: s.labels,
        size: 0,
        layers: s.layers.map((chain) => ({ chain, size: 100 * (CHAINS.indexOf(chain) + 1) })),
      });
    });
    return images;
  });

function stateArb(images: ImageObj[]): fc.Arbitrary<Snapshot> {
  const imageIds = images.length > 0 ? images.map((i) => i.id) : ['ghost'];
  const containers = fc.array(
    fc.record({
      state: fc.constantFrom(...STATES),
      image: fc.constantFrom(...imageIds),
      vols: fc.uniqueArray(fc.constantFrom(...VOLUMES), { maxLength: 2 }),
      age: fc.integer({ min: 0, max: 60 }),
      exit: fc.constantFrom(0, 1),
      labels: labelsArb,
    }),
    { maxLength: 8 },
  );
  const volumes = fc.uniqueArray(
    fc.record({
      name: fc.constantFrom(...VOLUMES),
      age: fc.integer({ min: 0, max: 60 }),
      nfs: fc.boolean(),
      labels: labelsArb,
    }),
    { selector: (v) => v.name, maxLength: 5 },
  );
  return fc.tuple(containers, volumes).map(([cs, vs]) => ({
    images,
    containers: cs.map((c, i): ContainerObj => ({
      id: `c${i}`,
      name: `ctr${i}`,
      image: c.image,
      imageId: c.image,
      state: c.state,
      created: ago(c.age + 1),
      finishedAt: ago(c.age),
      exitCode: c.exit,
      labels: c.labels,
      sizeRw: 10,
      volumes: c.vols,
    })),
    volumes: vs.map((v): VolumeObj => ({
      name: v.name,
      driver: v.nfs ? 'nfs' : 'local',
      created: ago(v.age),
      labels: v.labels,
      size: 5,
    })),
  }));
}

const snapshotArb = imagesArb.chain(stateArb);

// Policies as plain data; `config()` runs them through the real validation, so every one
// generated here is one an operator could write (dangling with keep.newest is refused).
const policyArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc
    .record({
      resource: fc.constant('image'),
      match: fc.constantFrom<Record<string, unknown>>(
        {},
        { dangling: true },
        { repositories: ['ci/**'] },
        { tags: ['pr-*'], olderThan: '30d' },
        { labels: ['team=ci'] },
      ),
      keep: fc.constantFrom<Record<string, unknown> | undefined>(undefined, { newest: 1 }, { tags: ['latest'] }),
    })
    .filter(({ match, keep }) => !(match['dangling'] === true && keep?.['newest'] !== undefined))
    .map(({ keep, ...p }) => (keep ? { ...p, keep } : p)),
  fc.record({
    resource: fc.constant('container'),
    match: fc.constantFrom<Record<string, unknown>>({}, { stoppedFor: '7d' }, { exitCode: [0] }, { labels: ['team'] }),
    removeAnonymousVolumes: fc.boolean(),
  }),
  fc.record({
    resource: fc.constant('volume'),
    match: fc.constantFrom<Record<string, unknown>>({}, { anonymous: true }, { olderThan: '7d' }, { names: ['data'] }),
  }),
);

const policiesArb = fc
  .array(fc.tuple(policyArb, fc.boolean()), { minLength: 1, maxLength: 5 })
  .map((ps) =>
    ps.map(([p, report], i) => ({ ...p, name: `p${i}`, ...(report ? { action: 'report' } : {}) }) as unknown as Policy),
  );

const configArb = fc.tuple(policiesArb, fc.integer({ min: 0, max: 30 })).map(([policies, limit]) =>
  config({
    policies,
    protect: { labels: ['reclaimd.keep'], repositories: ['base'] },
    limits: { maxRemovalsPerRun: limit },
  }),
);

const RUNS = { numRuns: 300 };

describe('planner invariants on random engine states', () => {
  it('never selects what is in use, running or protected', () => {
    fc.assert(
      fc.property(snapshotArb, configArb, (snap, cfg) => {
        const p = planAt(cfg, snap);
        const removed = new Set(p.actions.filter((a) => a.resource === 'container').map((a) => a.id));
        const remaining = snap.containers.filter((c) => !removed.has(c.id));
        for (const a of p.actions) {
          if (a.resource === 'container') {
            const c = snap.containers.find((x) => x.id === a.id) as ContainerObj;
            expect(['exited', 'dead', 'created']).toContain(c.state);
            expect(c.labels['reclaimd.keep']).toBeUndefined();
          } else if (a.resource === 'image') {
            const i = snap.images.find((x) => x.id === a.id) as ImageObj;
            expect(remaining.some((c) => c.imageId === i.id)).toBe(false);
            expect(i.labels['reclaimd.keep']).toBeUndefined();
            expect(i.tags.some((t) => splitReference(t).repository === 'base')).toBe(false);
            // Every child of a removed image is removed too, or the engine would refuse.
            for (const child of snap.images.filter((x) => x.parentId === i.id))
              expect(p.actions.some((x) => x.id === child.id)).toBe(true);
          } else {
            const v = snap.volumes.find((x) => x.name === a.id) as VolumeObj;
            expect(remaining.some((c) => c.volumes.includes(v.name))).toBe(false);
            expect(v.driver).toBe('local');
            expect(v.labels['reclaimd.keep']).toBeUndefined();
          }
        }
        // Report-only selections are never among the removals.
        for (const r of p.reported)
          expect(p.actions.some((a) => a.resource === r.resource && a.id === r.id)).toBe(false);
      }),
      RUNS,
    );
  });

  it('blocks any plan larger than maxRemovalsPerRun, and only those', () => {
    fc.assert(
      fc.property(snapshotArb, configArb, (snap, cfg) => {
        const p = planAt(cfg, snap);
        expect(p.blocked !== undefined).toBe(p.actions.length > cfg.limits.maxRemovalsPerRun);
        expect(p.totals.count).toBe(p.actions.length);
      }),
      RUNS,
    );
  });

  it('does not depend on the order the engine lists objects in', () => {
    fc.assert(
      fc.property(snapshotArb, configArb, fc.integer(), (snap, cfg, seed) => {
        const reordered: Snapshot = {
          images: shuffled(snap.images, seed),
          containers: shuffled(snap.containers, seed + 1),
          volumes: shuffled(snap.volumes, seed + 2),
        };
        expect(planAt(cfg, reordered)).toEqual(planAt(cfg, snap));
      }),
      RUNS,
    );
  });

  it('once its removals are done, planning again removes nothing new', () => {
    fc.assert(
      fc.property(snapshotArb, configArb, (snap, cfg) => {
        const p = planAt(cfg, snap);
        if (p.blocked) return;
        const gone = new Set(p.actions.map((a) => `${a.resource}:${a.id}`));
        const after: Snapshot = {
          images: snap.images.filter((i) => !gone.has(`image:${i.id}`)),
          containers: snap.containers.filter((c) => !gone.has(`container:${c.id}`)),
          volumes: snap.volumes.filter((v) => !gone.has(`volume:${v.name}`)),
        };
        expect(planAt(cfg, after, NOW).actions).toEqual([]);
      }),
      RUNS,
    );
  });
});
