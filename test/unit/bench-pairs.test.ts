// The benchmark's steady-state figure is a median of paired ratios; these pin what it reports,
// since a ratio of two medians (what it reported before) can differ from it on the same samples.
import { describe, expect, it } from 'vitest';
import { summarizePairs } from '../../bench/measure.js';
import { cpuTicks } from '../../bench/engine-cpu.js';

describe('summarizePairs', () => {
  it("takes the median of the pairs' own ratios, not the ratio of the medians", () => {
    // Ratios 1, 2 and 1.5: their median is 1.5, while the medians of the sides give 4 / 2 = 2.
    const s = summarizePairs([
      { cycle: 1, list: 1 },
      { cycle: 4, list: 2 },
      { cycle: 6, list: 4 },
    ]);
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

describe('cpuTicks', () => {
  // Fields as /proc/PID/stat gives them, after the pid and the command name: utime 1234, stime 56.
  const rest = 'S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 11 0 500 1000 2000';

  it('adds user and system time', () => {
    expect(cpuTicks(`42 (node) ${rest}`)).toBe(1290);
  });

  it("adds the waited-for children's times when asked", () => {
    const withChildren = 'S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 7 3 20 0 11 0 500 1000 2000';
    expect(cpuTicks(`42 (dockerd) ${withChildren}`, true)).toBe(1300);
    expect(cpuTicks(`42 (dockerd) ${withChildren}`)).toBe(1290);
  });

  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    expect(cpuTicks(`42 (a) b (c d) ${rest}`)).toBe(1290);
  });

  it('refuses a text that is not a stat line rather than report nonsense', () => {
    expect(() => cpuTicks('VmRSS: 1234 kB')).toThrow('not a /proc/PID/stat line');
  });
});
