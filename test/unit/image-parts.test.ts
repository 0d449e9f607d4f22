// What images hold on the containerd image store (image-parts.ts): snapshots sized exactly
// where the engine's figures allow, shared content blobs inferred, and bounds that hold
// whatever the blobs' true sizes. The figures are shaped like those measured on Docker 28.5.
import { describe, expect, it } from 'vitest';
import {
  containerdParts,
  type ManifestContent,
  type StoredImage,
  type StoredLayer,
} from '../../src/core/model/image-parts.js';
import { FreedTally } from '../../src/core/planner/bytes/image-bytes.js';
import type { ImageObj } from '../../src/core/model/snapshot.js';

const layer = (name: string, own: number, below = ''): StoredLayer => ({
  diffId: `diff-${name}`,
  chain: `chain-${below}${name}`,
  own,
});
const manifest = (
  digest: string,
  bytes: number,
  layers: ManifestContent['layers'] = 'host',
  manifestBytes = 500,
): ManifestContent => ({ digest, bytes, manifestBytes, layers });

function image(id: string, layers: StoredLayer[], content: number, extra: Partial<StoredImage> = {}): StoredImage {
  return {
    id,
    layers,
    unpacked: layers.reduce((s, l) => s + l.own, 0),
    indexBytes: 0,
    manifests: [manifest(id, content)],
    ...extra,
  };
}

function partsOf(images: StoredImage[], id: string) {
  return containerdParts(images).get(id);
}

/** What deleting `ids` frees, by the simulation's own rule, given the parts. */
function freedBy(images: StoredImage[], ids: string[]) {
  const parts = containerdParts(images);
  const objs = images.map((i) => ({ id: i.id, layers: parts.get(i.id) ?? [] }) as unknown as ImageObj);
  const tally = new FreedTally(objs);
  return ids.map((id) => tally.release(id));
}

describe('an image that shares nothing', () => {
  it('is its snapshots and its whole content, exactly', () => {
    const a = image('A', [layer('x', 4096), layer('y', 300_000, 'x')], 250_000);
    expect(partsOf([a], 'A')).toEqual([
      { chain: 'chain-x', size: 4096 },
      { chain: 'chain-xy', size: 300_000 },
      { chain: 'manifest:A', size: 250_000 },
    ]);
    expect(freedBy([a], ['A'])).toEqual([{ bytes: 554_096 }]);
  });

  it('has a hidden part for unpacked bytes no layer names (a classic-builder -init snapshot), between none and all freed', () => {
    const a = image('A', [layer('x', 4096), layer('y', 8192, 'x')], 1000, { unpacked: 4096 + 8192 + 12_288 });
    expect(partsOf([a], 'A')).toContainEqual({
      chain: 'hidden:chain-xy',
      size: 12_288,
      bounds: { unshared: 12_288, shared: 0 },
    });
    expect(freedBy([a], ['A'])).toEqual([
      { bytes: 4096 + 8192 + 12_288 + 1000, range: { low: 4096 + 8192 + 1000, high: 4096 + 8192 + 12_288 + 1000 } },
    ]);
  });
});

describe('snapshots', () => {
  it('cost the difference of the unpacked totals of the images ending with them and one layer lower', () => {
    // An intermediate (the classic builder leaves one per step) ends one layer lower: the
    // -init snapshot under the top layer is that layer's, exactly.
    const lower = image('P', [layer('x', 1_990_656)], 1_081_000);
    const child = image('C', [layer('x', 1_990_656), layer('y', 77_824, 'x')], 1_082_000, {
      unpacked: 1_990_656 + 77_824 + 12_288,
    });
    expect(partsOf([lower, child], 'C')?.slice(0, 2)).toEqual([
      { chain: 'chain-x', size: 1_990_656 },
      { chain: 'chain-xy', size: 90_112 },
    ]);
    expect(partsOf([lower, child], 'C')?.some((p) => p.chain.startsWith('hidden:'))).toBe(false);
  });
});

