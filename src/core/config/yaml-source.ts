/**
 * YAML parsing that keeps source positions, so every later problem can name a line and column.
 */
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { Problem } from './problems.js';

export type PathSegment = string | number;

export interface YamlSource {
  readonly file: string;
  readonly data: unknown;
  /** Line and column (1-based) of the value at `path`, or of its nearest existing ancestor. */
  locate(path: readonly PathSegment[]): { line: number; col: number };
  /** Line and column of the key `key` in the mapping at `path`, when it exists. */
  locateKey(path: readonly PathSegment[], key: string): { line: number; col: number } | undefined;
}

// Files larger than this are refused before parsing: no policy file needs 1 MiB, and a huge
// one is more likely a mistake (a binary, a log) than a policy.
const MAX_BYTES = 1024 * 1024;
// Aliases are legitimate YAML, but an alias bomb expands exponentially; yaml's default is 100.
const MAX_ALIASES = 100;
// The parser recurses once per level of nesting, so a hostile file (10,000 "[" or as many
// indented levels) would overflow the stack; no policy file needs more than a few levels.
const MAX_DEPTH = 64;

/** Parses YAML text; syntax errors come back as problems with their positions. */
export function parseYaml(
  text: string,
  file: string,
): { ok: true; source: YamlSource } | { ok: false; problems: Problem[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_BYTES) {
    return {
      ok: false,
      problems: [
        { file, line: 1, col: 1, where: '', message: `file is larger than ${MAX_BYTES} bytes; refusing to parse it` },
      ],
    };
  }
  const deep = tooDeep(text);
  if (deep)
    return {
      ok: false,
      problems: [
        { file, ...deep, where: '', message: `nesting is deeper than ${MAX_DEPTH} levels; refusing to parse it` },
      ],
    };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          col: pos.col,
          where: '',
          message: `YAML syntax: ${syntaxMessage(e.code, e.message)}`,
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    return {
      ok: false,
      problems: [{ file, line: 1, col: 1, where: '', message: `YAML could not be expanded: ${(e as Error).message}` }],
    };
  }
  const position = (offset: number) => lineCounter.linePos(offset);
  const source: YamlSource = {
    file,
    data,
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = nodeAt(doc, path.slice(0, n));
        if (node?.range) return position(node.range[0]);
      }
      return { line: 1, col: 1 };
    },
    locateKey(path, key) {
      const map = nodeAt(doc, path);
      if (!isMap(map)) return undefined;
      const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      const keyNode = pair?.key as Node | undefined;
      return keyNode?.range ? position(keyNode.range[0]) : undefined;
    },
  };
  return { ok: true, source };
}

function nodeAt(doc: Document, path: readonly PathSegment[]): Node | undefined {
  if (path.length === 0) return (doc.contents ?? undefined) as Node | undefined;
  const node = doc.getIn(path, true);
  return node && typeof node === 'object' && 'range' in node ? (node as Node) : undefined;
}

function syntaxMessage(code: string, message: string): string {
  // yaml's own advice here ("use parseAllDocuments") is for programmers, not operators.
  if (code === 'MULTIPLE_DOCS')
    return 'the file contains more than one YAML document; put every policy in one "policies:" list';
  return message.split('\n')[0] ?? message;
}

/**
 * Finds where nesting first goes deeper than MAX_DEPTH, counting flow brackets and block
 * levels (indentation, and "- " or "? " that open a level on the same line). It over-counts
 * brackets inside quoted strings, which no real policy nests 64 deep.
 */
function tooDeep(text: string): { line: number; col: number } | undefined {
  let bracket = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      continue;
    }
    if (atLineStart) {
      if (c === ' ' || c === '\t') continue;
      if ((c === '-' || c === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) continue;
      atLineStart = false;
      const blockColumn = i - lineStart;
      // Each block level needs at least one more column of indentation.
      if (blockColumn > MAX_DEPTH * 4) return { line, col: blockColumn + 1 };
    }
    if (c === '[' || c === '{') {
      bracket++;
      if (bracket > MAX_DEPTH) return { line, col: i - lineStart + 1 };
    } else if ((c === ']' || c === '}') && bracket > 0) bracket--;
  }
  return undefined;
}
