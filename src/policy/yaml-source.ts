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

/** Parses YAML text; syntax errors come back as problems with their positions. */
export function parseYaml(text: string, file: string): { ok: true; source: YamlSource } | { ok: false; problems: Problem[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_BYTES) {
    return { ok: false, problems: [{ file, line: 1, col: 1, where: '', message: `file is larger than ${MAX_BYTES} bytes; refusing to parse it` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
        return { file, line: pos.line, col: pos.col, where: '', message: `YAML syntax: ${firstLine(e.message)}` };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    return { ok: false, problems: [{ file, line: 1, col: 1, where: '', message: `YAML could not be expanded: ${(e as Error).message}` }] };
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

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
