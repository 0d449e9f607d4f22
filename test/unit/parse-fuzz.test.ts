// Random input never crashes the configuration parser: it returns a value or problems, each
// pinned to a line and column inside the file, and never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText, parsePolicyText } from '../../src/core/config/validate.js';
import { checkConfigText } from '../../src/core/config/config.js';

const lines = (text: string) => text.split('\n').length;

function wellFormed(result: ReturnType<typeof parsePolicyText>, text: string): void {
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const p of result.problems) {
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(p.line).toBeLessThanOrEqual(lines(text) + 1);
    expect(p.col).toBeGreaterThanOrEqual(1);
    expect(p.message.length).toBeGreaterThan(0);
  }
}

// Values shaped like policy files, so the generator reaches past the YAML layer into the schema.
const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('7d', '7 days', 'ci/**', '[abc', 'image', 'volume', 'dangling'),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('name', 'resource', 'match', 'keep', 'olderThan', 'tags', 'labels', 'newest', 'x'),
      tie('node'),
      { maxKeys: 4 },
    ),
  ),
})).node;

describe('the parser on random input', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        wellFormed(parsePolicyText(text, 'p.yaml'), text);
        wellFormed(parseConfigText(text, 'c.yaml') as ReturnType<typeof parsePolicyText>, text);
        checkConfigText({ file: 'c.yaml', text });
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on random YAML documents shaped like policy files', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 4 }), (policies) => {
        const text = stringify({ policies });
        wellFormed(parsePolicyText(text, 'p.yaml'), text);
      }),
      { numRuns: 1000 },
    );
  });
});
