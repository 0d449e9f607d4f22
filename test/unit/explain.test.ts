// `reclaimd explain` on builder snapshots: each policy's own view of one object, which policy
// decides (the first that matches), and the full plan's verdict.
import { describe, expect, it } from 'vitest';
import { explain, findObject, type Explanation, type Target } from '../../src/core/explain/explain.js';
import { explainText } from '../../src/cli/render-explain.js';
import type { Snapshot } from '../../src/core/model/snapshot.js';
import type { Policy } from '../../src/core/config/schema.js';
import {
  ago,
  anonName,
  config,
  container,
  image,
  NOW,
  snapshot,
  volume,
  type ConfigSpec,
} from '../support/builders.js';

const HEX = (c: string) => `sha256:${c.repeat(64)}`;
const pr1 = image({ id: HEX('a'), tags: ['ci/app:pr-1'], layers: [['L1', 1000]], created: ago(60) });
const prod = image({ id: HEX('b'), tags: ['prod/app:1'], layers: [['L2', 2000]], created: ago(60) });
const fresh = image({ id: HEX('c'), tags: ['ci/app:pr-9'], layers: [['L3', 3000]], created: ago(1) });

const stale: Policy = { name: 'stale-ci', resource: 'image', match: { repositories: ['ci/**'], olderThan: '30d' } };

function explainOf(spec: ConfigSpec, snap: Partial<Snapshot>, query: string): Explanation {
  // The builder's snapshot() predates last-use data, so usage is added here.
  const s: Snapshot = { ...snapshot(snap), ...(snap.usage ? { usage: snap.usage } : {}) };
  const found = findObject(s, query);
  if (!found.ok) throw new Error(`not found: ${query} (${found.reason})`);
  return explain(config(spec), s, NOW, found.target);
}

const views = (e: Explanation) => e.policies.map((p) => [p.policy, p.decision, p.reason, p.decides]);

