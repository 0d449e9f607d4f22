// keep.newest for images, as properties (fast-check): the kept set is exact and does not depend
// on the order the engine lists images, even when many creation times tie and images carry tags
// in several repositories.
//
// With an image tagged in two repositories, "exactly N per repository" cannot hold in general:
// such an image may be among the N newest of one repository and not of the other, and then the
// other keeps its own N newest too. So the rule, checked here, is: in every repository its N
// newest (ties by ID) are kept, nothing else is kept by keep.newest, and where every image
// lives in one repository, exactly min(N, count) are kept in each.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImageObj } from '../../src/core/model/snapshot.js';
import { splitReference } from '../../src/core/model/snapshot.js';
import { ago, config, image, planAt, shuffled } from '../support/builders.js';

const REPOS = ['ci/app', 'ci/web', 'qa/app'];

/** Unique image IDs; creation times from a handful of days so that ties are common. */
function imagesArb(multiRepo: boolean): fc.Arbitrary<ImageObj[]> {
  const tagsArb = multiRepo
    ? fc.uniqueArray(
        fc.tuple(fc.constantFrom(...REPOS), fc.constantFrom('1', '2', '3')).map(([r, t]) => `${r}:${t}`),
        { maxLength: 3 },
      )
    : fc
        .tuple(
          fc.constantFrom(...REPOS),
          fc.uniqueArray(fc.constantFrom('1', '2', '3'), { minLength: 1, maxLength: 2 }),
        )
        .map(([r, ts]) => ts.map((t) => `${r}:${t}`));
  return fc
    .array(fc.record({ tags: tagsArb, day: fc.integer({ min: 0, max: 3 }) }), { maxLength: 14 })
    .map((specs) =>
      specs.map((s, i) => image({ id: `sha256:${String(i).padStart(2, '0')}`, tags: s.tags, created: ago(s.day) })),
    );
}

const repositories = (i: ImageObj) => [...new Set(i.tags.map((t) => splitReference(t).repository))];

/** The model: per repository, newest first, equal times by ID. */
function topN(images: readonly ImageObj[], repo: string, n: number): string[] {
  return images
    .filter((i) => repositories(i).includes(repo))
    .sort((a, b) => (b.created ?? Infinity) - (a.created ?? Infinity) || (a.id < b.id ? -1 : 1))
    .slice(0, n)
    .map((i) => i.id);
}

function keptByNewest(images: readonly ImageObj[], n: number): Set<string> {
  const cfg = config({ policies: [{ name: 'all', resource: 'image', match: {}, keep: { newest: n } }] });
  const p = planAt(cfg, { images });
  const kept = p.kept.filter((k) => k.reason.endsWith('(keep.newest)')).map((k) => k.id);
  // Nothing else keeps anything here, and every image is either kept or removed.
  expect(kept.length + p.actions.length).toBe(images.length);
  return new Set(kept);
}

describe('image keep.newest (properties)', () => {
  it('the kept set is the same whatever the listing order', () => {
    fc.assert(
      fc.property(imagesArb(true), fc.integer({ min: 0, max: 4 }), fc.integer(), (images, n, seed) => {
        expect([...keptByNewest(shuffled(images, seed), n)].sort()).toEqual([...keptByNewest(images, n)].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('each repository keeps its N newest, and keep.newest keeps nothing else', () => {
    fc.assert(
      fc.property(imagesArb(true), fc.integer({ min: 0, max: 4 }), (images, n) => {
        const kept = keptByNewest(images, n);
        const expected = new Set(REPOS.flatMap((r) => topN(images, r, n)));
        expect([...kept].sort()).toEqual([...expected].sort());
        for (const r of REPOS) {
          const count = images.filter((i) => repositories(i).includes(r)).length;
          const keptHere = images.filter((i) => repositories(i).includes(r) && kept.has(i.id)).length;
          // At least min(N, count) remain in every repository.
          expect(keptHere).toBeGreaterThanOrEqual(Math.min(n, count));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with one repository per image, exactly min(N, count) are kept in each', () => {
    fc.assert(
      fc.property(imagesArb(false), fc.integer({ min: 0, max: 4 }), fc.integer(), (images, n, seed) => {
        const kept = keptByNewest(shuffled(images, seed), n);
        for (const r of REPOS) {
          const inRepo = images.filter((i) => repositories(i).includes(r));
          expect(inRepo.filter((i) => kept.has(i.id)).length).toBe(Math.min(n, inRepo.length));
        }
      }),
      { numRuns: 300 },
    );
  });
});
