// The schema files editors use are generated from the one schema in src/core/config/schema.ts;
// this fails when someone changes the schema and forgets `npm run build && npm run schema`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { renderSchemas } from '../../tools/schema-files.js';
import { renderAnswerValidators, renderValidators } from '../../tools/validator-code.js';

describe('exported JSON Schemas', () => {
  for (const [name, text] of Object.entries(renderSchemas())) {
    it(`schema/${name} is up to date`, () => {
      expect(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8')).toBe(text);
    });
  }

  it('src/generated/schema-validators.ts (the precompiled validators) is up to date', () => {
    expect(readFileSync(new URL('../../src/generated/schema-validators.ts', import.meta.url), 'utf8')).toBe(
      renderValidators(),
    );
  });

  it("src/generated/answer-validators.ts (the engine answers' validators) is up to date", () => {
    expect(readFileSync(new URL('../../src/generated/answer-validators.ts', import.meta.url), 'utf8')).toBe(
      renderAnswerValidators(),
    );
  });

  it('a plain JSON Schema validator (as in an editor) accepts the shipped examples and rejects a typo', () => {
    // Editors know neither our formats nor our annotations, so run ajv without them, non-strict.
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const policies = ajv.compile(
      JSON.parse(readFileSync(new URL('../../schema/policies.schema.json', import.meta.url), 'utf8')) as object,
    );
    const config = ajv.compile(
      JSON.parse(readFileSync(new URL('../../schema/config.schema.json', import.meta.url), 'utf8')) as object,
    );
    expect(config(parse(readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8')))).toBe(true);
    const defaults = parse(readFileSync(new URL('../../policies/defaults.yaml', import.meta.url), 'utf8')) as {
      policies: Array<Record<string, unknown>>;
    };
    expect(policies(defaults)).toBe(true);
    const typo = { policies: [{ ...defaults.policies[0], match: { olderthan: '1h' } }] };
    expect(policies(typo)).toBe(false);
  });
});
