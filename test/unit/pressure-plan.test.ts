// Pressure policies (`when` / `until`) through the whole planner: they run only while the
// condition holds, take least recently used first, stop at the first image whose predicted
// bytes reach the target, and count shared layers the way the engine frees them.
import { describe, expect, it } from 'vitest';
import { plan } from '../../src/core/planner/plan.js';
import type { Policy } from '../../src/core/config/schema.js';
import type { ImageObj, Snapshot } from '../../src/core/model/snapshot.js';
import type { DiskFigures } from '../../src/core/planner/pressure/pressure.js';
import { ago, config, container, image, NOW, shuffled } from '../support/builders.js';

const alone = (id: string, size: number, created = ago(100)) =>
  image({ id, tags: [`ci/${id}:1`], created, layers: [[`L-${id}`, size]] });

function snap(images: readonly ImageObj[], lastUse?: Record<string, number>, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    images,
    containers: extra.containers ?? [],
    volumes: [],
    ...(lastUse ? { usage: { images: new Map(Object.entries(lastUse)), volumes: new Map() } } : {}),
  };
}

const budget = (above: string, below?: string, more: Partial<Policy> = {}): Policy =>
  ({
    name: 'budget',
    resource: 'image',
    match: {},
    when: { totalSizeAbove: above },
    ...(below ? { until: { totalSizeBelow: below } } : {}),
    ...more,
  }) as Policy;

const run = (policies: Policy[], s: Snapshot, disk?: DiskFigures) => plan(config({ policies }), s, NOW, disk);
const ids = (p: ReturnType<typeof plan>) => p.actions.map((a) => a.id);

