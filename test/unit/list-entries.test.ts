// The list answers are read entry by entry: for any answer JSON.parse accepts, the entries are
// exactly what JSON.parse gives; for any answer cut short or broken, the read fails instead of
// returning fewer entries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eachEntry } from '../../src/docker/list-entries.js';

const same = (raw: unknown) => raw;
const bytes = (text: string) => Buffer.from(text, 'utf8');

// Entries shaped like the engine's, with strings that hold the scan's punctuation, escapes and
// characters of every UTF-8 length.
const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('{', '}', '[', ']', '"', '\\', '\\"', '",', 'ü', '🐳', '\u2028', ''));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
}));
const entry = json.object;
const list = fc.array(entry, { maxLength: 6 });
const indent = fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n ');

describe('eachEntry', () => {
  it('gives what JSON.parse gives, for a list however it is spaced', () => {
    fc.assert(
      fc.property(list, indent, (entries, space) => {
        const body = JSON.stringify(entries, null, space) + '\n';
        expect(eachEntry(bytes(body), same)).toEqual(JSON.parse(body));
      }),
      { numRuns: 400 },
    );
  });

  it('gives the list under a field of an object, wherever the field is', () => {
    fc.assert(
      fc.property(list, fc.dictionary(fc.string().filter((k) => k !== 'Volumes'), json.value, { maxKeys: 3 }), fc.nat(3), indent, (entries, others, at, space) => {
        const keys = Object.entries(others);
        keys.splice(Math.min(at, keys.length), 0, ['Volumes', entries]);
        const body = JSON.stringify(Object.fromEntries(keys), null, space);
        expect(eachEntry(bytes(body), same, 'Volumes')).toEqual(JSON.parse(body).Volumes);
      }),
      { numRuns: 300 },
    );
  });

  it('reads a null or missing field as an empty list, as the engine sends for no volumes', () => {
    expect(eachEntry(bytes('{"Volumes":null,"Warnings":null}'), same, 'Volumes')).toEqual([]);
    expect(eachEntry(bytes('{"Warnings":["x"]}'), same, 'Volumes')).toEqual([]);
    expect(eachEntry(bytes('{}'), same, 'Volumes')).toEqual([]);
    expect(eachEntry(bytes('[]'), same)).toEqual([]);
  });

  it('maps each entry once, in order', () => {
    const seen: unknown[] = [];
    const out = eachEntry(bytes('[{"Id":"a"},{"Id":"b"},{"Id":"c"}]'), (raw) => {
      seen.push(raw);
      return (raw as { Id: string }).Id.toUpperCase();
    });
    expect(out).toEqual(['A', 'B', 'C']);
    expect(seen).toEqual([{ Id: 'a' }, { Id: 'b' }, { Id: 'c' }]);
  });

  it('fails on every cut of an answer, never returning a shorter list', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), indent, fc.boolean(), (entries, space, wrapped) => {
        const body = bytes(wrapped ? JSON.stringify({ Volumes: entries, Warnings: null }, null, space) : JSON.stringify(entries, null, space));
        // Every byte boundary, including inside a multi-byte character.
        for (let cut = 0; cut < body.length; cut++) {
          expect(() => eachEntry(body.subarray(0, cut), same, wrapped ? 'Volumes' : undefined)).toThrow();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('fails on whatever JSON.parse refuses, and on entries that are not objects', () => {
    const broken = [
      '',
      'null',
      '{}',
      '[{"a":1}{"b":2}]', // no comma
      '[{"a":1},]',
      '[,{"a":1}]',
      '[{"a":1}] x',
      '[{"a":1}]]',
      '[{"a":[1}]',
      '[{"a":"x\\"}]',
      '[{"a":tru}]',
      '[1]',
      '[null]',
      '[[]]',
      '["x"]',
      '{"Volumes":[{"a":1}]}',
    ];
    for (const body of broken) expect(() => eachEntry(bytes(body), same), body).toThrow();
    const brokenWrapped = ['[]', '{"Volumes":[{"a":1}]', '{"Volumes" [{"a":1}]}', '{"Volumes":[{"a":1}] "W":1}', '{"Volumes":{}}', '{"Volumes":"x"}', '{"Volumes":[1]}', '{"W":nul}', '{Volumes:[]}'];
    for (const body of brokenWrapped) expect(() => eachEntry(bytes(body), same, 'Volumes'), body).toThrow();
  });

  it('fails where a random byte makes the answer something JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (entries, at, byte) => {
        const body = bytes(JSON.stringify(entries));
        body[at % body.length] = byte;
        let whole: unknown;
        try {
          whole = JSON.parse(body.toString('utf8'));
        } catch {
          expect(() => eachEntry(body, same)).toThrow();
          return;
        }
        // Still valid JSON: a list of objects reads the same; anything else fails.
        if (Array.isArray(whole) && whole.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e))) expect(eachEntry(body, same)).toEqual(whole);
        else expect(() => eachEntry(body, same)).toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