describe('explain: images', () => {
  it('selected: the policy selects it, decides, and the plan removes it', () => {
    const e = explainOf({ policies: [stale] }, { images: [pr1, prod] }, 'ci/app:pr-1');
    expect(e).toMatchObject({
      resource: 'image',
      id: pr1.id,
      name: 'ci/app:pr-1',
      decidedBy: 'stale-ci',
      protectedBy: undefined,
      usedBy: [],
      lastUsed: null,
    });
    expect(views(e)).toEqual([['stale-ci', 'select', 'tags ci/app:pr-1 match, created 60d ago (olderThan 30d)', true]]);
    expect(e.verdict).toEqual({
      outcome: 'remove',
      policy: 'stale-ci',
      reason: 'tags ci/app:pr-1 match, created 60d ago (olderThan 30d)',
    });
    expect(e.policies[0]).toMatchObject({ file: 'policies.yaml', line: expect.any(Number) });
    expect(e.summary).toBe('tags ci/app:pr-1; no repository digest; created 60d ago; 1.00 kB');
  });

  it('kept by protection: the policy view and the verdict name the protection', () => {
    const guarded = image({ id: HEX('d'), tags: ['ci/app:pr-2'], labels: { 'reclaimd.keep': '' }, created: ago(60) });
    const e = explainOf(
      { policies: [stale], protect: { labels: ['reclaimd.keep'] } },
      { images: [guarded] },
      'ci/app:pr-2',
    );
    expect(e.protectedBy).toBe('protect.labels "reclaimd.keep"');
    expect(views(e)).toEqual([['stale-ci', 'keep', 'protected by protect.labels "reclaimd.keep"', true]]);
    expect(e.verdict).toEqual({
      outcome: 'keep',
      policy: 'stale-ci',
      reason: 'protected by protect.labels "reclaimd.keep"',
    });
  });

  it('kept by in-use: names the container; one the plan removes frees the image', () => {
    const web = container({ name: 'web', image: pr1, state: 'running' });
    const e = explainOf({ policies: [stale] }, { images: [pr1], containers: [web] }, 'ci/app:pr-1');
    expect(views(e)).toEqual([['stale-ci', 'keep', 'in use by container web (running)', true]]);
    expect(e.usedBy).toEqual([{ container: 'web', id: web.id, state: 'running', removedByPlan: false }]);
    expect(e.verdict.outcome).toBe('keep');

    const old = container({ name: 'old', image: pr1, state: 'exited', finishedAt: ago(10) });
    const ctrPolicy: Policy = { name: 'exited', resource: 'container', match: { stoppedFor: '1d' } };
    const freed = explainOf({ policies: [ctrPolicy, stale] }, { images: [pr1], containers: [old] }, pr1.id);
    expect(views(freed)).toEqual([['stale-ci', 'select', expect.any(String), true]]);
    expect(freed.usedBy).toEqual([{ container: 'old', id: old.id, state: 'exited', removedByPlan: true }]);
    expect(freed.verdict.outcome).toBe('remove');
  });

  it('no match: says which condition fails, and the verdict is that nothing matches', () => {
    const e = explainOf(
      { policies: [stale, { name: 'old-pr', resource: 'image', match: { tags: ['pr-*'], olderThan: '7d' } }] },
      { images: [prod, fresh] },
      'prod/app:1',
    );
    expect(views(e)).toEqual([
      ['stale-ci', 'no-match', 'tag prod/app:1 is not in a repository matching match.repositories', false],
      ['old-pr', 'no-match', 'tag prod/app:1 does not match match.tags', false],
    ]);
    expect(e.decidedBy).toBeUndefined();
    expect(e.verdict).toEqual({ outcome: 'none', policy: undefined, reason: 'no policy matches it, so it stays' });
    const young = explainOf({ policies: [stale] }, { images: [fresh] }, 'ci/app:pr-9');
    expect(views(young)).toEqual([['stale-ci', 'no-match', 'created 1d ago, not longer than olderThan 30d', false]]);
  });

  it('report-only: the policy reports, and the verdict says it is never removed', () => {
    const e = explainOf({ policies: [{ ...stale, action: 'report' }] }, { images: [pr1] }, 'ci/app:pr-1');
    expect(views(e)).toEqual([['stale-ci', 'report', expect.stringContaining('tags ci/app:pr-1 match'), true]]);
    expect(e.verdict).toMatchObject({ outcome: 'report', policy: 'stale-ci' });
  });

  it('decided by the first of two policies that match, whatever the second says', () => {
    const keeper: Policy = {
      name: 'keep-ci',
      resource: 'image',
      match: { repositories: ['ci/**'] },
      keep: { tags: ['pr-1'] },
    };
    const e = explainOf({ policies: [keeper, stale] }, { images: [pr1] }, 'ci/app:pr-1');
    expect(views(e)).toEqual([
      ['keep-ci', 'keep', 'keep.tags matches ci/app:pr-1', true],
      ['stale-ci', 'select', expect.any(String), false],
    ]);
    expect(e.decidedBy).toBe('keep-ci');
    expect(e.verdict).toMatchObject({ outcome: 'keep', policy: 'keep-ci' });

    const both = explainOf(
      {
        policies: [
          { ...stale, name: 'first' },
          { ...stale, name: 'second' },
        ],
      },
      { images: [pr1] },
      'ci/app:pr-1',
    );
    expect(both.policies.map((p) => [p.policy, p.decision, p.decides])).toEqual([
      ['first', 'select', true],
      ['second', 'select', false],
    ]);
    expect(both.verdict).toMatchObject({ outcome: 'remove', policy: 'first' });
  });

  it('kept because a child image stays, though its policy selects it', () => {
    const parent = image({ id: HEX('e'), tags: ['ci/base:1'], layers: [['P', 500]], created: ago(60) });
    const child = image({ id: HEX('f'), tags: ['prod/web:1'], parent, layers: [['C', 100]], created: ago(60) });
    const e = explainOf({ policies: [stale] }, { images: [parent, child] }, 'ci/base:1');
    expect(e.name).toBe('ci/base:1');
    expect(views(e)).toEqual([['stale-ci', 'keep', 'has a dependent child image prod/web:1 that stays', true]]);
    expect(e.verdict).toMatchObject({ outcome: 'keep', reason: 'has a dependent child image prod/web:1 that stays' });
  });

  it('shows the archive step and the last use when the snapshot has one', () => {
    const s = { images: [pr1], usage: { images: new Map([[pr1.id, ago(3)]]), volumes: new Map() } };
    const e = explainOf({ policies: [{ ...stale, archive: { dir: '/archive' } }] }, s, 'ci/app:pr-1');
    expect(e.verdict.archive).toEqual({ dir: '/archive', estimatedBytes: 1000 });
    expect(e.lastUsed).toBe(ago(3));
    const text = explainText(e, 'dry-run', NOW);
    expect(text).toMatch(/last used: 3d ago/);
    expect(text).toMatch(/stale-ci +policies\.yaml:\d+ +selects +tags ci\/app:pr-1 match.* <- decides/);
    expect(text).toMatch(
      /Verdict: would be removed in enforce mode \(mode: dry-run\) by stale-ci: .*; archived first to \/archive \(about .*, estimate\)$/m,
    );
  });
});