describe('pressure by total size (budget)', () => {
  const images = [alone('a', 1000), alone('b', 2000), alone('c', 3000), alone('d', 4000)];
  // Least recently used first: d, a, c, b.
  const lastUse = { d: ago(9), a: ago(7), c: ago(5), b: ago(1) };

  it('removes least recently used first and stops exactly at the first image that reaches the target', () => {
    const p = run([budget('9000B', '5000B')], snap(images, lastUse));
    // d frees 4000 (10000 → 6000, still above 5000), a frees 1000 (→ 5000): stop there.
    expect(ids(p)).toEqual(['a', 'd']); // plan order is by ID; what matters is the set
    expect(p.pressure).toEqual([
      {
        policy: 'budget',
        measure: 'totalSize',
        state: 'active',
        when: '9000B',
        until: '5000B',
        before: 10_000,
        capacity: null,
        target: 5000,
        freedEarlier: 0,
        freed: 5000,
        predictedAfter: 5000,
        selected: 2,
        spared: 2,
        reached: true,
      },
    ]);
    expect(p.actions.find((a) => a.id === 'd')?.reason).toMatch(
      /last used 9d ago; under pressure \(images total 10.0 kB, above 9000B\): least recently used first until 5000B/,
    );
  });

  it('one byte further needs the next least recently used image too', () => {
    const p = run([budget('9000B', '4999B')], snap(images, lastUse));
    expect(ids(p).sort()).toEqual(['a', 'c', 'd']);
    expect(p.pressure?.[0]).toMatchObject({ predictedAfter: 2000, selected: 3, spared: 1, reached: true });
  });

  it('without until, removes down to the when threshold', () => {
    const p = run([budget('8000B')], snap(images, lastUse));
    expect(ids(p)).toEqual(['d']);
    expect(p.pressure?.[0]).toMatchObject({ target: 8000, predictedAfter: 6000 });
  });

  it('does nothing at all when the condition does not hold, and later policies still look at every image', () => {
    const p = run(
      [budget('10000B', '1000B'), { name: 'rest', resource: 'image', match: { repositories: ['ci/a'] } }],
      snap(images, lastUse),
    );
    expect(p.actions.map((a) => `${a.id}:${a.policy}`)).toEqual(['a:rest']);
    expect(p.pressure?.[0]).toMatchObject({ state: 'idle', before: 10_000, selected: 0, reached: true });
  });

  it('breaks ties in last use by image ID, whatever the listing order', () => {
    const same = { a: ago(3), b: ago(3), c: ago(3), d: ago(3) };
    for (const seed of [1, 2, 3]) {
      const p = run([budget('9000B')], snap(shuffled(images, seed), same));
      expect(ids(p)).toEqual(['a']);
    }
  });

  it('counts shared layers as the engine frees them: an image whose layers others hold frees less', () => {
    const shared = ['S', 5000] as const;
    const x = image({ id: 'x', tags: ['ci/x:1'], layers: [shared, ['Tx', 100]] });
    const y = image({ id: 'y', tags: ['ci/y:1'], layers: [shared, ['Ty', 100]] });
    const z = alone('z', 3000);
    // Total 8200; target 5000 needs 3200. x alone frees only 100 (y still holds S), so y must go too.
    const p = run([budget('8000B', '5000B')], snap([x, y, z], { x: ago(9), y: ago(8), z: ago(1) }));
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['x', 100],
      ['y', 5100],
    ]);
    expect(p.pressure?.[0]).toMatchObject({ before: 8200, predictedAfter: 3000, selected: 2, spared: 1 });
  });

  it('takes a parent passed over for its child as soon as the child is taken, before newer images', () => {
    const parent = image({ id: 'p', tags: ['ci/p:1'], layers: [['Lp', 1000]] });
    const child = image({ id: 'c', tags: ['ci/c:1'], parent, layers: [['Lc', 500]] });
    const x = alone('x', 3000);
    // Total 4500, target 3000: the parent (least recently used) must wait for its child; then
    // child (500) and parent (1000) are exactly enough, and x, used most recently, is spared.
    const p = run([budget('4000B', '3000B')], snap([x, child, parent], { p: ago(9), c: ago(5), x: ago(1) }));
    expect(p.actions.map((a) => [a.id, a.bytes])).toEqual([
      ['c', 500],
      ['p', 1000],
    ]);
    expect(p.pressure?.[0]).toMatchObject({ predictedAfter: 3000, selected: 2, spared: 1, reached: true });
  });

  it('falls back to creation time when no last-use record exists, and says so', () => {
    const old = alone('old', 1000, ago(50));
    const fresh = alone('fresh', 1000, ago(2));
    const p = run([budget('1500B', '1000B')], snap([fresh, old]));
    expect(ids(p)).toEqual(['old']);
    expect(p.actions[0]?.reason).toMatch(/no last-use record, so ordered by creation \(created 50d ago\)/);
  });

  it('credits what earlier policies free first, and takes only the rest', () => {
    const p = run(
      [{ name: 'first', resource: 'image', match: { repositories: ['ci/c'] } }, budget('9000B', '5000B')],
      snap(images, lastUse),
    );
    // c (3000) goes anyway; the budget then needs 2000 more: d (least recently used) gives 4000.
    expect(p.actions.map((a) => `${a.id}:${a.policy}`)).toEqual(['c:first', 'd:budget']);
    expect(p.pressure?.[0]).toMatchObject({ freedEarlier: 3000, freed: 4000, predictedAfter: 3000 });
  });

  it('never takes an image in use or kept, and reports when the target cannot be reached', () => {
    const used = alone('used', 50_000);
    const p = run(
      [budget('1000B', undefined, { keep: { tags: ['keepme'] } } as Partial<Policy>)],
      snap(
        [used, alone('a', 1000), image({ id: 'k', tags: ['ci/k:keepme'], layers: [['Lk', 9000]] })],
        { used: ago(99), a: ago(5), k: ago(50) },
        { containers: [container({ name: 'svc', state: 'running', image: used })] },
      ),
    );
    expect(ids(p)).toEqual(['a']);
    expect(p.kept.map((k) => k.id).sort()).toEqual(['k', 'used']);
    expect(p.pressure?.[0]).toMatchObject({ before: 60_000, predictedAfter: 59_000, reached: false });
  });

  it('under report, selects the same images but removes none', () => {
    const p = run([budget('9000B', '5000B', { action: 'report' })], snap(images, lastUse));
    expect(p.actions).toEqual([]);
    expect(p.reported.map((a) => a.id).sort()).toEqual(['a', 'd']);
  });
});

