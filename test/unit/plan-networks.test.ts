// Network policies: predefined and swarm networks are never selected, and a network any
// container refers to (running, stopped or only created; by name, ID or ID prefix) stays.
import { describe, expect, it } from 'vitest';
import type { ContainerPolicy, NetworkPolicy } from '../../src/core/config/schema.js';
import type { ContainerObj, NetworkObj } from '../../src/core/model/snapshot.js';
import { SECOND, ago, config, container, names, planAt, type ContainerSpec } from '../support/builders.js';

const policy = (match: NetworkPolicy['match'], rest: Partial<NetworkPolicy> = {}): NetworkPolicy => ({
  name: 'nets',
  resource: 'network',
  match,
  ...rest,
});

function network(spec: Partial<NetworkObj> & { name: string }): NetworkObj {
  return {
    id: `${'ab'.repeat(32)}`.slice(0, 40) + spec.name.padEnd(24, '0').slice(0, 24),
    driver: 'bridge',
    scope: 'local',
    created: ago(30),
    labels: {},
    ingress: false,
    configOnly: false,
    ...spec,
  };
}

function attached(spec: ContainerSpec, networks: string[]): ContainerObj {
  return { ...container(spec), networks };
}

const plan = (
  policies: NetworkPolicy[],
  networks: NetworkObj[],
  containers: ContainerObj[] = [],
  protect?: { labels: string[] },
) => planAt(config({ policies, ...(protect ? { protect } : {}) }), { networks, containers });

describe('never selected', () => {
  it.each<[string, Partial<NetworkObj> & { name: string }, string]>([
    ['bridge', { name: 'bridge' }, '"bridge" is a predefined network'],
    ['host', { name: 'host', driver: 'host' }, '"host" is a predefined network'],
    ['none', { name: 'none', driver: 'null' }, '"none" is a predefined network'],
    ['ingress by name', { name: 'ingress', driver: 'overlay', scope: 'swarm' }, '"ingress" is a predefined network'],
    ['ingress by flag', { name: 'mesh', driver: 'overlay', ingress: true }, 'the swarm ingress network'],
    ['docker_gwbridge', { name: 'docker_gwbridge' }, '"docker_gwbridge" is a predefined network'],
    [
      'swarm scope',
      { name: 'app_overlay', driver: 'overlay', scope: 'swarm' },
      'swarm-scoped (managed by the swarm manager)',
    ],
    [
      'config-only',
      { name: 'tmpl', driver: 'null', configOnly: true },
      'a config-only network (a template for swarm networks)',
    ],
    [
      'global scope (multi-host)',
      { name: 'multi', driver: 'overlay', scope: 'global' },
      'global-scoped (may be in use on other hosts)',
    ],
  ])('%s', (_why, spec, reason) => {
    const p = plan([policy({})], [network(spec)]);
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => [k.name, k.reason])).toEqual([[spec.name, reason]]);
  });

  it('selects an unused custom network, freeing 0 bytes (networks hold no disk)', () => {
    const p = plan([policy({})], [network({ name: 'bridge' }), network({ name: 'ci-net' })]);
    expect(names(p.actions)).toEqual(['network:ci-net']);
    expect(p.actions[0]?.bytes).toBe(0);
    expect(p.actions[0]?.reason).toBe('no container attached');
    expect(p.totals).toEqual({ count: 1, bytes: 0 });
  });
});

