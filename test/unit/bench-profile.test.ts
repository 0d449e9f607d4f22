// The engine profile's arithmetic (bench/profile-sum.ts): a sample's CPU counts once for
// every function on its stack, however often the function appears in it.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Function as Fn, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { cumulative } from '../../bench/profile-sum.js';

function profile(stacks: Array<[string[], number]>): Buffer {
  const strings = new StringTable();
  const names = [...new Set(stacks.flatMap(([s]) => s))];
  const fn = names.map((n, i) => new Fn({ id: i + 1, name: strings.dedup(n) }));
  const loc = names.map((_, i) => new Location({ id: i + 1, line: [new Line({ functionId: i + 1 })] }));
  const sample = stacks.map(
    ([stack, ns]) => new Sample({ locationId: stack.map((n) => names.indexOf(n) + 1), value: [1, ns] }),
  );
  const p = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    sample,
    location: loc,
    function: fn,
    stringTable: strings,
  });
  return gzipSync(Buffer.from(p.encode()));
}

describe('cumulative', () => {
  it('adds each sample to every function on its stack, once', () => {
    const { total, byFunction } = cumulative(
      profile([
        [['leaf', 'handler', 'main'], 2e9],
        [['handler', 'handler', 'main'], 1e9],
        [['other', 'main'], 0.5e9],
      ]),
    );
    expect(total).toBe(3.5);
    expect(byFunction.get('main')).toBe(3.5);
    expect(byFunction.get('handler')).toBe(3);
    expect(byFunction.get('leaf')).toBe(2);
    expect(byFunction.get('other')).toBe(0.5);
  });
});
