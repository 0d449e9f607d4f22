// Global `protect` in the plan: images pinned by tag, glob, digest and ID (prefix); containers,
// volumes and networks by name glob; labels and repositories. Policies here select everything,
// so whatever stays, stays because of protection, and each kept entry names the protect entry
// that holds.
import { describe, expect, it } from 'vitest';
import type { Policy, RawConfig } from '../../src/core/config/schema.js';
import type { NetworkObj } from '../../src/core/model/snapshot.js';
import type { Plan } from '../../src/core/model/plan.js';
import { plan } from '../../src/core/planner/plan.js';
import { ago, config, container, image, names, NOW, planAt, volume } from '../support/builders.js';

const HEX = (c: string) => `sha256:${c.repeat(64)}`;

const EVERYTHING: Policy[] = [
  { name: 'all-containers', resource: 'container', match: {} },
  { name: 'all-images', resource: 'image', match: {} },
  { name: 'all-volumes', resource: 'volume', match: {} },
  { name: 'all-networks', resource: 'network', match: {} },
];

function network(name: string, id: string): NetworkObj {
  return {
    id: id.padEnd(64, '0'),
    name,
    driver: 'bridge',
    scope: 'local',
    created: ago(30),
    labels: {},
    ingress: false,
    configOnly: false,
  };
}

const planWith = (protect: RawConfig['protect'], snap: Parameters<typeof planAt>[1], policies = EVERYTHING): Plan =>
  planAt(config({ policies, protect }), snap);

/** `name: reason` of every kept entry of a resource. */
const keptReasons = (p: Plan, resource: string): string[] =>
  p.kept.filter((k) => k.resource === resource).map((k) => `${k.name}: ${k.reason}`);

const removed = (p: Plan, resource: string): string[] =>
  p.actions.filter((a) => a.resource === resource).map((a) => a.name);

describe('protect.images by reference', () => {
  const pg = image({ id: HEX('a'), tags: ['postgres:16', 'postgres:latest', 'mirror.example.com/postgres:16'] });
  const redis = image({ id: HEX('b'), tags: ['redis:7'] });

  it('keeps an image with a protected tag whole: none of its other tags is untagged', () => {
    const p = planWith({ images: ['postgres:16'] }, { images: [pg, redis] });
    expect(removed(p, 'image')).toEqual(['redis:7']);
    expect(p.kept).toEqual([
      {
        resource: 'image',
        id: pg.id,
        name: 'postgres:16',
        policy: 'all-images',
        reason: 'protected by protect.images "postgres:16"',
      },
    ]);
  });

  it('reads docker.io/library/ and docker.io/ as the engine lists them', () => {
    const team = image({ id: HEX('c'), tags: ['team/app:2'] });
    const p = planWith(
      { images: ['docker.io/library/postgres:latest', 'docker.io/team/app:2'] },
      { images: [pg, redis, team] },
    );
    expect(keptReasons(p, 'image')).toEqual([
      'postgres:16: protected by protect.images "docker.io/library/postgres:latest" (postgres:latest)',
      'team/app:2: protected by protect.images "docker.io/team/app:2" (team/app:2)',
    ]);
    expect(removed(p, 'image')).toEqual(['redis:7']);
  });

  it('shortens a docker.io glob as the engine does, which widens it to every registry', () => {
    // Documented in docs/configuration.md: it only ever protects more.
    const hub = image({ id: HEX('c'), tags: ['team/app:1'] });
    const ghcr = image({ id: HEX('d'), tags: ['ghcr.io/app:1'] });
    const deep = image({ id: HEX('e'), tags: ['registry.example.com/a/b:2'] });
    expect(removed(planWith({ images: ['docker.io/**:*'] }, { images: [hub, ghcr, deep] }), 'image')).toEqual([]);
    expect(removed(planWith({ images: ['docker.io/*/app:*'] }, { images: [hub, ghcr, deep] }), 'image')).toEqual([
      'registry.example.com/a/b:2',
    ]);
  });

  it('matches only the tag written, not the repository: postgres:15 is not protected by postgres:16', () => {
    const pg15 = image({ id: HEX('d'), tags: ['postgres:15'] });
    expect(removed(planWith({ images: ['postgres:16'] }, { images: [pg15] }), 'image')).toEqual(['postgres:15']);
  });
});

