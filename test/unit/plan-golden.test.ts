// Pins the planner's whole output for fixed synthetic snapshots, so a change made for speed
// cannot change a single decision, reason, byte count or order without this test noticing.
// The hashes were computed before the planner's performance work; if a deliberate change to
// the plan's content or shape alters them, recompute them and say why in the commit.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plan } from '../../src/core/planner/plan.js';
import type { ImageObj, Snapshot } from '../../src/core/model/snapshot.js';
import { syntheticSnapshot, twentyPolicies } from '../../bench/planner.js';
import { makeConfig } from '../../bench/measure.js';

const now = Date.parse('2026-11-01T00:00:00Z');
const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** The bench snapshot with parent chains, digests and ghost layers, for the image-tree paths. */
function withTrees(s: Snapshot): Snapshot {
  const images = s.images.map((i, n): ImageObj => {
    const parent = n % 5 !== 0 && n > 0 ? s.images[n - 1] : undefined;
    return {
      ...i,
      parentId: parent?.id,
      digests: n % 4 === 0 ? [`team/app@sha256:${n}`] : [],
      tags: n % 6 === 0 ? [] : i.tags,
    };
  });
  const ghostLayers = Object.fromEntries(
    s.containers.filter((_, n) => n % 17 === 0).map((c, n) => [c.id, [`sha256:base${n % 7}`, `gone${n}`]]),
  );
  return { ...s, images, ghostLayers };
}

describe('plan output for a fixed synthetic snapshot', () => {
  it('is exactly what it was (bench snapshot, 20 policies)', () => {
    const out = plan(makeConfig(twentyPolicies()), syntheticSnapshot(2000, 2000, 1000, now), now);
    expect(out.actions.length).toBeGreaterThan(100);
    expect(out.kept.length).toBeGreaterThan(10);
    expect(digest(out)).toBe('7a3dcdc89f9854ab3c7b25de91a5a5ba1c4806252a9330899a3719c96572c169');
  });

  it('is exactly what it was (with parent chains, digests and ghost layers)', () => {
    const out = plan(makeConfig(twentyPolicies()), withTrees(syntheticSnapshot(1500, 1500, 500, now)), now);
    expect(out.actions.some((a) => a.inTree === true)).toBe(true);
    expect(digest(out)).toBe('0bd363b6b4435cb18dde92389ab4cba82691d0cb3077dabc0d6d7fba2f61db25');
  });
});