describe('in use', () => {
  const net = network({ name: 'app' });
  it.each<[string, ContainerSpec, string[]]>([
    ['running, by name', { name: 'web', state: 'running' }, ['app']],
    ['stopped, by name and ID', { name: 'job', state: 'exited' }, ['app', net.id]],
    // The engine deletes a network that only stopped containers use; they could never start again.
    ['created, by name only (no ID yet)', { name: 'fresh', state: 'created' }, ['app']],
    ['created with an ID prefix as NetworkMode', { name: 'pfx', state: 'created' }, [net.id.slice(0, 8)]],
    ['by full ID', { name: 'byid', state: 'exited' }, [net.id]],
  ])('%s', (_why, spec, refs) => {
    const p = plan([policy({})], [net], [attached(spec, refs)]);
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => k.reason)).toEqual([`container ${spec.name} (${spec.state}) is attached`]);
  });

  it('a network used only by containers this plan removes is free', () => {
    const containers: ContainerPolicy = { name: 'stopped', resource: 'container', match: {} };
    const p = planAt(config({ policies: [containers, policy({})] }), {
      networks: [net],
      containers: [attached({ name: 'job', state: 'exited' }, ['app'])],
    });
    expect(names(p.actions)).toEqual(['container:job', 'network:app']);
  });

  it('another network is not kept by a container on a different one', () => {
    const p = plan(
      [policy({})],
      [net, network({ name: 'other' })],
      [attached({ name: 'web', state: 'running' }, ['app'])],
    );
    expect(names(p.actions)).toEqual(['network:other']);
  });
});

describe('match and keep', () => {
  it.each<[string, NetworkPolicy['match'], Partial<NetworkObj> & { name: string }, boolean]>([
    ['old enough', { olderThan: '7d' }, { name: 'n', created: ago(8) }, true],
    ['a second young', { olderThan: '7d' }, { name: 'n', created: ago(7) + SECOND }, false],
    ['created unknown', { olderThan: '7d' }, { name: 'n', created: undefined }, false],
    ['name glob', { names: ['ci-*'] }, { name: 'ci-1' }, true],
    ['name glob miss', { names: ['ci-*'] }, { name: 'prod' }, false],
    ['labels hold', { labels: ['ci', '!keep'] }, { name: 'n', labels: { ci: '1' } }, true],
    ['a label fails', { labels: ['ci', '!keep'] }, { name: 'n', labels: { ci: '1', keep: '' } }, false],
    ['driver', { drivers: ['macvlan', 'bridge'] }, { name: 'n' }, true],
    ['driver miss', { drivers: ['overlay'] }, { name: 'n' }, false],
  ])('%s → selected %s', (_why, match, spec, expected) => {
    expect(plan([policy(match)], [network(spec)]).actions.map((a) => a.name)).toEqual(expected ? [spec.name] : []);
  });

  it('lists the conditions in the reason', () => {
    const p = plan(
      [policy({ olderThan: '7d', names: ['ci-*'], labels: ['ci'], drivers: ['bridge'] })],
      [network({ name: 'ci-1', created: ago(9), labels: { ci: '' } })],
    );
    expect(p.actions.map((a) => a.reason)).toEqual([
      'created 9d ago (olderThan 7d), name matches, labels ci hold, driver bridge, no container attached',
    ]);
  });

  it.each<[string, Partial<NetworkObj> & { name: string }, string]>([
    ['keep.names', { name: 'keep-me' }, 'keep.names matches its name'],
    ['keep.labels', { name: 'n', labels: { pinned: '1' } }, 'keep.labels "pinned"'],
    ['protect.labels', { name: 'n', labels: { protect: '' } }, 'protected by protect.labels "protect"'],
  ])('%s keeps it', (_why, spec, reason) => {
    const p = plan([policy({}, { keep: { names: ['keep-*'], labels: ['pinned'] } })], [network(spec)], [], {
      labels: ['protect'],
    });
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => k.reason)).toEqual([reason]);
  });

  it('action: report reports and never removes', () => {
    const p = plan([policy({}, { action: 'report' })], [network({ name: 'n' })]);
    expect(p.actions).toEqual([]);
    expect(names(p.reported)).toEqual(['network:n']);
    expect(p.reported[0]?.bytes).toBe(0);
  });

  it('no networks listed (no snapshot.networks): nothing planned', () => {
    expect(planAt(config({ policies: [policy({})] }), {}).actions).toEqual([]);
  });

  it('maxRemovalFraction counts networks on their own', () => {
    const nets = Array.from({ length: 12 }, (_, i) => network({ name: `n${i}`, id: `${i}`.padStart(64, 'c') }));
    const p = planAt(config({ policies: [policy({})], limits: { maxRemovalFraction: 0.5 } }), { networks: nets });
    expect(p.blocked).toBe(
      'the plan removes 12 of 12 networks, more than limits.maxRemovalFraction (0.5); nothing will be removed',
    );
  });
});
