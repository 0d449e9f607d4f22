/** Engine errors, classified by what reclaimd should do about them. */

/**
 * `malformed`: the engine (or something between it and reclaimd) answered, but not with an
 * answer reclaimd can read with certainty (see answer-routes.ts); nothing that rests on it may
 * be removed, so like `unreachable` it ends the cycle.
 */
export type EngineErrorKind = 'gone' | 'conflict' | 'unreachable' | 'failed' | 'malformed';

/** An error from talking to the engine, with a stable code for logs and metrics. */
export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
    this.name = 'EngineError';
  }
  get code(): string {
    return `ENGINE_${this.kind.toUpperCase()}`;
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EACCES',
  'ECONNABORTED',
]);

/**
 * 404 means someone else removed it first; 409 means the engine refused because the object is
 * in use or referenced (skip, look again next cycle); socket errors mean the engine is gone.
 * dockerode puts the status in `statusCode` (its `reason` text is missing for some endpoints).
 */
export function classify(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const e = err as { statusCode?: number; code?: string; json?: { message?: string } | null; message?: string };
  const detail = (e.json?.message ?? e.message ?? String(err)).trim();
  if (e.statusCode === 404) return new EngineError('gone', detail, 404);
  if (e.statusCode === 409) return new EngineError('conflict', detail, 409);
  if (e.code !== undefined && UNREACHABLE.has(e.code))
    return new EngineError('unreachable', `${e.code}: ${detail}`, undefined);
  if (e.statusCode === undefined && /socket hang up|connect|timeout/i.test(detail))
    return new EngineError('unreachable', detail, undefined);
  return new EngineError('failed', detail, e.statusCode);
}
