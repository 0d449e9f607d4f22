/**
 * What each engine request answers, and the one decoder every answer goes through. The modem
 * (strict-modem.ts) asks routeOf which answer a request gets and hands the body to
 * decodeAnswer, which returns it only if it is exactly that: JSON that its schema
 * (answer-schemas.ts) accepts, an empty body where the engine answers 204, or a stream. A
 * request reclaimd makes without a route here fails: an answer nobody described is an answer
 * nobody checked.
 */
import * as validators from '../../generated/answer-validators.js';
import type { AnswerName } from './schemas.js';
import { EngineError } from '../errors.js';

/** What a route answers on success. */
export type Expected =
  | { readonly kind: 'json'; readonly name: AnswerName }
  | { readonly kind: 'empty' }
  | { readonly kind: 'text' }
  | { readonly kind: 'stream' }
  | { readonly kind: 'none' };

export interface Route {
  /** `GET /containers/json`: method and path without the API version and the query, for messages. */
  readonly label: string;
  readonly expected: Expected;
}

const json = (name: AnswerName): Expected => ({ kind: 'json', name });

// Method, path (after the `/v1.xx` prefix, without the query) and its answer. Names and IDs
// in paths are any non-empty text here: which of them reclaimd sends is answer-schemas.ts's
// and the adapter's business.
const ROUTES: ReadonlyArray<readonly [string, RegExp, Expected]> = [
  ['GET', /^\/version$/, json('version')],
  ['GET', /^\/info$/, json('info')],
  ['GET', /^\/_ping$/, { kind: 'text' }],
  ['GET', /^\/images\/json$/, json('imageList')],
  ['GET', /^\/containers\/json$/, json('containerList')],
  ['GET', /^\/volumes$/, json('volumeList')],
  ['GET', /^\/networks$/, json('networkList')],
  ['GET', /^\/services$/, json('serviceList')],
  ['GET', /^\/images\/get$/, { kind: 'stream' }],
  ['GET', /^\/events$/, { kind: 'stream' }],
  ['GET', /^\/distribution\/.+\/json$/, json('distribution')],
  ['GET', /^\/images\/.+\/json$/, json('imageInspect')],
  ['GET', /^\/images\/.+\/history$/, json('imageHistory')],
  ['GET', /^\/containers\/[^/]+\/json$/, json('containerInspect')],
  ['DELETE', /^\/images\/.+$/, json('imageDelete')],
  ['DELETE', /^\/containers\/[^/]+$/, { kind: 'empty' }],
  ['DELETE', /^\/volumes\/.+$/, { kind: 'empty' }],
  ['DELETE', /^\/networks\/[^/]+$/, { kind: 'empty' }],
  ['POST', /^\/build\/prune$/, json('buildPrune')],
];

/** The route of a request, from its method and its path as sent (version prefix and query included). */
export function routeOf(method: string, path: string): Route {
  const bare = path.split('?')[0]?.replace(/^\/v[0-9]+\.[0-9]+(?=\/)/, '') ?? '';
  // Labels name the endpoint, not the object: IDs and names stay out of metric-like messages.
  const label = `${method} ${bare.length > 120 ? `${bare.slice(0, 120)}…` : bare}`;
  if (method === 'GET' && bare === '/system/df') return { label, expected: diskUsageOf(path) };
  for (const [m, pattern, expected] of ROUTES) if (m === method && pattern.test(bare)) return { label, expected };
  return { label, expected: { kind: 'none' } };
}

/** The disk-usage walk answers with the kinds it was asked for (one, from API 1.42), or all. */
function diskUsageOf(path: string): Expected {
  const kinds = new URLSearchParams(path.split('?')[1] ?? '').getAll('type');
  if (kinds.length !== 1) return json('diskUsage');
  const byKind: Record<string, AnswerName> = {
    image: 'diskUsageImages',
    volume: 'diskUsageVolumes',
    'build-cache': 'diskUsageBuildCache',
  };
  return json(byKind[kinds[0] as string] ?? 'diskUsage');
}

/** The body of a success answer as its route says it must be, or an EngineError `malformed` that says what is wrong. */
export function decodeAnswer(route: Route, body: Buffer): unknown {
  const { expected } = route;
  switch (expected.kind) {
    case 'none':
      throw new EngineError(
        'malformed',
        `${route.label}: reclaimd has no description of this answer and reads none it has not described`,
        undefined,
      );
    case 'text':
      return body.toString('utf8');
    case 'stream':
      throw new EngineError('malformed', `${route.label}: a stream was read as a whole answer`, undefined);
    case 'empty':
      if (body.toString('utf8').trim() !== '') throw malformed(route, `expected no body, got ${describe(body)}`);
      return undefined;
    case 'json':
      return decodeJson(route, expected.name, body);
  }
}

/** Parses and checks one JSON document against the schema of `name`; throws EngineError `malformed`. */
export function decodeJson(route: Route, name: AnswerName, body: Buffer | string): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw malformed(route, 'the answer is empty, expected JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw malformed(route, `the answer is not JSON (${(err as Error).message}); got ${describe(text)}`);
  }
  const validate = validators[name] as ValidateFn;
  if (!validate(value)) throw malformed(route, firstError(validate.errors));
  return value;
}

interface ValidateFn {
  (value: unknown): boolean;
  errors?: ReadonlyArray<{ instancePath: string; message?: string; data?: unknown }> | null;
}

function firstError(errors: ValidateFn['errors']): string {
  const e = errors?.[0];
  if (!e) return 'the answer does not have the shape reclaimd reads';
  const where = e.instancePath === '' ? 'the answer' : e.instancePath.slice(1).replace(/\//g, '.');
  return `${where} ${e.message ?? 'is invalid'}, got ${describe(e.data)}`;
}

/** A short, printable view of a value or body for a message. */
function describe(value: unknown): string {
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  const text =
    typeof value === 'string'
      ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
      : JSON.stringify(value);
  if (text === undefined) return 'nothing';
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function malformed(route: Route, detail: string): EngineError {
  return new EngineError('malformed', `${route.label}: ${detail}`, undefined);
}
