/**
 * Validation in layers, each problem pinned to file:line:col: YAML syntax first, then the JSON
 * Schema (structure and types, every error at once), then meaning (see config.ts).
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { PolicyFile as PolicyFileT, RawConfig } from './schema.js';
// Precompiled from schema.ts by `npm run schema` (see validator-code.ts): at run time neither
// TypeBox nor ajv's compiler is loaded, which keeps the daemon's resident memory down.
import {
  validateConfig as configValidator,
  validatePolicyFile as policyFileValidator,
} from '../../generated/schema-validators.js';
import { formatReasons } from './schema-formats.js';
import { parseYaml, type PathSegment, type YamlSource } from './yaml-source.js';
import type { Problem, Result } from './problems.js';

const validateConfig = configValidator as ValidateFunction<RawConfig>;
const validatePolicyFile = policyFileValidator as ValidateFunction<PolicyFileT>;

export interface Parsed<T> {
  readonly value: T;
  readonly source: YamlSource;
}

/** Parses and schema-checks the global configuration file. */
export function parseConfigText(text: string, file: string): Result<Parsed<RawConfig>> {
  return parseWith(text, file, validateConfig, (path) => ({ where: pointer(path), path }));
}

/** Parses and schema-checks one policy file. */
export function parsePolicyText(text: string, file: string): Result<Parsed<PolicyFileT>> {
  return parseWith(text, file, validatePolicyFile, (path, data) => policyWhere(path, data));
}

type Where = (path: PathSegment[], data: unknown) => { where: string; path: PathSegment[] };

function parseWith<T>(text: string, file: string, validate: ValidateFunction<T>, where: Where): Result<Parsed<T>> {
  const parsed = parseYaml(text, file);
  if (!parsed.ok) return parsed;
  const { source } = parsed;
  if (source.data === null || source.data === undefined) {
    return {
      ok: false,
      problems: [{ file, line: 1, col: 1, where: '', message: 'the file is empty; expected a mapping' }],
    };
  }
  const data: unknown = source.data;
  if (validate(data)) return { ok: true, value: { value: data, source } };
  const errors = withoutEchoes(validate.errors ?? []);
  const problems = dedupe([
    ...errors.map((e) => toProblem(e, source, where)),
    ...unknownPolicyKeys(errors, source, where),
  ]).sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, problems };
}

/** `policy "name" /match/olderThan` for paths inside `/policies/N`. */
export function policyWhere(path: PathSegment[], data: unknown): { where: string; path: PathSegment[] } {
  if (path[0] !== 'policies' || typeof path[1] !== 'number') return { where: pointer(path), path };
  const policies = (data as { policies?: unknown[] } | null)?.policies;
  const name = (policies?.[path[1]] as { name?: unknown } | undefined)?.name;
  const label = typeof name === 'string' ? `policy "${name}"` : `policy #${path[1] + 1}`;
  const rest = path.slice(2);
  return { where: rest.length === 0 ? label : `${label} ${pointer(rest)}`, path };
}

