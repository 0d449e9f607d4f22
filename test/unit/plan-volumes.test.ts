// Volume policies, and the anonymous volumes a container policy takes with its containers.
// Volumes hold data, so "in use", "not local" and protection are pinned with their reasons.
import { describe, expect, it } from 'vitest';
import type { ContainerPolicy, VolumePolicy } from '../../src/core/config/schema.js';
import {
  SECOND,
  ago,
  anonName,
  config,
  container,
  names,
  planAt,
  volume,
  type VolumeSpec,
} from '../support/builders.js';

const policy = (match: VolumePolicy['match'], rest: Partial<VolumePolicy> = {}): VolumePolicy => ({
  name: 'vols',
  resource: 'volume',
  match,
  ...rest,
});
const selected = (match: VolumePolicy['match'], spec: VolumeSpec) =>
  planAt(config({ policies: [policy(match)] }), { volumes: [volume(spec)] }).actions.map((a) => a.name);
const ANON = anonName('a1');

describe('anonymous', () => {
  it.each<[string, VolumeSpec, boolean]>([
    ['64 hex characters', { name: ANON }, true],
    ['the anonymous label', { name: 'build-cache', labels: { 'com.docker.volume.anonymous': '' } }, true],
    ['a plain name', { name: 'pgdata' }, false],
    ['63 hex characters', { name: ANON.slice(1) }, false],
    ['65 hex characters', { name: `${ANON}a` }, false],
    ['64 upper-case hex characters', { name: ANON.toUpperCase() }, false],
  ])('%s: anonymous %s', (_why, spec, anonymous) => {
    expect(selected({ anonymous: true }, spec)).toEqual(anonymous ? [spec.name] : []);
    expect(selected({ anonymous: false }, spec)).toEqual(anonymous ? [] : [spec.name]);
  });

  it('says which kind it matched', () => {
    const p = planAt(
      config({ policies: [policy({ anonymous: true }), policy({ anonymous: false }, { name: 'named' })] }),
      { volumes: [volume({ name: ANON }), volume({ name: 'data' })] },
    );
    expect(p.actions.map((a) => [a.name, a.policy, a.reason])).toEqual([
      [ANON, 'vols', 'anonymous'],
      ['data', 'named', 'named'],
    ]);
  });
});

describe('olderThan, names and labels', () => {
  it.each<[string, VolumePolicy['match'], VolumeSpec, boolean]>([
    ['old enough', { olderThan: '7d' }, { name: 'v', created: ago(8) }, true],
    ['exactly 7d', { olderThan: '7d' }, { name: 'v', created: ago(7) }, true],
    ['a second young', { olderThan: '7d' }, { name: 'v', created: ago(7) + SECOND }, false],
    // An unknown creation time never proves a volume old.
    ['created unknown', { olderThan: '7d' }, { name: 'v', created: undefined }, false],
    ['name glob', { names: ['tmp-*'] }, { name: 'tmp-1' }, true],
    ['name glob miss', { names: ['tmp-*'] }, { name: 'data' }, false],
    ['labels hold', { labels: ['ci', '!keep'] }, { name: 'v', labels: { ci: '1' } }, true],
    ['a label fails', { labels: ['ci', '!keep'] }, { name: 'v', labels: { ci: '1', keep: '1' } }, false],
  ])('%s → selected %s', (_why, match, spec, expected) => {
    expect(selected(match, spec)).toEqual(expected ? [spec.name] : []);
  });

  it('lists the conditions in the reason, and "unused" when there are none', () => {
    const p = planAt(
      config({
        policies: [
          policy({ anonymous: false, olderThan: '7d', names: ['tmp-*'], labels: ['ci'] }),
          policy({}, { name: 'all' }),
        ],
      }),
      {
        volumes: [volume({ name: 'tmp-1', created: ago(9), labels: { ci: '' } }), volume({ name: 'x' })],
      },
    );
    expect(p.actions.map((a) => a.reason)).toEqual([
      'named, created 9d ago (olderThan 7d), name matches, labels ci hold',
      'unused',
    ]);
  });
});

describe('what keeps a matching volume', () => {
  const cfg = config({
    policies: [policy({}, { keep: { names: ['keep-*'], labels: ['pinned'] } })],
    protect: { labels: ['protect'] },
  });

  it.each<[string, VolumeSpec, string]>([
    ['keep.names', { name: 'keep-db' }, 'keep.names matches its name'],
    ['keep.labels', { name: 'v', labels: { pinned: '' } }, 'keep.labels "pinned"'],
    ['protect.labels', { name: 'keep-db', labels: { protect: '' } }, 'protected by protect.labels "protect"'],
    // Other drivers may keep the data elsewhere; the engine's own prune skips them too.
    ['a non-local driver', { name: 'keep-db', driver: 'nfs' }, 'driver "nfs" is not local'],
  ])('%s', (_why, spec, reason) => {
    const p = planAt(cfg, { volumes: [volume(spec)] });
    expect(p.actions).toEqual([]);
    expect(p.kept).toEqual([{ resource: 'volume', id: spec.name, name: spec.name, policy: 'vols', reason }]);
  });

  it.each(['running', 'exited', 'created'])('a volume a remaining %s container mounts is kept, naming it', (state) => {
    const p = planAt(cfg, {
      volumes: [volume({ name: 'v', driver: 'nfs' })],
      containers: [container({ name: 'db', state, volumes: ['v'] })],
    });
    // Being mounted is the first reason given.
    expect(p.kept).toEqual([
      { resource: 'volume', id: 'v', name: 'v', policy: 'vols', reason: `mounted by container db (${state})` },
    ]);
  });

  it('a volume mounted only by containers the plan removes is selected', () => {
    const c = config({ policies: [policy({}), { name: 'ctr', resource: 'container', match: {} }] });
    const p = planAt(c, {
      volumes: [volume({ name: 'v', size: 5 })],
      containers: [container({ name: 'old', volumes: ['v'] })],
    });
    expect(p.actions.map((a) => [a.resource, a.name, a.policy, a.bytes])).toEqual([
      ['container', 'old', 'ctr', null],
      ['volume', 'v', 'vols', 5],
    ]);
  });
});

