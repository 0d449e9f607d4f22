// What keeps a matching image: keep.tags, keep.labels, keep.newest, global protection and use
// by a container. Each rule is pinned with its exact reason, since `kept` is what people read
// to learn why something was not cleaned.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import { ago, config, container, image, names, planAt } from '../support/builders.js';

const stale: Policy = { name: 'stale', resource: 'image', match: { olderThan: '30d' } };

describe('keep.tags and keep.labels', () => {
  const cfg = config({ policies: [{ ...stale, keep: { tags: ['v*', 'latest'], labels: ['pin', 'tier=gold'] } }] });

  it.each([
    [['app:v1'], {}, 'keep.tags matches app:v1'],
    // Any tag matching is enough (unlike match.tags, where every tag must match).
    [['app:pr-1', 'app:latest'], {}, 'keep.tags matches app:latest'],
    [['app:pr-1'], { tier: 'gold' }, 'keep.labels "tier=gold"'],
    [['app:pr-1'], { pin: '', tier: 'gold' }, 'keep.labels "pin"'],
  ])('%j with labels %j is kept: %s', (tags, labels, reason) => {
    const p = planAt(cfg, { images: [image({ id: 'i', tags, labels, created: ago(60) })] });
    expect(p.actions).toEqual([]);
    expect(p.kept).toEqual([{ resource: 'image', id: 'i', name: tags[0], policy: 'stale', reason }]);
  });

  it('an image no keep rule covers is selected', () => {
    const p = planAt(cfg, {
      images: [image({ id: 'i', tags: ['app:pr-1'], labels: { tier: 'silver' }, created: ago(60) })],
    });
    expect(p.actions.map((a) => a.id)).toEqual(['i']);
  });

  it('an image the match does not cover is neither selected nor kept', () => {
    const p = planAt(cfg, { images: [image({ id: 'i', tags: ['app:v1'], created: ago(1) })] });
    expect([p.actions, p.kept]).toEqual([[], []]);
  });
});

describe('keep.newest', () => {
  const ci = (id: string, tag: string, days: number, extra: string[] = []) =>
    image({ id, tags: [`ci/app:${tag}`, ...extra], created: ago(days) });

  it('keeps the N newest per repository among images the filters match, whatever their age', () => {
    // The two newest of ci/app are too young to match olderThan, yet they fill keep.newest:
    // so every old image goes, instead of keeping two old ones on top of the young ones.
    const images = [
      ci('a', '1', 90),
      ci('b', '2', 60),
      ci('c', '3', 5),
      ci('d', '4', 1),
      image({ id: 'w', tags: ['ci/web:1'], created: ago(90) }),
    ];
    const cfg = config({
      policies: [
        { name: 'ci', resource: 'image', match: { repositories: ['ci/*'], olderThan: '30d' }, keep: { newest: 2 } },
      ],
    });
    const p = planAt(cfg, { images });
    expect(p.actions.map((a) => a.id)).toEqual(['a', 'b']);
    // ci/web has only one image, and it is its newest.
    expect(p.kept).toEqual([
      {
        resource: 'image',
        id: 'w',
        name: 'ci/web:1',
        policy: 'ci',
        reason: 'among the 2 newest of its repository (keep.newest)',
      },
    ]);
  });

  it('only images the repository, tag and label filters match count', () => {
    // `main` is newer but not a pr-* tag, so it does not use up the one slot.
    const images = [ci('a', 'pr-1', 90), ci('b', 'pr-2', 60), ci('m', 'main', 1)];
    const cfg = config({
      policies: [{ name: 'ci', resource: 'image', match: { tags: ['pr-*'], olderThan: '30d' }, keep: { newest: 1 } }],
    });
    const p = planAt(cfg, { images });
    expect(p.actions.map((a) => a.id)).toEqual(['a']);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([['b', 'among the 1 newest of its repository (keep.newest)']]);
  });

  it('breaks ties on creation time by image ID, whatever the listing order', () => {
    const cfg = config({
      policies: [{ name: 'ci', resource: 'image', match: { olderThan: '30d' }, keep: { newest: 1 } }],
    });
    for (const images of [
      [ci('y', '1', 40), ci('x', '2', 40)],
      [ci('x', '2', 40), ci('y', '1', 40)],
    ]) {
      const p = planAt(cfg, { images });
      expect(p.actions.map((a) => a.id)).toEqual(['y']);
      expect(p.kept.map((k) => k.id)).toEqual(['x']);
    }
  });

  it('counts per repository: an image tagged in two repositories counts in both', () => {
    const images = [
      ci('old', '1', 90),
      ci('both', '2', 60, ['qa/app:2']),
      image({ id: 'qa', tags: ['qa/app:1'], created: ago(70) }),
    ];
    const cfg = config({
      policies: [{ name: 'all', resource: 'image', match: { olderThan: '30d' }, keep: { newest: 1 } }],
    });
    const p = planAt(cfg, { images });
    // `both` is the newest of ci/app and of qa/app, so qa:1 is not among the newest of qa/app.
    expect(p.actions.map((a) => a.id)).toEqual(['old', 'qa']);
  });

  it('images an earlier policy already selected do not count towards N', () => {
    const images = [ci('a', '1', 90), ci('b', '2', 60), ci('c', 'exp-3', 40)];
    const cfg = config({
      policies: [
        { name: 'experiments', resource: 'image', match: { tags: ['exp-*'] } },
        { name: 'ci', resource: 'image', match: { olderThan: '30d' }, keep: { newest: 1 } },
      ],
    });
    const p = planAt(cfg, { images });
    // c goes with `experiments`, so b is the newest that remains and keeps its slot.
    expect(p.actions.map((a) => [a.id, a.policy])).toEqual([
      ['a', 'ci'],
      ['c', 'experiments'],
    ]);
    expect(p.kept.map((k) => k.id)).toEqual(['b']);
  });

  it('newest: 0 keeps nothing', () => {
    const cfg = config({
      policies: [{ name: 'ci', resource: 'image', match: { olderThan: '30d' }, keep: { newest: 0 } }],
    });
    expect(planAt(cfg, { images: [ci('a', '1', 90)] }).actions.map((a) => a.id)).toEqual(['a']);
  });
});