function toProblem(e: ErrorObject, source: YamlSource, where: Where): Problem {
  const path = parsePointer(e.instancePath);
  const data = source.data;
  const at = (p: PathSegment[]) => ({ file: source.file, ...source.locate(p), ...where(p, data) });
  const expected = (e.parentSchema as Record<string, unknown> | undefined)?.['x-expected'];
  const got = describe(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema?.['properties'] as object | undefined) ?? {});
      const pos = source.locateKey(path, key) ?? source.locate(path);
      const hint = suggest(key, allowed);
      return {
        file: source.file,
        ...pos,
        ...where([...path, key], data),
        message: `unknown key "${key}"${hint}; expected one of: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return { ...at(path), message: `missing required key "${key}"` };
    }
    case 'discriminator': {
      const p = e.params as { tag: string; tagValue: unknown };
      const tagPath = [...path, p.tag];
      return {
        ...at(p.tagValue === undefined ? path : tagPath),
        message: `expected ${p.tag} to be one of image, container, volume, network, buildCache, got ${describe(p.tagValue)}`,
      };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      return { ...at(path), message: `expected one of ${allowed}, got ${got}` };
    }
    case 'type': {
      const type = (e.params as { type: string }).type;
      const noun =
        type === 'integer'
          ? 'a whole number'
          : type === 'array'
            ? 'a list'
            : type === 'object'
              ? 'a mapping'
              : `a ${type}`;
      return { ...at(path), message: `expected ${noun}, got ${got}` };
    }
    case 'format':
    case 'pattern':
    case 'minimum':
    case 'minLength': {
      const why =
        e.keyword === 'format' && typeof e.data === 'string' ? formatReason(String(e.params['format']), e.data) : '';
      return {
        ...at(path),
        message: `expected ${typeof expected === 'string' ? expected : (e.message ?? 'a valid value')}, got ${got}${why}`,
      };
    }
    case 'minItems':
      return {
        ...at(path),
        message: `expected at least ${(e.params as { limit: number }).limit} item(s), got an empty list`,
      };
    default:
      return {
        ...at(path),
        message: `${e.message ?? 'is invalid'}${typeof expected === 'string' ? `; expected ${expected}` : ''}`,
      };
  }
}

/**
 * Drops errors that only repeat another: the discriminator's complaint about `resource` when
 * `resource` is missing or of the wrong type (already reported), and a glob's `format` error
 * when its type is wrong.
 */
function withoutEchoes(errors: ErrorObject[]): ErrorObject[] {
  const paths = new Set(
    errors
      .filter((e) => e.keyword !== 'discriminator')
      .map((e) =>
        e.keyword === 'required'
          ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`
          : e.instancePath,
      ),
  );
  return errors.filter(
    (e) => e.keyword !== 'discriminator' || !paths.has(`${e.instancePath}/${(e.params as { tag: string }).tag}`),
  );
}

// Every key a policy may have, whatever its resource.
const POLICY_KEYS = ['name', 'description', 'action', 'resource', 'match', 'keep', 'removeAnonymousVolumes', 'archive'];

/**
 * When `resource` is missing or wrong, ajv cannot tell which policy shape applies and checks
 * no other key, so a misspelt `resurce:` would go unnamed. Report keys no policy has.
 */
function unknownPolicyKeys(errors: ErrorObject[], source: YamlSource, where: Where): Problem[] {
  const out: Problem[] = [];
  for (const e of errors) {
    const missing =
      e.keyword === 'required' && (e.params as { missingProperty: string }).missingProperty === 'resource';
    if (!missing && e.keyword !== 'discriminator') continue;
    const path = parsePointer(e.instancePath);
    const policy = path.reduce<unknown>(
      (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
      source.data,
    );
    if (!policy || typeof policy !== 'object') continue;
    for (const key of Object.keys(policy)) {
      if (POLICY_KEYS.includes(key)) continue;
      const pos = source.locateKey(path, key) ?? source.locate(path);
      out.push({
        file: source.file,
        ...pos,
        ...where([...path, key], source.data),
        message: `unknown key "${key}"${suggest(key, POLICY_KEYS)}; expected one of: ${POLICY_KEYS.join(', ')}`,
      });
    }
  }
  return out;
}

/** Why a string fails its format (a glob, an image selector), in parentheses; '' when the format cannot say. */
function formatReason(format: string, value: string): string {
  const reason = formatReasons[format]?.(value);
  return reason === undefined ? '' : ` (${reason})`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** "Did you mean" for near-miss keys: case differences or up to two edits. */
function suggest(key: string, allowed: string[]): string {
  const best = allowed
    .map((a) => ({
      a,
      d: a.toLowerCase() === key.toLowerCase() ? 0 : editDistance(a.toLowerCase(), key.toLowerCase()),
    }))
    .sort((x, y) => x.d - y.d)[0];
  // Short keys are a few edits from many others, so they must be closer to count.
  return best && best.d <= (key.length < 5 ? 1 : 2) ? ` (did you mean "${best.a}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.col}:${p.where}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function parsePointer(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

/** A JSON pointer for people: `/match/olderThan`. */
export function pointer(path: readonly PathSegment[]): string {
  return path.length === 0 ? '/' : `/${path.join('/')}`;
}