describe('removeAnonymousVolumes', () => {
  const ctr = (rest: Partial<ContainerPolicy> = {}): ContainerPolicy => ({
    name: 'ctr',
    resource: 'container',
    match: { names: ['job-*'] },
    removeAnonymousVolumes: true,
    ...rest,
  });
  const A1 = anonName('a1');
  const A2 = anonName('b2');
  const LABELLED = 'cache';

  it("selects the removed container's anonymous volumes, credited to the container policy", () => {
    const p = planAt(config({ policies: [ctr()] }), {
      containers: [container({ name: 'job-1', volumes: [A1, 'named', LABELLED] })],
      volumes: [
        volume({ name: A1, size: 10 }),
        volume({ name: 'named', size: 20 }),
        volume({ name: LABELLED, labels: { 'com.docker.volume.anonymous': '' } }),
      ],
    });
    expect(p.actions).toEqual([
      { resource: 'container', id: 'ctr-job-1', name: 'job-1', policy: 'ctr', reason: 'exited', bytes: null },
      {
        resource: 'volume',
        id: A1,
        name: A1,
        policy: 'ctr',
        reason: 'anonymous volume of removed container job-1',
        bytes: 10,
      },
      {
        resource: 'volume',
        id: LABELLED,
        name: LABELLED,
        policy: 'ctr',
        reason: 'anonymous volume of removed container job-1',
        bytes: null,
      },
    ]);
    expect(p.kept).toEqual([]);
  });

  it('names the same container, whatever the listing order, when two removed containers share one', () => {
    // Found by the order-independence property test: the reason used to name whichever of the
    // two containers the engine happened to list first.
    const a = container({ name: 'job-a', volumes: [A1] });
    const b = container({ name: 'job-b', volumes: [A1] });
    const reasons = [
      [a, b],
      [b, a],
    ].map(
      (containers) =>
        planAt(config({ policies: [ctr()] }), { containers, volumes: [volume({ name: A1 })] }).actions.find(
          (x) => x.resource === 'volume',
        )?.reason,
    );
    expect(reasons).toEqual([
      'anonymous volume of removed container job-a',
      'anonymous volume of removed container job-a',
    ]);
  });

  it('keeps one that a remaining container also mounts, naming that container', () => {
    const p = planAt(config({ policies: [ctr()] }), {
      containers: [
        container({ name: 'job-1', volumes: [A1, A2] }),
        container({ name: 'web', state: 'running', volumes: [A2] }),
      ],
      volumes: [volume({ name: A1 }), volume({ name: A2 })],
    });
    expect(names(p.actions)).toEqual(['container:job-1', `volume:${A1}`]);
    expect(p.kept).toEqual([
      { resource: 'volume', id: A2, name: A2, policy: 'ctr', reason: 'mounted by container web (running)' },
    ]);
  });

  it('takes nothing without the flag, nor for containers another policy removes or only reports', () => {
    const snap = {
      containers: [container({ name: 'job-1', volumes: [A1] }), container({ name: 'other', volumes: [A2] })],
      volumes: [volume({ name: A1 }), volume({ name: A2 })],
    };
    const off = planAt(
      config({
        policies: [ctr({ removeAnonymousVolumes: false }), { name: 'rest', resource: 'container', match: {} }],
      }),
      snap,
    );
    expect(names(off.actions)).toEqual(['container:job-1', 'container:other']);
    // `ctr` only takes the volumes of the containers it selected itself, not those of `rest`.
    const mine = planAt(config({ policies: [ctr(), { name: 'rest', resource: 'container', match: {} }] }), snap);
    expect(mine.actions.map((a) => [a.name, a.policy])).toEqual([
      ['job-1', 'ctr'],
      ['other', 'rest'],
      [A1, 'ctr'],
    ]);
    const report = planAt(config({ policies: [ctr({ action: 'report' })] }), snap);
    expect([report.actions, names(report.reported)]).toEqual([[], ['container:job-1']]);
  });

  it('an earlier volume policy that selects the volume is credited instead', () => {
    const snap = { containers: [container({ name: 'job-1', volumes: [A1] })], volumes: [volume({ name: A1 })] };
    const p = planAt(config({ policies: [policy({ anonymous: true }), ctr()] }), snap);
    expect(p.actions.map((a) => [a.name, a.policy, a.reason])).toEqual([
      ['job-1', 'ctr', 'exited'],
      [A1, 'vols', 'anonymous'],
    ]);
  });
});
