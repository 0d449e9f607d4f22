// Image policy matching: dangling, age, repository/tag globs (every tag must match) and labels.
// Each rule is data in, exact selection and reason out.
import { describe, expect, it } from 'vitest';
import type { ImagePolicy } from '../../src/core/config/schema.js';
import { SECOND, ago, config, image, names, planAt } from '../support/builders.js';

const policy = (match: ImagePolicy['match']): ImagePolicy => ({ name: 'imgs', resource: 'image', match });

describe('dangling', () => {
  const tagged = image({ id: 't', tags: ['app:1'] });
  const dangling = image({ id: 'd' });
  // An untagged image with a child is an intermediate layer of a build, not dangling.
  const parent = image({ id: 'p' });
  const child = image({ id: 'k', parent, tags: ['child:1'] });

  it('dangling: true selects only untagged images without children', () => {
    const p = planAt(config({ policies: [policy({ dangling: true })] }), { images: [tagged, dangling, parent, child] });
    expect(p.actions).toEqual([
      {
        resource: 'image',
        id: 'd',
        name: '<none>@d',
        policy: 'imgs',
        reason: 'dangling',
        bytes: 0,
        tags: [],
        digests: [],
      },
    ]);
    expect(p.kept).toEqual([]);
  });

  it('dangling: false selects tagged images and never dangling ones', () => {
    const p = planAt(config({ policies: [policy({ dangling: false })] }), { images: [tagged, dangling] });
    expect(p.actions.map((a) => [a.id, a.reason])).toEqual([['t', 'tagged']]);
  });
});

describe('olderThan', () => {
  // Age counts from `created` (build time) and the boundary is inclusive.
  it.each([
    [ago(30), true],
    [ago(30) + SECOND, false],
    [ago(400), true],
    [ago(0), false],
  ])('created %d, olderThan 30d → selected %s', (created, selected) => {
    const p = planAt(config({ policies: [policy({ olderThan: '30d' })] }), {
      images: [image({ id: 'i', tags: ['app:1'], created })],
    });
    expect(p.actions.map((a) => a.id)).toEqual(selected ? ['i'] : []);
  });

  it('says how old the image is', () => {
    const p = planAt(config({ policies: [policy({ olderThan: '30d' })] }), {
      images: [image({ id: 'i', tags: ['app:1'], created: ago(45.5) })],
    });
    expect(p.actions[0]?.reason).toBe('created 45d 12h ago (olderThan 30d)');
  });
});

describe('repositories and tags: every tag must match', () => {
  it.each<[string, readonly string[], ImagePolicy['match'], boolean]>([
    ['one matching tag', ['ci/app:pr-1'], { repositories: ['ci/**'] }, true],
    ['repository elsewhere', ['prod/app:1'], { repositories: ['ci/**'] }, false],
    // Removing the image removes every name it has, so one foreign name protects it.
    ['also tagged in another repository', ['ci/app:pr-1', 'prod/app:1'], { repositories: ['ci/**'] }, false],
    ['two tags, both in matching repositories', ['ci/app:pr-1', 'ci/web:pr-1'], { repositories: ['ci/**'] }, true],
    ['two repositories, two globs', ['ci/app:1', 'qa/app:1'], { repositories: ['ci/**', 'qa/*'] }, true],
    ['untagged never matches a repository glob', [], { repositories: ['**'] }, false],
    ['untagged never matches a tag glob', [], { tags: ['*'] }, false],
    ['tag glob matches', ['app:pr-7'], { tags: ['pr-*'] }, true],
    ['one tag fails the tag glob', ['app:pr-7', 'app:latest'], { tags: ['pr-*'] }, false],
    [
      'repository and tag both checked per tag',
      ['ci/app:pr-1', 'ci/app:main'],
      { repositories: ['ci/*'], tags: ['pr-*'] },
      false,
    ],
    [
      'registry with a port is part of the repository',
      ['reg:5000/ci/app:pr-1'],
      { repositories: ['reg:5000/ci/*'], tags: ['pr-*'] },
      true,
    ],
    ['the tag follows the last colon after the last slash', ['reg:5000/ci/app:pr-1'], { repositories: ['reg'] }, false],
    ['a reference without a tag is :latest', ['ci/app'], { tags: ['latest'] }, true],
  ])('%s', (_why, tags, match, selected) => {
    const p = planAt(config({ policies: [policy(match)] }), { images: [image({ id: 'i', tags })] });
    expect(p.actions.map((a) => a.id)).toEqual(selected ? ['i'] : []);
  });

  it('names the tags in the reason and records every tag, so one added later stops the removal', () => {
    const p = planAt(config({ policies: [policy({ repositories: ['ci/**'] })] }), {
      images: [image({ id: 'i', tags: ['ci/a:1', 'ci/a:2', 'ci/b:1'] })],
    });
    expect(p.actions).toEqual([
      {
        resource: 'image',
        id: 'i',
        name: 'ci/a:1',
        policy: 'imgs',
        reason: 'tags ci/a:1, ci/a:2, ci/b:1 match',
        bytes: 0,
        tags: ['ci/a:1', 'ci/a:2', 'ci/b:1'],
        digests: [],
      },
    ]);
  });
});

