// What a cycle that removes nothing says it would remove: in dry-run, one `would remove` line
// per planned removal, with the fields of enforce's `removed` line (policy, resource, name, id,
// bytes or null, reason), so an operator can grep the dry-run before switching to enforce; a
// blocked plan says so in either mode. And the removals in flight, as shutdown asks for them.
import { describe, expect, it } from 'vitest';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, config, container, image, NOW, volume } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';
import type { Policy } from '../../src/core/config/schema.js';

const images = [
  image({ id: 'sha256:aaa', tags: ['ci/app:1'], created: ago(30), layers: [['La', 1000]] }),
  image({ id: 'sha256:bbb', tags: ['ci/app:2'], created: ago(20), layers: [['Lb', 2000]] }),
  image({ id: 'sha256:ccc', tags: ['ci/app:3'], created: ago(1), layers: [['Lc', 3000]] }),
];
const policies: Policy[] = [
  { name: 'old-ci', resource: 'image', match: { repositories: ['ci/**'], olderThan: '7d' } },
  { name: 'idle-vols', resource: 'volume', match: { names: ['scratch-*'] } },
];

function engine(): FakeEngine {
  return new FakeEngine({ images, volumes: [volume({ name: 'scratch-1' })] });
}

describe('a dry-run cycle', () => {
  it('logs each removal enforce would make, in the form enforce logs its removals, and removes nothing', async () => {
    const e = engine();
    // The engine's disk-usage walk fails: the volume's bytes are unknown.
    e.measureVolumes = () => Promise.reject(Object.assign(new Error('walk failed'), { kind: 'failed' }));
    const { log, lines } = captureLog();
    const report = await runCycle(e, config({ policies }), { mode: 'dry-run', now: NOW }, log);
    expect(report.removed).toEqual([]);
    expect(e.images.size).toBe(3);
    const would = lines.filter((l) => l['msg'] === 'would remove');
    expect(would.map((l) => [l['resource'], l['policy'], l['name'], l['id'], l['bytes']])).toEqual([
      ['image', 'old-ci', 'ci/app:1', 'sha256:aaa', 1000],
      ['image', 'old-ci', 'ci/app:2', 'sha256:bbb', 2000],
      // Unknown bytes are null, never a made-up 0.
      ['volume', 'idle-vols', 'scratch-1', 'scratch-1', null],
    ]);
    expect(would[0]?.['reason']).toMatch(/created 30d ago/);
    expect(would.map((l) => l['reason'])).toEqual(report.plan.actions.map((a) => a.reason));
    expect(would.every((l) => l['level'] === 30)).toBe(true);
  });

  it('says a blocked plan would remove nothing, and lists no removal', async () => {
    const { log, lines } = captureLog();
    const cfg = config({ policies, limits: { maxRemovalsPerRun: 1 } });
    await runCycle(engine(), cfg, { mode: 'dry-run', now: NOW }, log);
    expect(lines.filter((l) => l['msg'] === 'would remove')).toEqual([]);
    const blocked = lines.find((l) => l['msg'] === 'plan blocked by limits; enforce would remove nothing');
    expect(blocked).toMatchObject({ count: 3, limit: 1, byPolicy: { 'old-ci': 2, 'idle-vols': 1 } });
  });

  it('an enforce cycle logs no "would remove" line, and tells when each removal starts and ends', async () => {
    const e = engine();
    const { log, lines } = captureLog();
    let inFlight = 0;
    const seen: number[] = [];
    e.beforeRemoval = () => seen.push(inFlight);
    const report = await runCycle(
      e,
      config({ policies }),
      { mode: 'enforce', now: NOW, inFlight: (change) => (inFlight += change) },
      log,
    );
    expect(report.removed).toHaveLength(3);
    expect(lines.filter((l) => l['msg'] === 'would remove')).toEqual([]);
    expect(lines.filter((l) => l['msg'] === 'removed')).toHaveLength(3);
    // Each removal was counted as in flight while the engine carried it out, and none is left over.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.every((n) => n >= 1)).toBe(true);
    expect(inFlight).toBe(0);
  });
});

describe('a dry-run cycle that selects nothing', () => {
  it('logs no removal line', async () => {
    const { log, lines } = captureLog();
    const e = new FakeEngine({
      images: images.slice(2),
      containers: [container({ name: 'web', imageId: 'sha256:ccc', state: 'running' })],
    });
    const report = await runCycle(e, config({ policies }), { mode: 'dry-run', now: NOW }, log);
    expect(report.plan.actions).toEqual([]);
    expect(lines.filter((l) => l['msg'] === 'would remove' || /blocked/.test(String(l['msg'])))).toEqual([]);
  });
});
