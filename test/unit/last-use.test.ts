// Last use, the pure part: which events are uses, how uses and listings merge, the state
// file's text, and the rule that an unknown or reset record can only make objects look MORE
// recently used.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeState,
  emptyRecord,
  encodeState,
  noteUse,
  resync,
  toUsage,
  useOf,
  type UsageRecord,
} from '../../src/core/last-use/last-use.js';
import type { EngineEvent, Listing } from '../../src/core/model/engine-events.js';
import { parseEvent } from '../../src/engine/events.js';
import { DAY, NOW } from '../support/builders.js';

const ev = (type: string, action: string, actorId: string, attributes: Record<string, string> = {}): EngineEvent => ({
  type,
  action,
  actorId,
  attributes,
  time: NOW,
});
const IMG = `sha256:${'a'.repeat(64)}`;
const listing = (l: Partial<Listing>): Listing => ({
  images: [],
  containerImages: [],
  volumes: [],
  mountedVolumes: [],
  ...l,
});

describe('useOf: which engine events are uses', () => {
  // The events Engine 20.10 (API 1.41) emitted for load, tag, run and builds (see events.ts).
  it.each<[string, EngineEvent, ReturnType<typeof useOf>]>([
    ['image load (actor: the image ID)', ev('image', 'load', IMG, { name: IMG }), { kind: 'image', ref: IMG }],
    ['image tag', ev('image', 'tag', IMG, { name: 'ex/b:2' }), { kind: 'image', ref: IMG }],
    ['image pull (actor: the reference)', ev('image', 'pull', 'busybox:1'), { kind: 'image', ref: 'busybox:1' }],
    ['image import', ev('image', 'import', IMG), { kind: 'image', ref: IMG }],
    ['image create (builds, API 1.46+)', ev('image', 'create', IMG), { kind: 'image', ref: IMG }],
    [
      'container create',
      ev('container', 'create', 'c1', { image: 'ex/a:1', name: 'x' }),
      { kind: 'container', containerId: 'c1', imageRef: 'ex/a:1' },
    ],
    [
      'container start',
      ev('container', 'start', 'c1', { image: IMG }),
      { kind: 'container', containerId: 'c1', imageRef: IMG },
    ],
    [
      'container die',
      ev('container', 'die', 'c1', { image: 'ex/a:1', exitCode: '0' }),
      { kind: 'container', containerId: 'c1', imageRef: 'ex/a:1' },
    ],
    [
      'container destroy',
      ev('container', 'destroy', 'c1', { image: 'ex/a:1' }),
      { kind: 'container', containerId: 'c1', imageRef: 'ex/a:1' },
    ],
    [
      'volume mount',
      ev('volume', 'mount', 'vol1', { container: 'c1', destination: '/v' }),
      { kind: 'volume', name: 'vol1' },
    ],
    ['volume unmount', ev('volume', 'unmount', 'vol1', { container: 'c1' }), { kind: 'volume', name: 'vol1' }],
    ['volume create', ev('volume', 'create', 'vol1', { driver: 'local' }), { kind: 'volume', name: 'vol1' }],
    ['image untag (not a use)', ev('image', 'untag', IMG), undefined],
    ['image delete', ev('image', 'delete', IMG), undefined],
    ['image push (only reads it)', ev('image', 'push', 'ex/a:1'), undefined],
    ['image save', ev('image', 'save', IMG), undefined],
    ['volume destroy', ev('volume', 'destroy', 'vol1'), undefined],
    ['network connect', ev('network', 'connect', 'n1', { container: 'c1' }), undefined],
    ['container attach', ev('container', 'attach', 'c1', { image: IMG }), undefined],
    ['no actor', ev('image', 'tag', ''), undefined],
  ])('%s', (_why, event, target) => {
    expect(useOf(event)).toEqual(target);
  });
});

describe('parseEvent', () => {
  it('reads a line of the stream, with the time from timeNano', () => {
    const line =
      '{"status":"tag","id":"sha256:ab","Type":"image","Action":"tag","Actor":{"ID":"sha256:ab","Attributes":{"name":"ex/b:2"}},"scope":"local","time":1795735574,"timeNano":1795735574154222300}';
    expect(parseEvent(line)).toEqual({
      type: 'image',
      action: 'tag',
      actorId: 'sha256:ab',
      attributes: { name: 'ex/b:2' },
      time: 1795735574154,
    });
  });

  it.each(['', '   '])('skips the blank line %j', (line) => {
    expect(parseEvent(line)).toBeUndefined();
  });

  // A line it cannot read may be a use it would miss: the follower then starts the stream again
  // and resyncs from full listings, rather than going on without it.
  it.each([
    '{"Type":"image"',
    '{"Type":"image","Action":"tag"}',
    '[1,2]',
    'null',
    '<html>',
    '{"Type":"image","Action":"tag","Actor":{"ID":"x"},"time":-1}',
  ])('refuses %j as malformed', (line) => {
    expect(() => parseEvent(line)).toThrow(
      expect.objectContaining({ kind: 'malformed', message: expect.stringContaining('GET /events') }),
    );
  });
});