describe('global protection beats every policy', () => {
  const policies: Policy[] = [
    { name: 'first', resource: 'image', match: { olderThan: '30d' } },
    { name: 'second', resource: 'image', match: {} },
  ];
  const cfg = config({ policies, protect: { labels: ['com.example.keep'], repositories: ['prod/**', 'base'] } });

  it.each([
    [{ tags: ['ci/app:1'], labels: { 'com.example.keep': 'yes' } }, 'protected by protect.labels "com.example.keep"'],
    [{ tags: ['ci/app:1', 'prod/eu/app:1'], labels: {} }, 'protected by protect.repositories "prod/**" (prod/eu/app)'],
    [{ tags: ['base:22.04'], labels: {} }, 'protected by protect.repositories "base"'],
    [{ tags: [], labels: { 'com.example.keep': '' } }, 'protected by protect.labels "com.example.keep"'],
  ])('%j', (spec, reason) => {
    const p = planAt(cfg, { images: [image({ id: 'i', ...spec, created: ago(60) })] });
    expect(p.actions).toEqual([]);
    // Kept once, with the first policy that matched it.
    expect(p.kept.map((k) => [k.id, k.policy, k.reason])).toEqual([['i', 'first', reason]]);
  });

  it('protection wins over keep rules in the reason', () => {
    const c = config({ policies: [{ ...stale, keep: { tags: ['*'] } }], protect: { repositories: ['app'] } });
    const p = planAt(c, { images: [image({ id: 'i', tags: ['app:1'], created: ago(60) })] });
    expect(p.kept.map((k) => k.reason)).toEqual(['protected by protect.repositories "app"']);
  });
});

describe('images used by containers', () => {
  const img = image({ id: 'i', tags: ['app:1'], created: ago(60) });

  it.each(['running', 'paused', 'exited', 'created', 'dead'])(
    'an image a %s container uses is kept, naming it',
    (state) => {
      const p = planAt(config({ policies: [stale] }), {
        images: [img],
        containers: [container({ name: 'web', state, image: img })],
      });
      expect(p.actions).toEqual([]);
      expect(p.kept).toEqual([
        { resource: 'image', id: 'i', name: 'app:1', policy: 'stale', reason: `in use by container web (${state})` },
      ]);
    },
  );

  it('an image whose only container this plan removes is selected, after the container', () => {
    // The container policy comes after the image policy in the file: containers are planned first anyway.
    const cfg = config({ policies: [stale, { name: 'ctr', resource: 'container', match: { status: ['exited'] } }] });
    const p = planAt(cfg, { images: [img], containers: [container({ name: 'old', image: img })] });
    expect(names(p.actions)).toEqual(['container:old', 'image:app:1']);
    expect(p.kept).toEqual([]);
  });

  it('one remaining container is enough to keep it', () => {
    const cfg = config({ policies: [{ name: 'ctr', resource: 'container', match: { status: ['exited'] } }, stale] });
    const p = planAt(cfg, {
      images: [img],
      containers: [container({ name: 'old', image: img }), container({ name: 'live', state: 'running', image: img })],
    });
    expect(names(p.actions)).toEqual(['container:old']);
    expect(p.kept.map((k) => k.reason)).toEqual(['in use by container live (running)']);
  });

  it('a container a report-only policy selects stays, so its image stays too', () => {
    const cfg = config({ policies: [{ name: 'ctr', resource: 'container', action: 'report', match: {} }, stale] });
    const p = planAt(cfg, { images: [img], containers: [container({ name: 'old', image: img })] });
    expect(p.actions).toEqual([]);
    expect(names(p.reported)).toEqual(['container:old']);
    expect(p.kept.map((k) => k.reason)).toEqual(['in use by container old (exited)']);
  });
});
