/**
 * The second validation phase (meaning) and the normalised, frozen configuration the rest of
 * reclaimd uses. Pure: file contents come in as text; the shell reads the files.
 */
import type { Policy, RawConfig } from './schema.js';
import type { Problem, Result } from './problems.js';
import { parseConfigText, parsePolicyText, policyWhere } from './validate.js';
import { parseDuration } from '../../lib/units.js';
import { pressureProblems } from './pressure-rules.js';
import { parseCron } from '../../lib/cron.js';
import type { LoadedPolicy } from './loaded-policy.js';
import {
  compilePolicy,
  compileProtect,
  type CompiledPolicy,
  type CompiledProtect,
  type ProtectLists,
} from './compiled-policy.js';

export type Mode = 'dry-run' | 'enforce';

export type { LoadedPolicy };

export interface Config {
  readonly file: string;
  readonly mode: Mode;
  readonly schedule: string;
  readonly dockerHost: string | undefined;
  /** Milliseconds between engine pings (and configuration re-reads). */
  readonly pingIntervalMs: number;
  /** Milliseconds one engine request may stay silent before it fails. */
  readonly requestTimeoutMs: number;
  readonly policyPatterns: readonly string[];
  /** `protect` as written, every list present (empty when not given); see CompiledProtect. */
  readonly protect: ProtectLists;
  readonly limits: {
    readonly maxRemovalsPerRun: number;
    readonly concurrentRemovals: number;
    readonly maxRemovalFraction: number | undefined;
  };
  readonly metrics: { readonly listen: string };
  /** What is deployed counts as in use: images named by swarm services, images of Compose projects. */
  readonly inUse: { readonly swarmServices: boolean; readonly composeProjects: boolean };
  readonly log: { readonly level: string };
  /** Absolute directory for the last-use state file; undefined: last use is unknown. */
  readonly stateDir: string | undefined;
  /** Disk pressure: where to measure (undefined: the engine's data root) and how often to check. */
  readonly pressure: { readonly path: string | undefined; readonly intervalMs: number };
  /** In evaluation order: file order, then list order. */
  readonly policies: readonly LoadedPolicy[];
  /**
   * The same policies and `protect`, compiled once at load (compiled-policy.ts): what the
   * planner and explain read, so no plan parses a duration or a glob again.
   */
  readonly compiled: {
    readonly policies: readonly CompiledPolicy[];
    readonly protect: CompiledProtect;
  };
}

export const DEFAULTS = {
  mode: 'dry-run',
  schedule: '*/30 * * * *',
  maxRemovalsPerRun: 500,
  concurrentRemovals: 4,
  listen: '0.0.0.0:9476',
  logLevel: 'info',
  pingInterval: '15s',
  timeout: '60s',
  pressureInterval: '30s',
} as const;

// Timers overflow above 2^31 ms (about 24.8 days) and then fire at once; a day is plenty.
const MAX_INTERVAL_MS = 86_400_000;

// Go's time.Duration ends at about 292 years: the engine rejects a longer build-cache `until`,
// so every prune would fail. No policy needs more than a century, for any resource.
const MAX_POLICY_DURATION_MS = 5200 * 604_800_000;
/** The match keys whose values are durations. */
const DURATION_KEYS: ReadonlySet<string> = new Set(['olderThan', 'unusedFor', 'stoppedFor']);

export interface TextFile {
  readonly file: string;
  readonly text: string;
}

