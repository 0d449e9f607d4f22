// Container policies: which states can ever go, how "stopped for" and exit codes are read,
// name/image/label filters, keep rules and protection, and the bytes of each removal.
import { describe, expect, it } from 'vitest';
import type { ContainerPolicy } from '../../src/core/config/schema.js';
import { HOUR, SECOND, ago, config, container, image, planAt, type ContainerSpec } from '../support/builders.js';

const policy = (match: ContainerPolicy['match'], rest: Partial<ContainerPolicy> = {}): ContainerPolicy => ({
  name: 'ctr',
  resource: 'container',
  match,
  ...rest,
});
const selected = (match: ContainerPolicy['match'], spec: ContainerSpec) =>
  planAt(config({ policies: [policy(match)] }), { containers: [container(spec)] }).actions.map((a) => a.name);

describe('states', () => {
  // Whatever the policy says, a container that is (or may be) running is never touched.
  it.each(['running', 'paused', 'restarting', 'removing'])(
    'a %s container is never selected, nor listed as kept',
    (state) => {
      const p = planAt(config({ policies: [policy({})] }), {
        containers: [container({ name: 'c', state, finishedAt: ago(400), exitCode: 0 })],
      });
      expect([p.actions, p.kept, p.reported]).toEqual([[], [], []]);
    },
  );

  it.each(['exited', 'dead', 'created'])('a %s container is selected by the default status list', (state) => {
    expect(selected({}, { name: 'c', state })).toEqual(['c']);
  });

  it.each<[ContainerPolicy['match']['status'], string, boolean]>([
    [['dead'], 'dead', true],
    [['dead'], 'exited', false],
    [['dead'], 'created', false],
    [['exited', 'created'], 'created', true],
    [['exited', 'created'], 'dead', false],
  ])('status %j, state %s → selected %s', (status, state, expected) => {
    expect(selected(status ? { status } : {}, { name: 'c', state })).toEqual(expected ? ['c'] : []);
  });
});

describe('stoppedFor', () => {
  it.each<[string, ContainerSpec, boolean]>([
    ['exited long ago', { name: 'c', finishedAt: ago(10) }, true],
    // The boundary is inclusive, like olderThan.
    ['exited exactly 7d ago', { name: 'c', finishedAt: ago(7) }, true],
    ['exited a second short of 7d', { name: 'c', finishedAt: ago(7) + SECOND }, false],
    // Created long ago but stopped recently: the finish time is what counts.
    ['created long ago, exited recently', { name: 'c', created: ago(100), finishedAt: ago(1) }, false],
    ['dead long ago', { name: 'c', state: 'dead', finishedAt: ago(30) }, true],
    // Without a finish time there is no way to know, so it never matches.
    ['exited, finish time unknown', { name: 'c', created: ago(100), finishedAt: undefined }, false],
    // A created container never ran: it has been idle since it was created.
    ['created long ago', { name: 'c', state: 'created', created: ago(10), finishedAt: undefined }, true],
    ['created recently', { name: 'c', state: 'created', created: ago(1), finishedAt: ago(100) }, false],
  ])('%s → selected %s', (_why, spec, expected) => {
    expect(selected({ stoppedFor: '7d' }, spec)).toEqual(expected ? ['c'] : []);
  });

  it('says how long it has been stopped', () => {
    const p = planAt(config({ policies: [policy({ stoppedFor: '7d' })] }), {
      containers: [container({ name: 'c', finishedAt: ago(8) - 3 * HOUR })],
    });
    expect(p.actions[0]?.reason).toBe('exited, stopped 8d 3h ago (stoppedFor 7d)');
  });
});

