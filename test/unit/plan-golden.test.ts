// Pins the planner's whole output for fixed synthetic snapshots, so a change made for speed or
// structure cannot change a single decision, reason, byte count or order without this test
// noticing. The plan is rendered one decision per line (test/golden/render-plan.ts), so a
// failure shows which decisions changed. If a deliberate change to the plan's content alters
// them, regenerate with `npx vitest run --project unit -u test/unit/plan-golden.test.ts` and
// say why in the commit.
import { describe, expect, it } from 'vitest';
import { plan } from '../../src/core/planner/plan.js';
import type { ImageObj, Snapshot } from '../../src/core/model/snapshot.js';
import { syntheticSnapshot, twentyPolicies } from '../../bench/planner.js';
import { makeConfig } from '../../bench/measure.js';
import { renderPlan } from '../golden/render-plan.js';

const now = Date.parse('2026-11-01T00:00:00Z');

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
  it('is exactly what it was (bench snapshot, 20 policies)', async () => {
    const out = plan(makeConfig(twentyPolicies()), syntheticSnapshot(2000, 2000, 1000, now), now);
    expect(out.actions.length).toBeGreaterThan(100);
    expect(out.kept.length).toBeGreaterThan(10);
    await expect(renderPlan(out)).toMatchFileSnapshot('../golden/plan-bench.txt');
  });

  it('is exactly what it was (with parent chains, digests and ghost layers)', async () => {
    const out = plan(makeConfig(twentyPolicies()), withTrees(syntheticSnapshot(1500, 1500, 500, now)), now);
    expect(out.actions.some((a) => a.resource === 'image' && a.inTree === true)).toBe(true);
    await expect(renderPlan(out)).toMatchFileSnapshot('../golden/plan-trees.txt');
  });
});
