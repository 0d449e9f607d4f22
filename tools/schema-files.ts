/** The exported schema files' text: draft-07 JSON Schema that editors understand. */
import { exportedSchemas } from '../src/core/config/schema.js';

const TITLES: Record<string, string> = {
  'config.schema.json': 'reclaimd configuration',
  'policies.schema.json': 'reclaimd policy file',
};

export function renderSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(exportedSchemas)) {
    const doc = { $schema: 'http://json-schema.org/draft-07/schema#', title: TITLES[name], ...schema };
    // JSON.stringify drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
    out[name] = `${JSON.stringify(doc, null, 2)}\n`;
  }
  return out;
}