describe('protect.images by glob', () => {
  const base = image({ id: HEX('1'), tags: ['registry.example.com/base/alpine:3.20'] });
  const nested = image({ id: HEX('2'), tags: ['registry.example.com/base/tools/jq:1'] });
  const app = image({ id: HEX('3'), tags: ['registry.example.com/app:1.4'] });
  const images = [base, nested, app];

  it('"*" stays within one path segment, and the reason names the tag it met', () => {
    const p = planWith({ images: ['registry.example.com/base/*:*'] }, { images });
    expect(keptReasons(p, 'image')).toEqual([
      'registry.example.com/base/alpine:3.20: protected by protect.images "registry.example.com/base/*:*" (registry.example.com/base/alpine:3.20)',
    ]);
    expect(removed(p, 'image').sort()).toEqual([
      'registry.example.com/app:1.4',
      'registry.example.com/base/tools/jq:1',
    ]);
  });

  it('"**" crosses segments; a tag glob picks tags', () => {
    const p = planWith({ images: ['registry.example.com/base/**:*', 'registry.example.com/app:1.*'] }, { images });
    expect(removed(p, 'image')).toEqual([]);
    const tagOnly = planWith({ images: ['registry.example.com/app:2.*'] }, { images: [app] });
    expect(removed(tagOnly, 'image')).toEqual(['registry.example.com/app:1.4']);
  });

  it('names the first entry, in the order written, that holds', () => {
    const p = planWith({ images: ['registry.example.com/**:*', 'registry.example.com/app:1.4'] }, { images: [app] });
    expect(keptReasons(p, 'image')).toEqual([
      'registry.example.com/app:1.4: protected by protect.images "registry.example.com/**:*" (registry.example.com/app:1.4)',
    ]);
  });
});

describe('protect.images by ID and digest', () => {
  const id = `sha256:4f1c2a9b0e7d${'5'.repeat(52)}`;
  const pinned = image({ id, tags: ['app:old'] });
  // Shares the first 11 hex digits only.
  const neighbour = image({ id: `sha256:4f1c2a9b0e7e${'5'.repeat(52)}`, tags: ['app:new'] });

  it('an ID prefix of 12 hex digits protects exactly the image whose ID starts with it', () => {
    const p = planWith({ images: ['sha256:4f1c2a9b0e7d'] }, { images: [pinned, neighbour] });
    expect(keptReasons(p, 'image')).toEqual([`app:old: protected by protect.images "sha256:4f1c2a9b0e7d" (${id})`]);
    expect(removed(p, 'image')).toEqual(['app:new']);
  });

  it('a full ID protects the image, tagged or not', () => {
    const untagged = image({ id: HEX('e') });
    const p = planWith({ images: [id, HEX('e')] }, { images: [pinned, untagged, neighbour] });
    expect(keptReasons(p, 'image')).toEqual([
      `app:old: protected by protect.images "${id}"`,
      `<none>@eeeeeeeeeeee: protected by protect.images "${HEX('e')}"`,
    ]);
    expect(removed(p, 'image')).toEqual(['app:new']);
  });

  it('a repository digest protects the image pulled by it, which has no tag', () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const byDigest = image({ id: HEX('f'), digests: [`postgres@${digest}`] });
    const other = image({ id: HEX('0'), digests: [`postgres@sha256:${'0'.repeat(64)}`] });
    const p = planWith({ images: [`docker.io/library/postgres:16@${digest}`] }, { images: [byDigest, other] });
    expect(keptReasons(p, 'image')).toEqual([
      `<none>@ffffffffffff: protected by protect.images "docker.io/library/postgres:16@${digest}" (postgres@${digest})`,
    ]);
    expect(p.actions.map((a) => a.id)).toEqual([other.id]);
  });

  it('a full sha256: entry also protects the image carrying it as a repository digest', () => {
    // Pasted from RepoDigests or `docker pull` output: on the classic store the digest is not
    // the image ID, and the entry would otherwise protect nothing.
    const digest = `sha256:${'d'.repeat(64)}`;
    const pulled = image({ id: HEX('f'), tags: ['postgres:16'], digests: [`postgres@${digest}`] });
    const other = image({ id: HEX('0'), tags: ['postgres:15'], digests: [`postgres@sha256:${'0'.repeat(64)}`] });
    const p = planWith({ images: [digest] }, { images: [pulled, other] });
    expect(keptReasons(p, 'image')).toEqual([
      `postgres:16: protected by protect.images "${digest}" (postgres@${digest})`,
    ]);
    expect(removed(p, 'image')).toEqual(['postgres:15']);
  });

  it('an ID prefix shorter than 64 digits is never read as a digest', () => {
    const pulled = image({ id: HEX('f'), tags: ['postgres:16'], digests: [`postgres@sha256:${'d'.repeat(64)}`] });
    const p = planWith({ images: [`sha256:${'d'.repeat(12)}`] }, { images: [pulled] });
    expect(removed(p, 'image')).toEqual(['postgres:16']);
  });

  it('a protected untagged parent stays when its child goes', () => {
    const parent = image({ id: HEX('9'), layers: [['P', 100]] });
    const child = image({ id: HEX('8'), tags: ['app:1'], parent, layers: [['C', 10]] });
    const p = planWith({ images: [HEX('9').slice(0, 'sha256:'.length + 12)] }, { images: [parent, child] });
    expect(p.actions.map((a) => a.id)).toEqual([child.id]);
    const q = planWith({}, { images: [parent, child] });
    expect(q.actions.map((a) => a.id).sort()).toEqual([child.id, parent.id].sort());
  });
});