/** Checks the global configuration file on its own; the shell needs it to find policy files. */
export function checkConfigText(config: TextFile): Result<RawConfig> {
  const parsed = parseConfigText(config.text, config.file);
  if (!parsed.ok) return parsed;
  const { value, source } = parsed.value;
  const problems: Problem[] = [];
  const cron = value.schedule === undefined ? undefined : parseCron(value.schedule);
  if (cron?.ok === false) {
    problems.push({
      file: config.file,
      ...source.locate(['schedule']),
      where: '/schedule',
      message: `expected a cron expression like "*/30 * * * *", got ${JSON.stringify(value.schedule)}: ${cron.message}`,
    });
  }
  for (const key of ['pingInterval', 'timeout'] as const) {
    const text = value.docker?.[key];
    if (text !== undefined && (parseDuration(text) as number) > MAX_INTERVAL_MS) {
      problems.push({
        file: config.file,
        ...source.locate(['docker', key]),
        where: `/docker/${key}`,
        message: `expected a duration of at most 1d, got ${JSON.stringify(text)}`,
      });
    }
  }
  const pressureInterval = value.pressure?.interval;
  if (pressureInterval !== undefined && (parseDuration(pressureInterval) as number) > MAX_INTERVAL_MS) {
    problems.push({
      file: config.file,
      ...source.locate(['pressure', 'interval']),
      where: '/pressure/interval',
      message: `expected a duration of at most 1d, got ${JSON.stringify(pressureInterval)}`,
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

/**
 * Builds the configuration from the already-checked global file and the text of every policy
 * file (in order). Every problem in every file is reported, not just the first.
 */
export function resolveConfig(file: string, raw: RawConfig, policyFiles: readonly TextFile[]): Result<Config> {
  const problems: Problem[] = [];
  const policies: LoadedPolicy[] = [];
  const firstByName = new Map<string, string>();
  for (const pf of policyFiles) {
    const parsed = parsePolicyText(pf.text, pf.file);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const { value, source } = parsed.value;
    value.policies.forEach((policy, i) => {
      const at = (rest: (string | number)[]) => ({
        file: pf.file,
        ...source.locate(['policies', i, ...rest]),
        where: policyWhere(['policies', i, ...rest], value).where,
      });
      const pos = at([]);
      const first = firstByName.get(policy.name);
      if (first !== undefined)
        problems.push({ ...at(['name']), message: `duplicate policy name; first defined at ${first}` });
      else firstByName.set(policy.name, `${pf.file}:${pos.line}:${pos.col}`);
      for (const m of meaningProblems(policy)) problems.push({ ...at(m.path), message: m.message });
      policies.push(Object.freeze({ ...policy, source: { file: pf.file, line: pos.line } }));
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const protect: ProtectLists = {
    labels: raw.protect?.labels ?? [],
    repositories: raw.protect?.repositories ?? [],
    images: raw.protect?.images ?? [],
    containers: raw.protect?.containers ?? [],
    volumes: raw.protect?.volumes ?? [],
    networks: raw.protect?.networks ?? [],
  };
  return {
    ok: true,
    value: deepFreeze({
      file,
      mode: raw.mode ?? DEFAULTS.mode,
      schedule: raw.schedule ?? DEFAULTS.schedule,
      dockerHost: raw.docker?.host,
      pingIntervalMs: parseDuration(raw.docker?.pingInterval ?? DEFAULTS.pingInterval) as number,
      requestTimeoutMs: parseDuration(raw.docker?.timeout ?? DEFAULTS.timeout) as number,
      policyPatterns: raw.policies,
      protect,
      limits: {
        maxRemovalsPerRun: raw.limits?.maxRemovalsPerRun ?? DEFAULTS.maxRemovalsPerRun,
        concurrentRemovals: raw.limits?.concurrentRemovals ?? DEFAULTS.concurrentRemovals,
        maxRemovalFraction: raw.limits?.maxRemovalFraction,
      },
      metrics: { listen: raw.metrics?.listen ?? DEFAULTS.listen },
      inUse: { swarmServices: raw.inUse?.swarmServices ?? true, composeProjects: raw.inUse?.composeProjects ?? true },
      log: { level: raw.log?.level ?? DEFAULTS.logLevel },
      stateDir: raw.state?.dir,
      pressure: {
        path: raw.pressure?.path,
        intervalMs: parseDuration(raw.pressure?.interval ?? DEFAULTS.pressureInterval) as number,
      },
      policies,
      compiled: { policies: policies.map(compilePolicy), protect: compileProtect(protect) },
    }),
  };
}

/** Combinations the schema allows but that can never select anything, or make no sense. */
function meaningProblems(policy: Policy): Array<{ path: (string | number)[]; message: string }> {
  const out: Array<{ path: (string | number)[]; message: string }> = [];
  if (policy.resource === 'image' && policy.match.dangling === true) {
    for (const key of ['repositories', 'tags'] as const) {
      if (policy.match[key] !== undefined)
        out.push({
          path: ['match', key],
          message: `can never match together with dangling: true, because dangling images have no tags`,
        });
    }
    if (policy.keep?.newest !== undefined)
      out.push({
        path: ['keep', 'newest'],
        message: 'keep.newest counts per repository, and dangling images have none; remove it or set dangling: false',
      });
  }
  if (policy.resource === 'image') out.push(...pressureProblems(policy));
  for (const [key, text] of Object.entries(policy.match)) {
    if (DURATION_KEYS.has(key) && typeof text === 'string' && (parseDuration(text) ?? 0) > MAX_POLICY_DURATION_MS) {
      out.push({
        path: ['match', key],
        message: `expected a duration of at most 5200w (100 years), got ${JSON.stringify(text)}`,
      });
    }
  }
  return out;
}

/** Freezes every object reachable from `value`, including ones frozen shallowly before. */
function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const v of Object.values(value)) deepFreeze(v, seen);
    Object.freeze(value);
  }
  return value;
}