describe('explain: containers and volumes', () => {
  const ctrPolicy: Policy = {
    name: 'exited',
    resource: 'container',
    match: { stoppedFor: '1d' },
    removeAnonymousVolumes: true,
  };

  it('a running container matches no policy, and says why', () => {
    const web = container({ name: 'web', state: 'running' });
    const e = explainOf({ policies: [ctrPolicy] }, { containers: [web] }, 'web');
    expect(views(e)).toEqual([
      ['exited', 'no-match', 'is running; only exited, dead or created containers are ever removed', false],
    ]);
    expect(e.summary).toBe('running; image busybox:latest; created 30d ago');
    expect(e.verdict.outcome).toBe('none');
  });

  it('an anonymous volume of a removed container is decided by the container policy; a volume policy after it does not decide', () => {
    const anon = volume({ name: anonName('1') });
    const done = container({ name: 'done', state: 'exited', finishedAt: ago(3), volumes: [anon.name] });
    const volPolicy: Policy = { name: 'anon', resource: 'volume', match: { anonymous: true } };
    const e = explainOf({ policies: [ctrPolicy, volPolicy] }, { containers: [done], volumes: [anon] }, anon.name);
    expect(views(e)).toEqual([
      ['exited', 'select', 'anonymous volume of removed container done', true],
      ['anon', 'select', 'anonymous', false],
    ]);
    expect(e.usedBy).toEqual([{ container: 'done', id: done.id, state: 'exited', removedByPlan: true }]);
    expect(e.verdict).toMatchObject({ outcome: 'remove', policy: 'exited' });
  });

  it('a mounted volume is kept, and a named one does not match an anonymous-only policy', () => {
    const data = volume({ name: 'data' });
    const web = container({ name: 'web', state: 'running', volumes: ['data'] });
    const e = explainOf(
      {
        policies: [
          { name: 'all', resource: 'volume', match: {} },
          { name: 'anon', resource: 'volume', match: { anonymous: true } },
        ],
      },
      { containers: [web], volumes: [data] },
      'data',
    );
    expect(views(e)).toEqual([
      ['all', 'keep', 'mounted by container web (running)', true],
      ['anon', 'no-match', 'is a named volume (match.anonymous: true)', false],
    ]);
  });
});

describe('findObject', () => {
  const web = container({ name: 'web', id: 'deadbeef0001' });
  const s = snapshot({ images: [pr1, prod], containers: [web], volumes: [volume({ name: 'data' })] });
  const found = (q: string): string => {
    const r = findObject(s, q);
    if (!r.ok) return r.reason;
    const t: Target = r.target;
    return t.resource === 'image'
      ? `image:${t.image.id}`
      : t.resource === 'container'
        ? `container:${t.container.id}`
        : `volume:${t.volume.name}`;
  };

  it('finds images by ID, short ID, reference and name alone (as :latest)', () => {
    const latest = image({ id: HEX('9'), tags: ['tool:latest'] });
    const withLatest = snapshot({ images: [latest] });
    expect(found(pr1.id)).toBe(`image:${pr1.id}`);
    expect(found('a'.repeat(64))).toBe(`image:${pr1.id}`);
    expect(found('aaaaaaaaaaaa')).toBe(`image:${pr1.id}`);
    expect(found('ci/app:pr-1')).toBe(`image:${pr1.id}`);
    expect(findObject(withLatest, 'tool')).toMatchObject({ ok: true });
  });

  it('finds containers by name, /name and ID prefix, volumes by name; else not found or ambiguous', () => {
    expect(found('web')).toBe(`container:${web.id}`);
    expect(found('/web')).toBe(`container:${web.id}`);
    expect(found('deadbeef')).toBe(`container:${web.id}`);
    expect(found('data')).toBe('volume:data');
    expect(found('nothing-here')).toBe('not-found');
    const clash = snapshot({
      containers: [container({ name: 'x', id: 'abc1' })],
      images: [image({ id: 'sha256:abc2' })],
    });
    expect(findObject(clash, 'abc')).toEqual({
      ok: false,
      reason: 'ambiguous',
      candidates: ['image abc2', 'container x (abc1)'],
    });
  });
});
