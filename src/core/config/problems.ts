/** Configuration problems are values, each pinned to a file, line and column. */

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Where in the document, for people: `policy "x" /match/olderThan`, or `/schedule`. */
  readonly where: string;
  readonly message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** `file:line:col: where: message` — the format editors and terminals turn into links. */
export function formatProblem(p: Problem): string {
  const where = p.where === '' ? '' : `${p.where}: `;
  return `${p.file}:${p.line}:${p.col}: ${where}${p.message}`;
}
