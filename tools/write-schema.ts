/**
 * Writes the JSON Schemas to `schema/` for editors, and the precompiled validators to
 * src/generated/schema-validators.ts and src/generated/answer-validators.ts (`npm run schema`). Unit
 * tests check the committed files equal what this writes, so they never drift from the code.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSchemas } from './schema-files.js';
import { renderAnswerValidators, renderValidators } from './validator-code.js';

const dir = fileURLToPath(new URL('../schema/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(renderSchemas())) writeFileSync(`${dir}${name}`, text);
writeFileSync(fileURLToPath(new URL('../src/generated/schema-validators.ts', import.meta.url)), renderValidators());
writeFileSync(
  fileURLToPath(new URL('../src/generated/answer-validators.ts', import.meta.url)),
  renderAnswerValidators(),
);
