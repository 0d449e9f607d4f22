// What is deployed counts as in use: images named by swarm services (by tag, by digest, in
// the long docker.io form, by ID) and every image of a Compose project that still has a
// container, even one whose container this plan removes. Both can be turned off.
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/config/schema.js';
import { referenceMatcher } from '../../src/core/planner/resources/deployed.js';
import { parseReference } from '../../src/lib/reference.js';
import { ago, config, container, image, planAt, shuffled } from '../support/builders.js';

const stale: Policy = { name: 'stale', resource: 'image', match: { olderThan: '30d' } };
const exited: Policy = { name: 'exited', resource: 'container', match: { status: ['exited'] } };
const PROJECT = 'com.docker.compose.project';
const D1 = `sha256:${'d'.repeat(64)}`;
const ID1 = `sha256:${'1'.repeat(64)}`;

describe('parseReference', () => {
  it.each<[string, string, string | undefined, string | undefined]>([
    ['busybox', 'busybox', 'latest', undefined],
    ['busybox:1.36', 'busybox', '1.36', undefined],
    ['docker.io/library/busybox:1.36', 'busybox', '1.36', undefined],
    ['index.docker.io/library/busybox', 'busybox', 'latest', undefined],
    ['docker.io/bitnami/redis:7', 'bitnami/redis', '7', undefined],
    // library/ is only shortened on Docker Hub, and only for one-segment names.
    ['registry:5000/library/app:1', 'registry:5000/library/app', '1', undefined],
    [`app:1@${D1}`, 'app', '1', D1],
    [`registry:5000/ci/app@${D1}`, 'registry:5000/ci/app', undefined, D1],
  ])('%s', (ref, repository, tag, digest) => {
    expect(parseReference(ref)).toEqual({ repository, tag, digest });
  });
});

describe('referenceMatcher', () => {
  const a = image({ id: ID1, tags: ['app:1', 'registry:5000/ci/app:2'], digests: [`app@${D1}`] });
  const b = image({ id: 'sha256:b', tags: ['app:latest'] });
  const named = referenceMatcher([a, b]);
  it.each<[string, string[]]>([
    ['app:1', [ID1]],
    ['docker.io/library/app:1', [ID1]],
    ['app', ['sha256:b']],
    ['registry:5000/ci/app:2', [ID1]],
    [`app@${D1}`, [ID1]],
    // The tag names b, the digest names a: both are in use.
    [`app:latest@${D1}`, ['sha256:b', ID1]],
    [`other@${D1}`, []],
    [ID1, [ID1]],
    ['1'.repeat(64), [ID1]],
    ['app:2', []],
  ])('%s → %j', (ref, ids) => {
    expect(named(ref)).toEqual(ids);
  });
});

describe('swarm services', () => {
  const web = image({ id: 'web', tags: ['web:1'], digests: [`web@${D1}`], created: ago(60) });
  const other = image({ id: 'other', tags: ['web:0'], created: ago(60) });

  it.each([
    ['by tag', 'web:1'],
    ['by digest, as the CLI pins it', `web:1@${D1}`],
    ['by digest alone', `web@${D1}`],
    ['in the long form', 'docker.io/library/web:1'],
  ])('an image a service names %s is kept, even with no task running', (_why, reference) => {
    const p = planAt(config({ policies: [stale] }), {
      images: [web, other],
      serviceImages: [{ service: 'shop_web', reference }],
    });
    expect(p.actions.map((a) => a.id)).toEqual(['other']);
    expect(p.kept).toEqual([
      { resource: 'image', id: 'web', name: 'web:1', policy: 'stale', reason: 'in use by swarm service shop_web' },
    ]);
  });

  it('the first service by name is named, whatever the order they were listed in', () => {
    const services = [
      { service: 'z', reference: 'web:1' },
      { service: 'a', reference: 'web:1' },
      { service: 'm', reference: `web@${D1}` },
    ];
    for (let seed = 1; seed <= 5; seed++) {
      expect(
        planAt(config({ policies: [stale] }), { images: [web], serviceImages: shuffled(services, seed) }).kept.map(
          (k) => k.reason,
        ),
      ).toEqual(['in use by swarm service a']);
    }
  });

  it('inUse.swarmServices: false turns it off', () => {
    const p = planAt(config({ policies: [stale], inUse: { swarmServices: false } }), {
      images: [web],
      serviceImages: [{ service: 's', reference: 'web:1' }],
    });
    expect(p.actions.map((a) => a.id)).toEqual(['web']);
  });

  it('global protection still gives its own reason first', () => {
    const p = planAt(config({ policies: [stale], protect: { repositories: ['web'] } }), {
      images: [web],
      serviceImages: [{ service: 's', reference: 'web:1' }],
    });
    expect(p.kept.map((k) => k.reason)).toEqual(['protected by protect.repositories "web"']);
  });
});