describe('protect.containers, protect.volumes, protect.networks', () => {
  const dbImage = image({ id: HEX('a'), tags: ['postgres:16'] });
  const webImage = image({ id: HEX('b'), tags: ['web:1'] });
  const db = container({ name: 'db-main', image: dbImage, volumes: ['pgdata'] });
  const web = container({ name: 'web-1', image: webImage, volumes: ['cache'] });
  const snap = {
    images: [dbImage, webImage],
    containers: [db, web],
    volumes: [volume({ name: 'pgdata' }), volume({ name: 'cache' }), volume({ name: 'redis-data' })],
    networks: [network('proxy', 'a1'), network('ci-1', 'b1')],
  };

  it('a protected container stays, and so do its image and volumes: they are in use', () => {
    const p = planWith({ containers: ['db-*'] }, snap);
    expect(keptReasons(p, 'container')).toEqual(['db-main: protected by protect.containers "db-*" (db-main)']);
    expect(removed(p, 'container')).toEqual(['web-1']);
    expect(removed(p, 'image')).toEqual(['web:1']);
    expect(keptReasons(p, 'image')).toEqual(['postgres:16: in use by container db-main (exited)']);
    expect(removed(p, 'volume').sort()).toEqual(['cache', 'redis-data']);
  });

  it('volumes by exact name and by glob; networks by name', () => {
    const p = planWith({ volumes: ['cache', '*-data'], networks: ['proxy'] }, snap);
    expect(keptReasons(p, 'volume')).toEqual([
      'cache: protected by protect.volumes "cache"',
      'redis-data: protected by protect.volumes "*-data" (redis-data)',
    ]);
    expect(removed(p, 'volume')).toEqual(['pgdata']);
    expect(keptReasons(p, 'network')).toEqual(['proxy: protected by protect.networks "proxy"']);
    expect(removed(p, 'network')).toEqual(['ci-1']);
  });

  it('a network name may hold "/", unlike container and volume names: entries match it', () => {
    // Docker 20.10 accepts `docker network create team/proxy` (checked on a throwaway engine),
    // so protect.networks keeps the path glob: refusing "/" would refuse a working entry.
    const nets = [network('team/proxy', 'c1'), network('team/ci', 'd1'), network('other', 'e1')];
    const p = planWith({ networks: ['team/proxy', 'team/c*'] }, { networks: nets });
    expect(keptReasons(p, 'network')).toEqual([
      'team/proxy: protected by protect.networks "team/proxy"',
      'team/ci: protected by protect.networks "team/c*" (team/ci)',
    ]);
    expect(removed(p, 'network')).toEqual(['other']);
  });

  it('a protected anonymous volume stays when its container goes with removeAnonymousVolumes', () => {
    const anon = 'c'.repeat(64);
    const job = container({ name: 'job', volumes: [anon] });
    const policies: Policy[] = [{ name: 'jobs', resource: 'container', match: {}, removeAnonymousVolumes: true }];
    const p = planWith({ volumes: ['ccc*'] }, { containers: [job], volumes: [volume({ name: anon })] }, policies);
    expect(names(p.actions)).toEqual(['container:job']);
    expect(keptReasons(p, 'volume')).toEqual([`${anon}: protected by protect.volumes "ccc*" (${anon})`]);
  });
});