describe('labels', () => {
  it.each<[string, Record<string, string>, string[], boolean]>([
    ['key present', { team: 'ci' }, ['team'], true],
    ['key=value equal', { team: 'ci' }, ['team=ci'], true],
    ['key=value different', { team: 'qa' }, ['team=ci'], false],
    ['all must hold', { team: 'ci' }, ['team=ci', 'tier'], false],
    ['all hold', { team: 'ci', tier: 'x' }, ['team=ci', 'tier'], true],
    ['!key absent', {}, ['!keep'], true],
    ['!key present', { keep: '' }, ['!keep'], false],
  ])('%s', (_why, labels, selectors, selected) => {
    const p = planAt(config({ policies: [policy({ labels: selectors })] }), {
      images: [image({ id: 'i', tags: ['app:1'], labels })],
    });
    expect(p.actions.map((a) => a.id)).toEqual(selected ? ['i'] : []);
  });

  it('matches untagged images too, since labels say nothing about names', () => {
    const p = planAt(config({ policies: [policy({ labels: ['team=ci'] })] }), {
      images: [image({ id: 'u', labels: { team: 'ci' } })],
    });
    expect(p.actions.map((a) => [a.name, a.reason])).toEqual([['<none>@u', 'labels team=ci hold']]);
  });
});

describe('reasons', () => {
  it('list every condition that held, in a fixed order', () => {
    const match = { dangling: false, repositories: ['ci/*'], olderThan: '7d', labels: ['team=ci', '!keep'] };
    const p = planAt(config({ policies: [policy(match)] }), {
      images: [image({ id: 'i', tags: ['ci/app:1'], created: ago(8), labels: { team: 'ci' } })],
    });
    expect(p.actions[0]?.reason).toBe(
      'tagged, tags ci/app:1 match, created 8d ago (olderThan 7d), labels team=ci, !keep hold',
    );
  });

  it('an empty match selects every image, and says so', () => {
    const p = planAt(config({ policies: [policy({})] }), {
      images: [image({ id: 'b', tags: ['b:1'] }), image({ id: 'a' })],
    });
    expect(names(p.actions)).toEqual(['image:<none>@a', 'image:b:1']);
    expect(p.actions.map((a) => a.reason)).toEqual(['matches every image', 'matches every image']);
  });

  it('the short ID of an untagged image drops the sha256: prefix and keeps 12 hex', () => {
    const p = planAt(config({ policies: [policy({ dangling: true })] }), {
      images: [image({ id: 'sha256:0123456789abcdef0123' })],
    });
    expect(p.actions[0]?.name).toBe('<none>@0123456789ab');
  });
});