describe('content blobs shared between images', () => {
  const base = layer('base', 1_011_712);
  const top = (n: number, own: number) => layer(`top${n}`, own, 'base');

  it('size by difference where an image ends with the layer: the base image less its manifest blob', () => {
    const b = image('B', [base], 1_003_000);
    const c = image('C', [base, top(1, 208_896)], 1_206_000);
    const parts = partsOf([b, c], 'C');
    expect(parts).toContainEqual({ chain: 'blob:diff-base', size: 1_002_500, bounds: { unshared: 0, shared: 0 } });
    expect(parts).toContainEqual({
      chain: 'manifest:C',
      size: 1_206_000 - 1_002_500,
      bounds: { unshared: 1_206_000, shared: 500 },
    });
    // The base image is then its manifest blob (and config) alone, plus the shared blob.
    expect(partsOf([b, c], 'B')).toContainEqual({
      chain: 'manifest:B',
      size: 500,
      bounds: { unshared: 1_003_000, shared: 500 },
    });
  });

  it('size by share of the unpacked sizes where no image ends with it, from the holder where it weighs most', () => {
    const one = image('I1', [base, top(1, 208_896)], 1_205_762);
    const four = image('I4', [base, top(4, 512_000)], 1_505_794);
    const blob = partsOf([one, four], 'I1')?.find((p) => p.chain === 'blob:diff-base');
    // From I1, where the base is 83% of the unpacked size: (1,205,762 - 500) × 1,011,712 / 1,220,608.
    expect(blob?.size).toBe(Math.floor((1_205_762 - 500) * (1_011_712 / 1_220_608)));
  });

  it('is never larger than any holder content', () => {
    const tiny = image('T', [base, top(2, 4096)], 600, { manifests: [manifest('T', 600)] });
    const big = image('G', [base, top(3, 1_000_000)], 2_000_000);
    expect(partsOf([tiny, big], 'G')?.find((p) => p.chain === 'blob:diff-base')?.size).toBeLessThanOrEqual(100);
  });

  it('bound what a deletion frees: the truth lies between all of an image content and its manifest blob alone', () => {
    const one = image('I1', [base, top(1, 208_896)], 1_205_762);
    const four = image('I4', [base, top(4, 512_000)], 1_505_794);
    const [freed] = freedBy([one, four], ['I1']);
    // The true figure, measured on Docker 28.5 for these sizes: snapshot 208,896 + content 203,247.
    expect(freed?.range).toEqual({ low: 208_896 + 500, high: 208_896 + 1_205_762 });
    expect(freed?.bytes).toBeGreaterThan(freed?.range?.low as number);
    expect(freed?.bytes).toBeLessThan(freed?.range?.high as number);
    // Deleting the last holder frees the shared snapshot and blob too: the blob is counted once.
    const blob = partsOf([one, four], 'I1')?.find((p) => p.chain === 'blob:diff-base')?.size as number;
    const [first, last] = freedBy([one, four], ['I1', 'I4']);
    expect((first?.bytes as number) + (last?.bytes as number)).toBe(
      1_011_712 + 208_896 + 512_000 + 1_205_762 + 1_505_794 - blob,
    );
  });
});

describe('manifests', () => {
  it('of another platform (layers unknown) may share all but their manifest blob; an attestation shares nothing', () => {
    const multi = image('IDX', [layer('x', 8192)], 0, {
      indexBytes: 855,
      manifests: [manifest('M-amd64', 2000), manifest('M-arm64', 2100, 'unknown'), manifest('M-att', 900, 'none')],
    });
    expect(partsOf([multi], 'IDX')).toEqual([
      { chain: 'chain-x', size: 8192 },
      { chain: 'manifest:IDX', size: 855 },
      { chain: 'manifest:M-amd64', size: 2000 },
      { chain: 'manifest:M-arm64', size: 2100, bounds: { unshared: 2100, shared: 500 } },
      { chain: 'manifest:M-att', size: 900 },
    ]);
  });

  it('held by two images (an index and a tag of one of its platforms) are one part', () => {
    const x = layer('x', 8192);
    const index = image('IDX', [x], 0, { indexBytes: 855, manifests: [manifest('M-amd64', 2000)] });
    const single = image('M-amd64', [x], 2000);
    const [first, second] = freedBy([index, single], ['IDX', 'M-amd64']);
    expect(first).toEqual({ bytes: 855 });
    expect(second).toEqual({ bytes: 8192 + 2000 });
  });
});