describe('noteUse and resync', () => {
  it('keeps the later time of two uses', () => {
    const m = new Map();
    noteUse(m, 'a', 10);
    noteUse(m, 'a', 5);
    expect(m.get('a')).toEqual({ at: 10, used: true });
    noteUse(m, 'a', 20);
    expect(m.get('a')).toEqual({ at: 20, used: true });
  });

  it('counts an object never seen before from now, never from its build date', () => {
    const r = emptyRecord();
    resync(r, listing({ images: ['i1'], volumes: ['v1'] }), NOW);
    expect(r.images.get('i1')).toEqual({ at: NOW, used: false });
    expect(r.volumes.get('v1')).toEqual({ at: NOW, used: false });
  });

  it('does not move the first-seen time on later resyncs', () => {
    const r = emptyRecord();
    resync(r, listing({ images: ['i1'] }), NOW - 30 * DAY);
    resync(r, listing({ images: ['i1'] }), NOW);
    expect(r.images.get('i1')).toEqual({ at: NOW - 30 * DAY, used: false });
  });

  it('counts an existing container as a use, now, of its image and its volumes', () => {
    const r = emptyRecord();
    r.images.set('i1', { at: NOW - 30 * DAY, used: true });
    r.volumes.set('v1', { at: NOW - 30 * DAY, used: false });
    resync(r, listing({ images: ['i1'], containerImages: ['i1'], volumes: ['v1'], mountedVolumes: ['v1'] }), NOW);
    expect(r.images.get('i1')).toEqual({ at: NOW, used: true });
    expect(r.volumes.get('v1')).toEqual({ at: NOW, used: true });
  });

  it('drops what is no longer listed, including the image of a container whose image is gone', () => {
    const r = emptyRecord();
    r.images.set('gone', { at: 1, used: true });
    resync(r, listing({ images: ['i1'], containerImages: ['ghost'] }), NOW);
    expect([...r.images.keys()]).toEqual(['i1']);
  });

  it('toUsage gives the times and which of them are first-seen only', () => {
    const r = emptyRecord();
    r.images.set('a', { at: 1, used: true });
    r.images.set('b', { at: 2, used: false });
    const u = toUsage(r);
    expect([...u.images]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect([...(u.firstSeenOnly?.images ?? [])]).toEqual(['b']);
  });
});

describe('the state file', () => {
  const record = (): UsageRecord => {
    const r = emptyRecord();
    r.images.set(IMG, { at: NOW - DAY, used: true });
    r.images.set('sha256:b', { at: NOW, used: false });
    r.volumes.set('data', { at: NOW - 2 * DAY, used: true });
    return r;
  };

  it('round-trips', () => {
    const decoded = decodeState(encodeState('ENGINE:1', record(), NOW), 'ENGINE:1');
    expect(decoded).toEqual({ ok: true, record: record(), savedAt: NOW });
  });

  it('never applies to another engine', () => {
    expect(decodeState(encodeState('ENGINE:1', record(), NOW), 'ENGINE:2')).toMatchObject({
      ok: false,
      problem: 'other-engine',
    });
  });

  it.each([
    ['truncated', encodeState('E', record(), NOW).slice(0, 40)],
    ['empty', ''],
    ['not an object', '[]'],
    ['another format', JSON.stringify({ format: 2, engineId: 'E', images: {}, volumes: {} })],
    ['no engine', JSON.stringify({ format: 1, images: {}, volumes: {} })],
    ['no volumes', JSON.stringify({ format: 1, engineId: 'E', images: {} })],
    [
      'a time that is not a number',
      JSON.stringify({ format: 1, engineId: 'E', images: { a: { at: '1', used: true } }, volumes: {} }),
    ],
    ['a missing flag', JSON.stringify({ format: 1, engineId: 'E', images: { a: { at: 1 } }, volumes: {} })],
  ])('reports a %s file as corrupt', (_why, text) => {
    expect(decodeState(text, 'E')).toMatchObject({ ok: false, problem: 'corrupt' });
  });
});

describe('a lost record only makes objects look more recently used', () => {
  // Whatever was remembered, starting again from nothing (a corrupt file set aside) and
  // resyncing gives every listed object a time at least as late, so unusedFor selects a subset.
  it('holds for any remembered record and listing', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const entry = fc.record({ at: fc.integer({ min: 0, max: NOW }), used: fc.boolean() });
    fc.assert(
      fc.property(fc.dictionary(key, entry), fc.array(key), fc.array(key), (remembered, listed, used) => {
        const full = emptyRecord();
        for (const [k, v] of Object.entries(remembered)) full.images.set(k, v);
        const fresh = emptyRecord();
        const l = listing({ images: listed, containerImages: used.filter((u) => listed.includes(u)) });
        resync(full, l, NOW);
        resync(fresh, l, NOW);
        for (const [k, v] of fresh.images) expect(v.at).toBeGreaterThanOrEqual(full.images.get(k)?.at ?? -1);
      }),
    );
  });
});
