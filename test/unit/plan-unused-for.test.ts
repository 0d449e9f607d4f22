// `match.unusedFor` for images and volumes: selected only when last use is known and long
// enough ago; unknown usage matches nothing; in-use objects are still never selected.
import { describe, expect, it } from 'vitest';
import type { ImagePolicy, VolumePolicy } from '../../src/core/config/schema.js';
import type { Snapshot, Usage } from '../../src/core/model/snapshot.js';
import { plan } from '../../src/core/planner/plan.js';
import { DAY, NOW, ago, config, container, image, snapshot, volume } from '../support/builders.js';

const imagePolicy = (match: ImagePolicy['match']): ImagePolicy => ({ name: 'idle', resource: 'image', match });
const volumePolicy = (match: VolumePolicy['match']): VolumePolicy => ({ name: 'idle', resource: 'volume', match });

function usage(images: Record<string, number>, volumes: Record<string, number> = {}, firstSeen: string[] = []): Usage {
  return {
    images: new Map(Object.entries(images)),
    volumes: new Map(Object.entries(volumes)),
    firstSeenOnly: { images: new Set(firstSeen), volumes: new Set(firstSeen) },
  };
}

const withUsage = (parts: Partial<Snapshot>, u: Usage | undefined): Snapshot => ({
  ...snapshot(parts),
  ...(u ? { usage: u } : {}),
});

describe('image unusedFor', () => {
  const img = image({ id: 'sha256:i1', tags: ['ci/app:1'], created: ago(730) });
  const run = (match: ImagePolicy['match'], u: Usage | undefined, parts: Partial<Snapshot> = {}) =>
    plan(config({ policies: [imagePolicy(match)] }), withUsage({ images: [img], ...parts }, u), NOW);

  it('selects an image last used long enough ago, and says when', () => {
    const p = run({ unusedFor: '14d' }, usage({ 'sha256:i1': ago(20) }));
    expect(p.actions.map((a) => [a.name, a.reason])).toEqual([['ci/app:1', 'last used 20d ago (unusedFor 14d)']]);
  });

  it('says so when the image was never seen in use', () => {
    const p = run({ unusedFor: '14d' }, usage({ 'sha256:i1': ago(20) }, {}, ['sha256:i1']));
    expect(p.actions.map((a) => a.reason)).toEqual(['never seen in use; first seen 20d ago (unusedFor 14d)']);
  });

  it('adds its reason to the other conditions', () => {
    const p = run({ olderThan: '30d', unusedFor: '14d' }, usage({ 'sha256:i1': ago(20) }));
    expect(p.actions.map((a) => a.reason)).toEqual([
      'created 730d ago (olderThan 30d), last used 20d ago (unusedFor 14d)',
    ]);
  });

  it.each<[string, Usage | undefined]>([
    ['used too recently', usage({ 'sha256:i1': ago(13) })],
    ['a second short', usage({ 'sha256:i1': NOW - 14 * DAY + 1000 })],
    ['last use unknown (no state directory)', undefined],
    ['no entry for the image', usage({ 'sha256:other': ago(100) })],
  ])('does not select when %s', (_why, u) => {
    expect(run({ unusedFor: '14d' }, u).actions).toEqual([]);
  });

  it('selects exactly at the boundary', () => {
    expect(run({ unusedFor: '14d' }, usage({ 'sha256:i1': ago(14) })).actions).toHaveLength(1);
  });

  it('a freshly loaded image built two years ago is not unused for a day', () => {
    // First seen now: its build date does not count.
    expect(run({ unusedFor: '1d' }, usage({ 'sha256:i1': NOW }, {}, ['sha256:i1'])).actions).toEqual([]);
    expect(run({ olderThan: '1d' }, usage({ 'sha256:i1': NOW }, {}, ['sha256:i1'])).actions).toHaveLength(1);
  });

  it('never selects an image a container uses, whatever its recorded last use', () => {
    const p = run({ unusedFor: '14d' }, usage({ 'sha256:i1': ago(100) }), {
      containers: [container({ name: 'web', image: img, state: 'exited' })],
    });
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => k.reason)).toEqual(['in use by container web (exited)']);
  });

  it('is ignored by policies without it', () => {
    expect(run({ olderThan: '1d' }, undefined).actions).toHaveLength(1);
  });
});

describe('volume unusedFor', () => {
  const run = (match: VolumePolicy['match'], u: Usage | undefined, parts: Partial<Snapshot> = {}) =>
    plan(
      config({ policies: [volumePolicy(match)] }),
      withUsage({ volumes: [volume({ name: 'data' })], ...parts }, u),
      NOW,
    );

  it('selects a volume last mounted long enough ago', () => {
    expect(run({ unusedFor: '7d' }, usage({}, { data: ago(8) })).actions.map((a) => a.reason)).toEqual([
      'last used 8d ago (unusedFor 7d)',
    ]);
  });

  it('says so when the volume was never seen mounted', () => {
    expect(run({ unusedFor: '7d' }, usage({}, { data: ago(8) }, ['data'])).actions.map((a) => a.reason)).toEqual([
      'never seen in use; first seen 8d ago (unusedFor 7d)',
    ]);
  });

  it.each<[string, Usage | undefined]>([
    ['mounted too recently', usage({}, { data: ago(6) })],
    ['last use unknown', undefined],
    ['no entry', usage({}, {})],
  ])('does not select when %s', (_why, u) => {
    expect(run({ unusedFor: '7d' }, u).actions).toEqual([]);
  });

  it('never selects a mounted volume', () => {
    const p = run({ unusedFor: '7d' }, usage({}, { data: ago(30) }), {
      containers: [container({ name: 'db', volumes: ['data'], state: 'exited' })],
    });
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => k.reason)).toEqual(['mounted by container db (exited)']);
  });
});
