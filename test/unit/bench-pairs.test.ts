// The benchmark's steady-state figure is a median of paired ratios; these pin what it reports,
// since a ratio of two medians (what it reported before) can differ from it on the same samples.
import { describe, expect, it } from 'vitest';
import { summarizePairs } from '../../bench/measure.js';

describe('summarizePairs', () => {
  it('takes the median of the pairs\' own ratios, not the ratio of the medians', () => {
    // Ratios 1, 2 and 1.5: their median is 1.5, while the medians of the sides give 4 / 2 = 2.
    const s = summarizePairs([{ cycle: 1, list: 1 }, { cycle: 4, list: 2 }, { cycle: 6, list: 4 }]);
    expect(s.ratio).toBe(1.5);
    expect(s.cycleSeconds).toBe(4);
    expect(s.listSeconds).toBe(2);
    expect(s.pairs).toBe(3);
  });

  it('gives the quartiles of the ratios, whatever order the pairs came in', () => {
    const s = summarizePairs([5, 1, 4, 2, 3].map((r) => ({ cycle: r, list: 1 })));
    expect([s.low, s.ratio, s.high]).toEqual([2, 3, 4]);
  });

  it('refuses an empty run rather than report a ratio of nothing', () => {
    expect(() => summarizePairs([])).toThrow('no pairs');
  });
});