describe('pressure by disk usage', () => {
  const images = [alone('a', 15_000), alone('b', 10_000), alone('c', 8_000)];
  const lastUse = { a: ago(3), b: ago(2), c: ago(1) };
  const policy: Policy = {
    name: 'disk',
    resource: 'image',
    match: {},
    when: { diskUsageAbove: '85%' },
    until: { diskUsageBelow: '70%' },
  } as Policy;

  it('removes until the file system is predicted at or below the until level', () => {
    const p = run([policy], snap(images, lastUse), { total: 100_000, used: 90_000 });
    expect(ids(p)).toEqual(['a', 'b']);
    expect(p.pressure).toEqual([
      {
        policy: 'disk',
        measure: 'diskUsage',
        state: 'active',
        when: '85%',
        until: '70%',
        before: 90_000,
        capacity: 100_000,
        target: 70_000,
        freedEarlier: 0,
        freed: 25_000,
        predictedAfter: 65_000,
        selected: 2,
        spared: 1,
        reached: true,
      },
    ]);
  });

  it('does nothing at or below the when level (strictly above triggers)', () => {
    const p = run([policy], snap(images, lastUse), { total: 100_000, used: 85_000 });
    expect(p.actions).toEqual([]);
    expect(p.pressure?.[0]).toMatchObject({ state: 'idle' });
  });

  it('never removes on an unknown disk: the policy is skipped and says so', () => {
    const p = run(
      [policy, { name: 'rest', resource: 'image', match: { repositories: ['ci/c'] } }],
      snap(images, lastUse),
      undefined,
    );
    expect(p.actions.map((a) => `${a.id}:${a.policy}`)).toEqual(['c:rest']);
    expect(p.pressure?.[0]).toMatchObject({
      state: 'unknown',
      before: null,
      target: null,
      selected: 0,
      reached: false,
    });
  });

  it('a plan without pressure policies carries no pressure summary', () => {
    const p = run([{ name: 'all', resource: 'image', match: {} }], snap(images), { total: 1, used: 1 });
    expect(p.pressure).toBeUndefined();
  });
});

describe('pressure configuration', () => {
  it('reads pressure.path and pressure.interval, with a 30s default', async () => {
    const { checkConfigText, resolveConfig } = await import('../../src/core/config/config.js');
    const check = (text: string) => checkConfigText({ file: 'config.yaml', text });
    const plain = check('policies: [ p.yaml ]\n');
    if (!plain.ok) throw new Error('rejected');
    const resolved = resolveConfig('config.yaml', plain.value, []);
    expect(resolved.ok && resolved.value.pressure).toEqual({ path: undefined, intervalMs: 30_000 });
    const set = check('policies: [ p.yaml ]\npressure: { path: /host/docker, interval: 1m }\n');
    if (!set.ok) throw new Error('rejected');
    const r = resolveConfig('config.yaml', set.value, []);
    expect(r.ok && r.value.pressure).toEqual({ path: '/host/docker', intervalMs: 60_000 });
    const long = check('policies: [ p.yaml ]\npressure: { interval: 2d }\n');
    expect(long.ok ? [] : long.problems.map((p) => `${p.line}:${p.col} ${p.where} ${p.message}`)).toEqual([
      '2:23 /pressure/interval expected a duration of at most 1d, got "2d"',
    ]);
    const relative = check('policies: [ p.yaml ]\npressure: { path: var/lib/docker }\n');
    expect(relative.ok).toBe(false);
  });
});
