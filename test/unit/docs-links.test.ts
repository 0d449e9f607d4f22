// Every relative link in the README, CONTRIBUTING and docs/ must lead somewhere: to a file or
// directory that exists and, with a #fragment, to a heading of that Markdown file (GitHub's
// anchors). A moved or renamed doc, or a reworded heading, fails here instead of leaving a dead
// link for a reader to find. The README also stays short: it is for a newcomer's first hour,
// and the reference lives in docs/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const README_MAX_LINES = 250;

/** README.md, CONTRIBUTING.md and every Markdown file under docs/, relative to the root. */
function docFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', 'CONTRIBUTING.md', ...docs].sort();
}

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string[] {
  let fenced = false;
  const lines: string[] = [];
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      lines.push('');
      continue;
    }
    lines.push(fenced ? '' : line.replace(/`[^`]*`/g, '``'));
  }
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading keeps its text
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown file defines: one per heading, numbered like GitHub's when repeated. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1] ?? '');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1] ?? '');
  }
  return out;
}

/** Each link target in a file's prose, with its line number. */
function links(markdown: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  prose(markdown).forEach((text, i) => {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1] ?? '' });
    }
  });
  return out;
}

/** What is wrong with one link from `file`, or undefined when it resolves. */
function brokenReason(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: and the like
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved =
    pathPart === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), pathPart);
  if (!resolved.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(resolved)) return `${path.relative(ROOT, resolved)} does not exist`;
  if (fragment === undefined || !resolved.endsWith('.md') || statSync(resolved).isDirectory()) return undefined;
  if (!anchors(readFileSync(resolved, 'utf8')).has(fragment)) {
    return `${path.relative(ROOT, resolved)} has no heading #${fragment}`;
  }
  return undefined;
}

describe('links in the docs', () => {
  const files = docFiles();

  it('finds the README, CONTRIBUTING and the docs', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/architecture.md']));
  });

  it('makes anchors as GitHub does', () => {
    expect(slug('Last use (`unusedFor`)')).toBe('last-use-unusedfor');
    expect(slug('Trade-offs and what is not (yet) met')).toBe('trade-offs-and-what-is-not-yet-met');
    expect(slug('How policies combine, and what is never removed')).toBe(
      'how-policies-combine-and-what-is-never-removed',
    );
    expect(slug('Under pressure: `when` and `until` (images)')).toBe('under-pressure-when-and-until-images');
    expect(anchors('# A\n## B\n## B\n```\n# not a heading\n```\n')).toEqual(new Set(['a', 'b', 'b-1']));
  });

  it('reads links outside code only', () => {
    expect(links('[a](x.md)\n`[b](y.md)`\n```\n[c](z.md)\n```\n![d](e.png "t")\n')).toEqual([
      { line: 1, target: 'x.md' },
      { line: 6, target: 'e.png' },
    ]);
  });

  for (const file of files) {
    it(`${file}: every relative link resolves`, () => {
      const broken = links(readFileSync(path.join(ROOT, file), 'utf8'))
        .map(({ line, target }) => ({ line, target, reason: brokenReason(file, target) }))
        .filter((l) => l.reason !== undefined)
        .map((l) => `${file}:${l.line}: (${l.target}) ${l.reason}`);
      expect(broken).toEqual([]);
    });
  }

  it(`README.md is at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });
});