describe('compose projects', () => {
  const web = image({ id: 'web', tags: ['shop/web:1'], created: ago(60) });
  const db = image({ id: 'db', tags: ['postgres:16'], created: ago(60) });
  const loose = image({ id: 'loose', tags: ['tool:1'], created: ago(60) });
  const inProject = (name: string, img: typeof web, state = 'exited', project = 'shop') =>
    container({ name, image: img, state, labels: { [PROJECT]: project } });

  it('every image of a project that still has a container stays, even when this plan removes the container that uses it', () => {
    const containers = [
      inProject('shop-web-1', web),
      inProject('shop-db-1', db, 'running'),
      container({ name: 'adhoc', image: loose }),
    ];
    const p = planAt(config({ policies: [exited, stale] }), { images: [web, db, loose], containers });
    expect(p.actions.map((a) => `${a.resource}:${a.name}`)).toEqual([
      'container:adhoc',
      'container:shop-web-1',
      'image:tool:1',
    ]);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([
      ['db', 'in use by container shop-db-1 (running)'],
      ['web', 'in use by compose project shop (container shop-web-1)'],
    ]);
  });

  it('a project whose only containers are all removed this cycle still holds its images this cycle', () => {
    const p = planAt(config({ policies: [exited, stale] }), {
      images: [web],
      containers: [inProject('shop-web-1', web)],
    });
    expect(p.actions.map((a) => a.name)).toEqual(['shop-web-1']);
    expect(p.kept.map((k) => k.reason)).toEqual(['in use by compose project shop (container shop-web-1)']);
    // Next cycle the project has no container left: its image is free.
    expect(
      planAt(config({ policies: [exited, stale] }), { images: [web], containers: [] }).actions.map((a) => a.id),
    ).toEqual(['web']);
  });

  it('an image carrying the reference a project container was created from stays too (a rebuilt tag)', () => {
    // The container runs the old build (ID old); shop/web:1 now names a new build.
    const rebuilt = image({ id: 'new', tags: ['shop/web:1'], created: ago(40) });
    const old = image({ id: 'old', created: ago(60) });
    const c = container({ name: 'shop-web-1', image: 'shop/web:1', imageId: 'old', labels: { [PROJECT]: 'shop' } });
    const p = planAt(config({ policies: [exited, { name: 'all', resource: 'image', match: {} }] }), {
      images: [rebuilt, old],
      containers: [c],
    });
    expect(p.actions.map((a) => a.name)).toEqual(['shop-web-1']);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([
      ['new', 'in use by compose project shop (container shop-web-1)'],
      ['old', 'in use by compose project shop (container shop-web-1)'],
    ]);
  });

  it('the reference given at creation counts when the list shows the image ID instead', () => {
    const rebuilt = image({ id: 'new', tags: ['shop/web:1'], created: ago(40) });
    const c = {
      ...container({ name: 'shop-web-1', image: 'sha256:old', imageId: 'old', labels: { [PROJECT]: 'shop' } }),
      createdFrom: 'shop/web:1',
    };
    const p = planAt(config({ policies: [{ name: 'all', resource: 'image', match: {} }] }), {
      images: [rebuilt],
      containers: [c],
    });
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([
      ['new', 'in use by compose project shop (container shop-web-1)'],
    ]);
  });

  it('names the first container of the project by name, whatever the listing order', () => {
    const containers = [
      inProject('shop-web-2', web, 'exited'),
      inProject('shop-web-1', web, 'exited'),
      inProject('shop-web-3', web, 'exited'),
    ];
    for (let seed = 1; seed <= 5; seed++) {
      const p = planAt(config({ policies: [exited, stale] }), {
        images: [web],
        containers: shuffled(containers, seed),
      });
      expect(p.kept.map((k) => k.reason)).toEqual(['in use by compose project shop (container shop-web-1)']);
    }
  });

  it('inUse.composeProjects: false turns it off', () => {
    const p = planAt(config({ policies: [exited, stale], inUse: { composeProjects: false } }), {
      images: [web],
      containers: [inProject('shop-web-1', web)],
    });
    expect(p.actions.map((a) => a.name)).toEqual(['shop-web-1', 'shop/web:1']);
  });

  it('an untagged parent of a project image is not pruned with a removed child', () => {
    // `base` is the untagged parent the classic builder left; the project container uses it by ID.
    const base = image({ id: 'base', created: ago(90), layers: [['l1', 10]] });
    const child = image({ id: 'child', tags: ['tmp:1'], parent: base, created: ago(60), layers: [['l2', 5]] });
    const c = container({ name: 'shop-base-1', image: 'base', imageId: 'base', labels: { [PROJECT]: 'shop' } });
    // The image policy does not match `base` itself: only the untagged-parent rule could take it.
    const tmp: Policy = { name: 'tmp', resource: 'image', match: { repositories: ['tmp'] } };
    const p = planAt(config({ policies: [exited, tmp] }), { images: [base, child], containers: [c] });
    expect(p.actions.map((a) => `${a.resource}:${a.id}`)).toEqual(['container:ctr-shop-base-1', 'image:child']);
  });
});
