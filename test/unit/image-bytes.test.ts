// The byte simulation on its own: the numbers reclaimd reports must equal what the engine
// frees, so the layer reference counting and the planned deletion of untagged parents are
// pinned as data.
import { describe, expect, it } from 'vitest';
import { simulateImageDeletions } from '../../src/core/planner/bytes/image-bytes.js';
import { indexImages } from '../../src/core/planner/shared/image-index.js';
import type { ContainerObj, ImageObj } from '../../src/core/model/snapshot.js';
import { container, image } from '../support/builders.js';

function simulate(
  images: ImageObj[],
  selected: string[],
  opts: { containers?: ContainerObj[]; protect?: string[]; ghosts?: string[] } = {},
) {
  const containers = opts.containers ?? [];
  const index = indexImages(images, containers);
  const protect = new Set(opts.protect ?? []);
  return simulateImageDeletions(images, index, selected, (i) => protect.has(i.id), opts.ghosts ?? []);
}

const alone = (id: string, bytes: number) => ({ id, bytes, parentOf: undefined, dependsOn: [], inTree: false });

describe('simulateImageDeletions: layer accounting', () => {
  const a = image({
    id: 'a',
    tags: ['app:1'],
    layers: [
      ['base', 1000],
      ['top-a', 10],
    ],
  });
  const b = image({
    id: 'b',
    tags: ['app:2'],
    layers: [
      ['base', 1000],
      ['top-b', 20],
    ],
  });
  const c = image({
    id: 'c',
    tags: ['app:3'],
    layers: [
      ['base', 1000],
      ['top-c', 30],
    ],
  });

  it('counts a shared layer once, on the deletion that releases its last holder', () => {
    const sim = simulate([a, b], ['a', 'b']);
    expect(sim.deletions.map((d) => [d.id, d.bytes])).toEqual([
      ['a', 10],
      ['b', 1020],
    ]);
  });

  it('does not count a layer a remaining image still holds', () => {
    const sim = simulate([a, b, c], ['a', 'b']);
    expect(sim.deletions.map((d) => [d.id, d.bytes])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
  });

  it('counts a layer held twice by the same image only when both references go', () => {
    const twice = image({
      id: 'd',
      tags: ['d:1'],
      layers: [
        ['x', 7],
        ['x', 7],
      ],
    });
    expect(simulate([twice], ['d']).deletions).toEqual([alone('d', 7)]);
  });

  it('does not count a layer a container still holds after its image was deleted by force', () => {
    const sim = simulate([a, b], ['a', 'b'], { ghosts: ['base'] });
    expect(sim.deletions.map((d) => [d.id, d.bytes])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
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

describe('simulateImageDeletions: untagged parents', () => {
  const root = image({ id: 'root', layers: [['l0', 100]] });
  const mid = image({ id: 'mid', parent: root, layers: [['l1', 10]] });
  const leaf = image({ id: 'leaf', parent: mid, tags: ['leaf:1'], layers: [['l2', 1]] });
  const tree = (id: string, bytes: number, parentOf: string | undefined, dependsOn: string[]) => ({
    id,
    bytes,
    parentOf,
    dependsOn,
    inTree: true,
  });

  it('plans an untagged chain left without children as deletions of their own, children first', () => {
    const sim = simulate([root, mid, leaf], ['leaf']);
    expect(sim.deletions).toEqual([
      tree('leaf', 1, undefined, []),
      tree('mid', 10, 'leaf', ['leaf']),
      tree('root', 100, 'mid', ['mid']),
    ]);
  });

  it('a parent selected in its own right is planned once', () => {
    const sim = simulate([root, mid, leaf], ['leaf', 'mid', 'root']);
    expect(sim.deletions.map((d) => [d.id, d.parentOf])).toEqual([
      ['leaf', undefined],
      ['mid', undefined],
      ['root', undefined],
    ]);
  });

  it.each([
    ['a tag', image({ id: 'mid', parent: root, tags: ['mid:1'], layers: [['l1', 10]] }), { containers: [] }],
    [
      'a digest',
      image({ id: 'mid', parent: root, digests: ['mid@sha256:1'], layers: [['l1', 10]] }),
      { containers: [] },
    ],
    ['a container using it', mid, { containers: [container({ name: 'user', imageId: 'mid' })] }],
  ])('stops at a parent with %s, and keeps what is above it', (_what, parent, opts) => {
    const sim = simulate([root, parent, leaf], ['leaf'], opts);
    expect(sim.deletions).toEqual([tree('leaf', 1, undefined, [])]);
  });

  it('stops at a parent that still has another child, until that child goes too', () => {
    const sibling = image({ id: 'sib', parent: mid, tags: ['sib:1'], layers: [['l3', 2]] });
    const one = simulate([root, mid, leaf, sibling], ['leaf']);
    expect(one.deletions).toEqual([tree('leaf', 1, undefined, [])]);
    const both = simulate([root, mid, leaf, sibling], ['leaf', 'sib']);
    expect(both.deletions).toEqual([
      tree('leaf', 1, undefined, []),
      tree('sib', 2, undefined, []),
      tree('mid', 10, 'leaf', ['leaf', 'sib']),
      tree('root', 100, 'mid', ['mid']),
    ]);
  });

  it('a protected parent stays, and so does everything above it', () => {
    const sim = simulate([root, mid, leaf], ['leaf'], { protect: ['mid'] });
    expect(sim.deletions).toEqual([tree('leaf', 1, undefined, [])]);
    expect(sim.marginalBytes('mid')).toBe(10);
  });
});

describe('deletion order', () => {
  it('stand-alone images first by ID, then tree images deeper first, whatever the input order', () => {
    const a = image({ id: 'a' });
    const z = image({ id: 'z', parent: a, tags: ['z:1'] });
    const m = image({ id: 'm', parent: z, tags: ['m:1'] });
    const b = image({ id: 'b', parent: a, tags: ['b:1'] });
    const x = image({ id: 'x', tags: ['x:1'] });
    const w = image({ id: 'w', tags: ['w:1'] });
    for (const input of [
      ['a', 'b', 'z', 'm', 'x', 'w'],
      ['w', 'z', 'x', 'a', 'm', 'b'],
    ]) {
      expect(simulate([a, z, m, b, x, w], input).deletions.map((d) => d.id)).toEqual(['w', 'x', 'm', 'b', 'z', 'a']);
    }
  });

  it('counts depth only through parents that are known', () => {
    const orphan = image({ id: 'o', parent: 'gone', tags: ['o:1'] });
    const x = image({ id: 'x', tags: ['x:1'] });
    expect(simulate([orphan, x], ['x', 'o']).deletions.map((d) => [d.id, d.inTree])).toEqual([
      ['o', false],
      ['x', false],
    ]);
  });
});
