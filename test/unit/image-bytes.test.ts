// The byte simulation on its own: the numbers reclaimd reports must equal what the engine
// frees, so the layer reference counting and the engine's auto-prune are pinned as data.
import { describe, expect, it } from 'vitest';
import { childrenFirst, simulateImageDeletions } from '../../src/policy/image-bytes.js';
import { indexImages } from '../../src/policy/plan-images.js';
import type { ContainerObj, ImageObj } from '../../src/policy/snapshot.js';
import { container, image } from '../support/builders.js';

function simulate(images: ImageObj[], order: string[], opts: { containers?: ContainerObj[]; protect?: string[] } = {}) {
  const containers = opts.containers ?? [];
  const index = indexImages(images, containers);
  const protect = new Set(opts.protect ?? []);
  return simulateImageDeletions(images, index, containers, order, (i) => protect.has(i.id));
}

describe('simulateImageDeletions: layer accounting', () => {
  const a = image({ id: 'a', tags: ['app:1'], layers: [['base', 1000], ['top-a', 10]] });
  const b = image({ id: 'b', tags: ['app:2'], layers: [['base', 1000], ['top-b', 20]] });
  const c = image({ id: 'c', tags: ['app:3'], layers: [['base', 1000], ['top-c', 30]] });

  it('counts a shared layer once, on the deletion that releases its last holder', () => {
    const sim = simulate([a, b], ['a', 'b']);
    expect(sim.deletions.map((d) => [d.id, d.bytes])).toEqual([['a', 10], ['b', 1020]]);
  });

  it('does not count a layer a remaining image still holds', () => {
    const sim = simulate([a, b, c], ['a', 'b']);
    expect(sim.deletions.map((d) => [d.id, d.bytes])).toEqual([['a', 10], ['b', 20]]);
  });

  it('counts a layer held twice by the same image only when both references go', () => {
    const twice = image({ id: 'd', tags: ['d:1'], layers: [['x', 7], ['x', 7]] });
    expect(simulate([twice], ['d']).deletions).toEqual([{ id: 'd', bytes: 7, alsoDeletes: [], noprune: false }]);
  });

  it('marginalBytes is what deleting one more image would free after the planned deletions', () => {
    const sim = simulate([a, b, c], ['a']);
    // b and c still share base, so each alone frees only its top layer.
    expect([sim.marginalBytes('b'), sim.marginalBytes('c')]).toEqual([20, 30]);
    const afterB = simulate([a, b, c], ['a', 'b']);
    // Now c is the last holder of base.
    expect(afterB.marginalBytes('c')).toBe(1030);
    // Deleted or unknown images free nothing more.
    expect([afterB.marginalBytes('a'), afterB.marginalBytes('nope')]).toEqual([0, 0]);
  });
});

describe('simulateImageDeletions: auto-pruned parents', () => {
  const root = image({ id: 'root', layers: [['l0', 100]] });
  const mid = image({ id: 'mid', parent: root, layers: [['l1', 10]] });
  const leaf = image({ id: 'leaf', parent: mid, tags: ['leaf:1'], layers: [['l2', 1]] });

  it('deletes an untagged chain with its last child, nearest parent first, bytes included', () => {
    const sim = simulate([root, mid, leaf], ['leaf']);
    expect(sim.deletions).toEqual([{ id: 'leaf', bytes: 111, alsoDeletes: ['mid', 'root'], noprune: false }]);
  });

  it('skips a selected parent that was already pruned with its child', () => {
    const sim = simulate([root, mid, leaf], ['leaf', 'mid', 'root']);
    expect(sim.deletions.map((d) => d.id)).toEqual(['leaf']);
  });

  it.each([
    ['a tag', image({ id: 'mid', parent: root, tags: ['mid:1'], layers: [['l1', 10]] }), { containers: [] }],
    ['a digest', image({ id: 'mid', parent: root, digests: ['mid@sha256:1'], layers: [['l1', 10]] }), { containers: [] }],
    ['a container using it', mid, { containers: [container({ name: 'user', imageId: 'mid' })] }],
  ])('stops at a parent with %s, and keeps what is above it', (_what, parent, opts) => {
    const sim = simulate([root, parent, leaf], ['leaf'], opts);
    expect(sim.deletions).toEqual([{ id: 'leaf', bytes: 1, alsoDeletes: [], noprune: false }]);
  });

  it('stops at a parent that still has another child, until that child goes too', () => {
    const sibling = image({ id: 'sib', parent: mid, tags: ['sib:1'], layers: [['l3', 2]] });
    const one = simulate([root, mid, leaf, sibling], ['leaf']);
    expect(one.deletions).toEqual([{ id: 'leaf', bytes: 1, alsoDeletes: [], noprune: false }]);
    const both = simulate([root, mid, leaf, sibling], ['leaf', 'sib']);
    expect(both.deletions).toEqual([
      { id: 'leaf', bytes: 1, alsoDeletes: [], noprune: false },
      { id: 'sib', bytes: 112, alsoDeletes: ['mid', 'root'], noprune: false },
    ]);
  });

  it('a protected parent anywhere in the chain stops the whole prune (noprune) and its bytes', () => {
    const sim = simulate([root, mid, leaf], ['leaf'], { protect: ['root'] });
    expect(sim.deletions).toEqual([{ id: 'leaf', bytes: 1, alsoDeletes: [], noprune: true }]);
    // The parents stay, so their layers are still there to report on.
    expect(sim.marginalBytes('mid')).toBe(10);
  });
});

describe('childrenFirst', () => {
  it('orders deeper images first, then by ID, whatever the input order', () => {
    const a = image({ id: 'a' });
    const z = image({ id: 'z', parent: a });
    const m = image({ id: 'm', parent: z });
    const b = image({ id: 'b', parent: a });
    const index = indexImages([a, z, m, b], []);
    expect(childrenFirst(['a', 'b', 'z', 'm'], index)).toEqual(['m', 'b', 'z', 'a']);
    expect(childrenFirst(['z', 'a', 'm', 'b'], index)).toEqual(['m', 'b', 'z', 'a']);
  });

  it('counts depth only through parents that are known', () => {
    const orphan = image({ id: 'o', parent: 'gone' });
    const x = image({ id: 'x' });
    expect(childrenFirst(['x', 'o'], indexImages([orphan, x], []))).toEqual(['o', 'x']);
  });
});
