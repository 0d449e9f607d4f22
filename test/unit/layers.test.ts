// Aligning image history with layers: the per-layer sizes behind every byte reclaimd reports.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainIds, layerSizes, type HistoryEntry } from '../../src/engine/layers.js';

const nop = (step: string, size = 0): HistoryEntry => ({ CreatedBy: `/bin/sh -c #(nop)  ${step}`, Size: size });
const run = (size: number): HistoryEntry => ({ CreatedBy: '/bin/sh -c make', Size: size });
const diffs = (n: number) => Array.from({ length: n }, (_, i) => `sha256:${String(i).repeat(64).slice(0, 64)}`);
const none = () => undefined;
/** History comes newest first from the engine; tests write it oldest first. */
const sizes = (
  d: string[],
  oldestFirst: HistoryEntry[],
  total: number,
  known: (c: string) => number | undefined = none,
) => {
  const r = layerSizes(d, [...oldestFirst].reverse(), total, known);
  return { sizes: r.layers.map((l) => l.size), exact: r.exact };
};

describe('chainIds', () => {
  it('chains each diff ID onto the one below, as the layer store does', () => {
    const [a, b] = diffs(2) as [string, string];
    const chains = chainIds([a, b]);
    expect(chains[0]).toBe(a);
    expect(chains[1]).toBe(`sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`);
    expect(chainIds([b, a])[1]).not.toBe(chains[1]);
  });
});

describe('layerSizes', () => {
  it('skips metadata steps and keeps ADD/COPY and RUN steps', () => {
    const history = [
      nop('ADD file:abc in / ', 100),
      nop('CMD ["sh"]'),
      nop('ENV A=1'),
      run(200),
      { CreatedBy: 'LABEL x=1 # buildkit', Size: 0 },
    ];
    expect(sizes(diffs(2), history, 300)).toEqual({ sizes: [100, 200], exact: true });
  });

  it('counts a zero-size RUN as a layer', () => {
    expect(sizes(diffs(3), [nop('COPY file:x in / ', 100), run(0), run(50)], 150)).toEqual({
      sizes: [100, 0, 50],
      exact: true,
    });
  });

  it('does not count a zero-size RUN that BuildKit kept no layer for', () => {
    const history = [
      nop('ADD file:a in / ', 1000),
      { CreatedBy: 'RUN /bin/sh -c true # buildkit', Size: 0 },
      { CreatedBy: 'COPY x / # buildkit', Size: 500 },
    ];
    expect(sizes(diffs(2), history, 1500)).toEqual({ sizes: [1000, 500], exact: true });
  });

  it('counts a zero-size WORKDIR as a layer when the layer count needs it', () => {
    const history = [nop('ADD file:a in / ', 100), nop('ENV A=1'), nop('WORKDIR /app'), run(200)];
    expect(sizes(diffs(3), history, 300)).toEqual({ sizes: [100, 0, 200], exact: true });
  });

  it('and not when the directory existed, so the step made no layer', () => {
    const history = [nop('ADD file:a in / ', 100), nop('WORKDIR /'), run(200)];
    expect(sizes(diffs(2), history, 300)).toEqual({ sizes: [100, 200], exact: true });
  });

  it('is exact when it does not matter which WORKDIR steps made layers', () => {
    const history = [nop('ADD file:a in / ', 100), nop('WORKDIR /a'), nop('WORKDIR /b'), run(200)];
    expect(sizes(diffs(3), history, 300)).toEqual({ sizes: [100, 0, 200], exact: true });
  });

  it('estimates when a sized step lies between WORKDIR steps of which only some made layers', () => {
    const history = [nop('ADD file:a in / ', 100), nop('WORKDIR /a'), run(200), nop('WORKDIR /b'), run(300)];
    const d = diffs(4);
    const chains = chainIds(d);
    const r = sizes(d, history, 600, (c) => (c === chains[0] ? 100 : undefined));
    // The base layer's size is known from another image; the rest goes to the top layer.
    expect(r).toEqual({ sizes: [100, 0, 0, 500], exact: false });
  });

  it('estimates, keeping the total, when history does not add up to the image size', () => {
    expect(sizes(diffs(2), [run(10), run(20)], 999)).toEqual({ sizes: [0, 999], exact: false });
  });
});
