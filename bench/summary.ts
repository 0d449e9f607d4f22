// `npm run bench:summary`: reads every bench/results/removal-*.json and writes
// bench/results/README.md (see summary-table.ts).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { RemovalResult } from './removal.js';
import { renderSummary } from './summary-table.js';

const { values } = parseArgs({ options: { dir: { type: 'string', default: 'bench/results' } } });
const dir = values.dir;
const results = readdirSync(dir)
  .filter((f) => /^removal-.*\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as RemovalResult);
writeFileSync(`${dir}/README.md`, renderSummary(results));
process.stderr.write(`[bench] ${dir}/README.md from ${results.length} results\n`);
