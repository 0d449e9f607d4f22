/**
 * Writes the JSON Schemas to `schema/` for editors (`npm run schema`). A unit test checks
 * the committed files equal what this writes, so they never drift from the code.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSchemas } from './schema-files.js';

const dir = fileURLToPath(new URL('../../schema/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(renderSchemas())) writeFileSync(`${dir}${name}`, text);