describe('exitCode', () => {
  it.each<[string, ContainerSpec, boolean]>([
    ['exited 1', { name: 'c', exitCode: 1 }, true],
    ['exited 137', { name: 'c', exitCode: 137 }, true],
    ['exited 0', { name: 'c', exitCode: 0 }, false],
    ['exit code unknown', { name: 'c', exitCode: undefined }, false],
    ['dead with 1', { name: 'c', state: 'dead', exitCode: 1 }, true],
    ['dead with 0', { name: 'c', state: 'dead', exitCode: 0 }, false],
    // A created container has no exit code: the filter does not apply to it.
    ['created, no exit code', { name: 'c', state: 'created', exitCode: undefined }, true],
    ['created, exit code 0 reported', { name: 'c', state: 'created', exitCode: 0 }, true],
  ])('%s → selected %s', (_why, spec, expected) => {
    expect(selected({ exitCode: [1, 137] }, spec)).toEqual(expected ? ['c'] : []);
  });

  it('names the exit code in the reason, and not for a created container', () => {
    const p = planAt(config({ policies: [policy({ exitCode: [2] })] }), {
      containers: [container({ name: 'a', exitCode: 2 }), container({ name: 'b', state: 'created' })],
    });
    expect(p.actions.map((a) => [a.name, a.reason])).toEqual([
      ['a', 'exited, exit code 2'],
      ['b', 'created'],
    ]);
  });
});

describe('names, images and labels', () => {
  const app = image({ id: 'i', tags: ['ci/app:pr-1'] });
  it.each<[string, ContainerPolicy['match'], ContainerSpec, boolean]>([
    ['name glob', { names: ['job-*'] }, { name: 'job-42' }, true],
    ['name glob miss', { names: ['job-*'] }, { name: 'web' }, false],
    ['any name glob', { names: ['x', 'w?b'] }, { name: 'web' }, true],
    ['image glob on the reference', { images: ['ci/*'] }, { name: 'c', image: app }, true],
    ['image glob miss', { images: ['prod/*'] }, { name: 'c', image: app }, false],
    ['image glob is not about the image ID', { images: ['i'] }, { name: 'c', image: app }, false],
    ['labels all hold', { labels: ['job', '!keep'] }, { name: 'c', labels: { job: '1' } }, true],
    ['one label fails', { labels: ['job', '!keep'] }, { name: 'c', labels: { job: '1', keep: '' } }, false],
    [
      'all filters together',
      { names: ['c'], images: ['ci/**'], labels: ['job=1'], status: ['exited'] },
      { name: 'c', image: app, labels: { job: '1' } },
      true,
    ],
  ])('%s → selected %s', (_why, match, spec, expected) => {
    expect(selected(match, spec)).toEqual(expected ? [spec.name] : []);
  });
});

describe('keep rules and protection', () => {
  const cfg = config({
    policies: [policy({}, { keep: { names: ['keep-*'], labels: ['pinned', 'tier=gold'] } })],
    protect: { labels: ['com.example.protect'] },
  });
  it.each<[ContainerSpec, string]>([
    [{ name: 'keep-me' }, 'keep.names matches its name'],
    [{ name: 'x', labels: { tier: 'gold' } }, 'keep.labels "tier=gold"'],
    [{ name: 'x', labels: { pinned: 'no', tier: 'gold' } }, 'keep.labels "pinned"'],
    // Global protection is checked first and beats the policy's own keep rules.
    [
      { name: 'keep-me', labels: { 'com.example.protect': 'true' } },
      'protected by protect.labels "com.example.protect"',
    ],
  ])('%j is kept: %s', (spec, reason) => {
    const c = container(spec);
    const p = planAt(cfg, { containers: [c] });
    expect(p.actions).toEqual([]);
    expect(p.kept).toEqual([{ resource: 'container', id: c.id, name: c.name, policy: 'ctr', reason }]);
  });

  it('a container the match does not cover is not listed as kept', () => {
    const p = planAt(cfg, { containers: [container({ name: 'keep-me', state: 'running' })] });
    expect(p.kept).toEqual([]);
  });
});

describe('actions', () => {
  it('carry the writable layer size as bytes (null when unknown), ordered by ID', () => {
    const p = planAt(config({ policies: [policy({})] }), {
      containers: [
        container({ name: 'b', id: 'id-2', sizeRw: 0 }),
        container({ name: 'a', id: 'id-3' }),
        container({ name: 'c', id: 'id-1', sizeRw: 12_345 }),
      ],
    });
    expect(p.actions).toEqual([
      { resource: 'container', id: 'id-1', name: 'c', policy: 'ctr', reason: 'exited', bytes: 12_345 },
      { resource: 'container', id: 'id-2', name: 'b', policy: 'ctr', reason: 'exited', bytes: 0 },
      { resource: 'container', id: 'id-3', name: 'a', policy: 'ctr', reason: 'exited', bytes: null },
    ]);
    expect(p.totals).toEqual({ count: 3, bytes: 12_345, unknown: 1 });
  });
});