describe('protection beats every other reason and every policy', () => {
  it('is named before in use, mounted, keep rules and report', () => {
    const img = image({ id: HEX('a'), tags: ['postgres:16'] });
    const user = container({ name: 'db', image: img, state: 'running', volumes: ['pgdata'] });
    const policies: Policy[] = [
      { name: 'keep-pg', resource: 'image', match: {}, keep: { tags: ['16'] } },
      { name: 'vols', resource: 'volume', match: {}, keep: { names: ['pg*'] } },
    ];
    const p = planWith(
      { images: ['postgres:16'], volumes: ['pgdata'] },
      { images: [img], containers: [user], volumes: [volume({ name: 'pgdata' })] },
      policies,
    );
    expect(p.kept.map((k) => `${k.policy}: ${k.reason}`)).toEqual([
      'keep-pg: protected by protect.images "postgres:16"',
      'vols: protected by protect.volumes "pgdata"',
    ]);
  });

  it('a later, broader policy does not get what an earlier one kept as protected', () => {
    const img = image({ id: HEX('a'), tags: ['postgres:16'] });
    const policies: Policy[] = [
      { name: 'first', resource: 'image', match: { repositories: ['postgres'] } },
      { name: 'then-everything', resource: 'image', match: {} },
    ];
    const p = planWith({ images: ['postgres:*'] }, { images: [img] }, policies);
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => k.policy)).toEqual(['first']);
  });

  it('a protected object no policy matches is simply not in the plan', () => {
    const img = image({ id: HEX('a'), tags: ['postgres:16'], created: ago(1) });
    const policies: Policy[] = [{ name: 'old', resource: 'image', match: { olderThan: '30d' } }];
    const p = planWith({ images: ['postgres:16'] }, { images: [img] }, policies);
    expect(p.kept).toEqual([]);
    expect(p.actions).toEqual([]);
  });

  it('labels and repositories name their entry too', () => {
    const labelled = image({ id: HEX('a'), tags: ['ci/app:1'], labels: { 'reclaimd.keep': 'yes' } });
    const prod = image({ id: HEX('b'), tags: ['prod/eu/app:1'] });
    const base = image({ id: HEX('c'), tags: ['base:22.04'] });
    const p = planWith(
      { labels: ['reclaimd.keep'], repositories: ['prod/**', 'base'] },
      { images: [labelled, prod, base] },
    );
    expect(keptReasons(p, 'image')).toEqual([
      'ci/app:1: protected by protect.labels "reclaimd.keep"',
      'prod/eu/app:1: protected by protect.repositories "prod/**" (prod/eu/app)',
      'base:22.04: protected by protect.repositories "base"',
    ]);
  });

  it('a repository written the long way (docker.io/library/postgres) protects what the engine lists as postgres', () => {
    const pg = image({ id: HEX('d'), tags: ['postgres:16'] });
    const other = image({ id: HEX('e'), tags: ['ghcr.io/postgres:16'] });
    const p = planWith(
      { repositories: ['docker.io/library/postgres', 'index.docker.io/team/*'] },
      { images: [pg, other] },
    );
    expect(keptReasons(p, 'image')).toEqual([
      'postgres:16: protected by protect.repositories "docker.io/library/postgres" (postgres)',
    ]);
    expect(removed(p, 'image')).toEqual(['ghcr.io/postgres:16']);
  });

  it('labels protect containers, volumes and networks by the same selector', () => {
    const keep = { 'reclaimd.keep': '' };
    const p = planWith(
      { labels: ['reclaimd.keep'] },
      {
        containers: [container({ name: 'c', labels: keep })],
        volumes: [volume({ name: 'v', labels: keep })],
        networks: [{ ...network('n', 'c1'), labels: keep }],
      },
    );
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => `${k.resource} ${k.name}: ${k.reason}`)).toEqual([
      'container c: protected by protect.labels "reclaimd.keep"',
      'volume v: protected by protect.labels "reclaimd.keep"',
      'network n: protected by protect.labels "reclaimd.keep"',
    ]);
  });
});

describe('under disk pressure', () => {
  it('a protected image is never taken, however long unused: the next least recently used go instead', () => {
    const alone = (id: string, size: number) => image({ id, tags: [`ci/${id}:1`], layers: [[`L-${id}`, size]] });
    const images = [alone('a', 1000), alone('b', 2000), alone('c', 3000), alone('d', 4000)];
    // Least recently used first: d, a, c, b.
    const usage = {
      images: new Map([
        ['d', ago(9)],
        ['a', ago(7)],
        ['c', ago(5)],
        ['b', ago(1)],
      ]),
      volumes: new Map(),
    };
    const budget: Policy = {
      name: 'budget',
      resource: 'image',
      match: {},
      when: { totalSizeAbove: '9000B' },
      until: { totalSizeBelow: '5000B' },
    };
    const cfg = config({ policies: [budget], protect: { images: ['ci/d:*'] } });
    const p = plan(cfg, { images, containers: [], volumes: [], usage }, NOW);
    // Without d's 4000 bytes, a (1000), c (3000) and b (2000) are needed to get from 10000 to 5000.
    expect(p.actions.map((a) => a.id)).toEqual(['a', 'b', 'c']);
    expect(p.kept.map((k) => `${k.id}: ${k.reason}`)).toEqual(['d: protected by protect.images "ci/d:*" (ci/d:1)']);
  });
});
