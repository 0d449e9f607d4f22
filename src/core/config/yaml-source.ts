/**
 * YAML parsing that keeps source positions, so every later problem can name a line and column.
 */
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node, type YAMLError } from 'yaml';
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
const PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: true, strict: true } as const;
// No file needs more syntax problems than this to be fixed; each one costs a parse.
const MAX_SYNTAX_PROBLEMS = 5;

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
  const doc = parseDocument(text, { lineCounter, ...PARSE_OPTIONS });
  if (doc.errors.length > 0) return { ok: false, problems: syntaxProblems(text, file, doc.errors, lineCounter) };
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

/**
 * The syntax errors a person has to fix, each at the line of the mistake. One mistake, a line
 * indented too little or too much, derails the parser for the rest of its collection: yaml
 * reports it, then errors for the lines it could no longer fit, some of them at the blank line
 * before the next item. So the errors are taken one at a time, earliest first: after each, the
 * line of its mistake (with the lines indented below it) is blanked out and the text parsed
 * again, and only the errors yaml reported in the first place and still reports then are left
 * to take. Those do not follow from a mistake already taken (`match: a: 1` and a stray word
 * twenty lines below are both reported); the cascade of a mistake goes with its lines.
 */
function syntaxProblems(text: string, file: string, errors: readonly YAMLError[], lines: LineCounter): Problem[] {
  const key = (e: YAMLError) => `${e.code}@${e.pos[0]}`;
  const original = new Set(errors.map(key));
  const problems: Problem[] = [];
  let current = text;
  let remaining = errors;
  while (problems.length < MAX_SYNTAX_PROBLEMS) {
    const left = [...remaining].sort((a, b) => a.pos[0] - b.pos[0]).filter((e) => original.has(key(e)));
    const next = left[0];
    if (next === undefined) break;
    const found = mistake(text, lines, next, left);
    for (const e of left) if (e.pos[0] === next.pos[0]) original.delete(key(e));
    problems.push({ file, ...found.at, where: '', message: `YAML syntax: ${found.message}` });
    current = blankNode(current, lines, found.at.line);
    remaining = parseDocument(current, PARSE_OPTIONS).errors;
  }
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

interface Mistake {
  readonly at: { line: number; col: number };
  readonly message: string;
}

/**
 * The mistake behind `error`, the earliest of `errors`, in words a person can act on: where the
 * error comes from indentation, at column 1 of the line to fix, with a hint to check it.
 */
function mistake(text: string, lines: LineCounter, error: YAMLError, errors: readonly YAMLError[]): Mistake {
  // A line indented more than the key above it continues that key's value, so yaml reads one
  // key from the value to the next ":" and says so at the value: the line to fix is where
  // that key ends.
  const multiline = errors.find((e) => e.code === 'MULTILINE_IMPLICIT_KEY' && e.pos[0] === error.pos[0]);
  if (multiline !== undefined) {
    const from = lines.linePos(multiline.pos[0]).line;
    const line = lines.linePos(multiline.pos[1]).line;
    if (line > from) {
      return {
        at: { line, col: 1 },
        message: `line ${line} is indented more than line ${from}, so it reads as the rest of the value on line ${from}, which cannot hold a "key:"; check the indentation of line ${line}`,
      };
    }
  }
  const moved = mistakeAt(text, error.pos[0]);
  const at = moved === error.pos[0] ? lines.linePos(moved) : { line: lines.linePos(moved).line, col: 1 };
  const hint = isIndentation(error) ? `; check the indentation of line ${at.line}` : '';
  return { at, message: `${syntaxMessage(error.code, error.message)}${hint}` };
}

/** Whether yaml says a line starts at the wrong column. */
function isIndentation(error: YAMLError): boolean {
  // "Flow sequence in block collection must be sufficiently indented and end with a ]" is
  // most often a missing bracket; yaml's words say both.
  if (error.code === 'BAD_INDENT') return !/^Flow /.test(error.message);
  if (error.code === 'TAB_AS_INDENT') return true;
  // "A block sequence may not be used as an implicit map key": a "- " at the wrong column.
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY') return /block sequence/.test(error.message);
  // "Sequence item without - indicator": a line of an item indented less than the item.
  return error.code === 'MISSING_CHAR' && /without - indicator/.test(error.message);
}

/**
 * Where the mistake behind an error at `offset` is. yaml puts some errors (a "- " at the wrong
 * column) at the end of the item before: when nothing but blank space and comments follows
 * `offset` on its line, the mistake is on the next line with content.
 */
function mistakeAt(text: string, offset: number): number {
  if (offset < 0) return 0;
  const lineEnd = text.indexOf('\n', offset);
  if (!/^[ \t]*(#.*)?\r?$/.test(text.slice(offset, lineEnd === -1 ? undefined : lineEnd))) return offset;
  const next = /\n(?![ \t]*(#[^\n]*)?\r?(\n|$))/g;
  next.lastIndex = offset;
  const found = next.exec(text);
  return found === null ? offset : found.index + 1;
}

function lineText(text: string, lines: LineCounter, line: number): string {
  const start = lines.lineStarts[line - 1] ?? text.length;
  const end = lines.lineStarts[line] ?? text.length;
  return text.slice(start, end).replace(/\r?\n$/, '');
}

/**
 * `text` with line `line` (1-based) made blank, and the lines below it that are indented more
 * (what the line's key holds), every other character where it was.
 */
function blankNode(text: string, lines: LineCounter, line: number): string {
  const indent = (n: number) => /^[ \t]*/.exec(lineText(text, lines, n))?.[0].length ?? 0;
  let last = line;
  for (let n = line + 1; n <= lines.lineStarts.length; n++) {
    if (/^[ \t]*(#.*)?$/.test(lineText(text, lines, n))) continue;
    if (indent(n) <= indent(line)) break;
    last = n;
  }
  const start = lines.lineStarts[line - 1] ?? text.length;
  const end = (lines.lineStarts[last - 1] ?? text.length) + lineText(text, lines, last).length;
  return text.slice(0, start) + text.slice(start, end).replace(/[^\r\n]/g, ' ') + text.slice(end);
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
