// Every command the docs tell a reader to type is run by a test, or says why none can run it
// here (test/support/doc-commands.ts, DOC_COMMANDS). A new shell block in the README,
// CONTRIBUTING or docs/ fails here until a test runs it; a test that stops reading its block
// fails here too. The README's configuration block is config.example.yaml itself, so the two
// cannot drift apart again.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOC_COMMANDS, ROOT, runShellBlock, shellBlock, shellBlocks } from '../support/doc-commands.js';

/** README.md, CONTRIBUTING.md and every Markdown file under docs/, relative to the root. */
function docFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', 'CONTRIBUTING.md', ...docs].sort();
}

describe('the commands in the docs', () => {
  it('every shell block is claimed by exactly one entry of DOC_COMMANDS', () => {
    const unclaimed: string[] = [];
    for (const doc of docFiles())
      shellBlocks(doc).forEach((block, i) => {
        const claims = DOC_COMMANDS.filter((c) => c.doc === doc && block.includes(c.marker));
        if (claims.length !== 1) unclaimed.push(`${doc} block ${i + 1} (${claims.length} claims):\n${block}`);
      });
    expect(unclaimed).toEqual([]);
  });

  it('every entry names one block, and a test that reads it or a reason why none can', () => {
    const problems: string[] = [];
    for (const c of DOC_COMMANDS) {
      const where = `${c.doc} ${JSON.stringify(c.marker)}`;
      if (!existsSync(path.join(ROOT, c.doc))) problems.push(`${where}: no such doc`);
      else if (shellBlocks(c.doc).filter((b) => b.includes(c.marker)).length !== 1)
        problems.push(`${where}: not exactly one block contains the marker`);
      if ('runBy' in c) {
        const test = path.join(ROOT, c.runBy);
        if (!existsSync(test)) problems.push(`${where}: ${c.runBy} does not exist`);
        else {
          // The marker as a string literal, and a call that reads a block by one: a mention in a
          // comment is not a test that runs the block.
          const text = readFileSync(test, 'utf8');
          if (!text.includes(`'${c.marker}'`) || !/\b(shellBlock)\(/.test(text))
            problems.push(`${where}: ${c.runBy} does not read the block by its marker with shellBlock`);
        }
      } else if (c.notRun.length < 20) problems.push(`${where}: say why no test runs it`);
    }
    expect(problems).toEqual([]);
  });

  it("the README's configuration block is config.example.yaml, verbatim", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const example = readFileSync(path.join(ROOT, 'config.example.yaml'), 'utf8');
    expect(readme).toContain('```yaml\n' + example + '```\n');
  });

  it("docs/architecture.md's depcruise command shows the layers", async () => {
    const { stdout } = await runShellBlock(shellBlock('docs/architecture.md', 'npx depcruise src'), { cwd: ROOT });
    for (const layer of ['src/core', 'src/engine', 'src/runtime', 'src/cli']) expect(stdout).toContain(layer);
  });

  it('CONTRIBUTING names every package the test command installs', () => {
    const contributing = readFileSync(path.join(ROOT, 'CONTRIBUTING.md'), 'utf8');
    const script = readFileSync(path.join(ROOT, 'scripts/install-test-deps.sh'), 'utf8');
    const packages = [...new Set([...script.matchAll(/need\+=\(([^)]+)\)/g)].map((m) => m[1] as string))];
    expect(packages.length).toBeGreaterThanOrEqual(7);
    expect(packages.filter((p) => !contributing.includes(`\`${p}\``))).toEqual([]);
  });
});
