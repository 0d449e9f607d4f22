// Small builders for planner unit tests: snapshot objects with sensible defaults, a Config
// built through resolveConfig (so every test policy is schema-checked exactly like a real
// policy file), a fixed clock, and a seeded shuffle for the determinism tests.
import { resolveConfig, type Config } from '../../src/core/config/config.js';
import { formatProblem } from '../../src/core/config/problems.js';
import type { Policy, RawConfig } from '../../src/core/config/schema.js';
import type { Labels } from '../../src/lib/labels.js';
import type { ContainerObj, ImageObj, Snapshot, VolumeObj } from '../../src/core/model/snapshot.js';
import { plan } from '../../src/core/planner/plan.js';
import type { Plan } from '../../src/core/model/plan.js';

/** The planner's "now" in every unit test; the planner never reads the clock itself. */
export const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
export const SECOND = 1000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** A moment `days` days before NOW. */
export function ago(days: number): number {
  return NOW - days * DAY;
}

export interface ImageSpec {
  id: string;
  tags?: readonly string[];
  digests?: readonly string[];
  created?: number;
  /**
   * The parent image. Given as an ImageObj, the child inherits the parent's layers before its
   * own, as a real child image does; given as an ID, only the link is set.
   */
  parent?: ImageObj | string;
  /** [chain ID, size] pairs, oldest first. */
  layers?: ReadonlyArray<readonly [string, number]>;
  labels?: Labels;
}

export function image(spec: ImageSpec): ImageObj {
  const inherited = typeof spec.parent === 'object' ? spec.parent.layers : [];
  const layers = [...inherited, ...(spec.layers ?? []).map(([chain, size]) => ({ chain, size }))];
  return {
    id: spec.id,
    parentId: typeof spec.parent === 'object' ? spec.parent.id : spec.parent,
    tags: spec.tags ?? [],
    digests: spec.digests ?? [],
    created: spec.created ?? ago(365),
    labels: spec.labels ?? {},
    size: layers.reduce((sum, l) => sum + l.size, 0),
    layers,
  };
}

export interface ContainerSpec {
  name: string;
  id?: string;
  state?: string;
  /** An ImageObj sets both the reference (its first tag, else its ID) and the image ID. */
  image?: ImageObj | string;
  imageId?: string;
  created?: number;
  finishedAt?: number | undefined;
  exitCode?: number | undefined;
  labels?: Labels;
  sizeRw?: number | undefined;
  volumes?: readonly string[];
}

export function container(spec: ContainerSpec): ContainerObj {
  const img = spec.image;
  const reference = typeof img === 'object' ? (img.tags[0] ?? img.id) : (img ?? 'busybox:latest');
  return {
    id: spec.id ?? `ctr-${spec.name}`,
    name: spec.name,
    image: reference,
    imageId: spec.imageId ?? (typeof img === 'object' ? img.id : `img-of-${spec.name}`),
    state: spec.state ?? 'exited',
    created: spec.created ?? ago(30),
    finishedAt: spec.finishedAt,
    exitCode: spec.exitCode,
    labels: spec.labels ?? {},
    sizeRw: spec.sizeRw,
    volumes: spec.volumes ?? [],
  };
}

export interface VolumeSpec {
  name: string;
  driver?: string;
  created?: number | undefined;
  labels?: Labels;
  size?: number | undefined;
}

export function volume(spec: VolumeSpec): VolumeObj {
  return {
    name: spec.name,
    driver: spec.driver ?? 'local',
    created: 'created' in spec ? spec.created : ago(30),
    labels: spec.labels ?? {},
    size: spec.size,
  };
}

/** A 64-hex name, the way the engine names anonymous volumes. */
export function anonName(fill: string): string {
  return fill.repeat(64).slice(0, 64);
}

export function snapshot(parts: Partial<Snapshot>): Snapshot {
  return {
    ...(parts.store ? { store: parts.store } : {}),
    images: parts.images ?? [],
    containers: parts.containers ?? [],
    volumes: parts.volumes ?? [],
    ...(parts.ghostLayers ? { ghostLayers: parts.ghostLayers } : {}),
    ...(parts.serviceImages ? { serviceImages: parts.serviceImages } : {}),
    ...(parts.networks ? { networks: parts.networks } : {}),
    ...(parts.buildCache ? { buildCache: parts.buildCache } : {}),
    ...(parts.registry ? { registry: parts.registry } : {}),
  };
}

export interface ConfigSpec {
  policies: readonly Policy[];
  protect?: RawConfig['protect'];
  limits?: { maxRemovalsPerRun?: number; concurrentRemovals?: number; maxRemovalFraction?: number };
  inUse?: { swarmServices?: boolean; composeProjects?: boolean };
}

/**
 * A frozen Config, built by resolveConfig from one policy file holding `policies` (JSON is
 * YAML), so a policy the schema or the meaning checks reject fails the test loudly.
 */
export function config(spec: ConfigSpec): Config {
  const raw = {
    policies: ['policies.yaml'],
    ...(spec.protect !== undefined && { protect: spec.protect }),
    ...(spec.limits !== undefined && { limits: spec.limits }),
    ...(spec.inUse !== undefined && { inUse: spec.inUse }),
  };
  const r = resolveConfig('/etc/reclaimd/config.yaml', raw, [
    { file: 'policies.yaml', text: JSON.stringify({ policies: spec.policies }) },
  ]);
  if (!r.ok) throw new Error(`test config rejected:\n${r.problems.map(formatProblem).join('\n')}`);
  return r.value;
}

/** Plans at the fixed NOW. */
export function planAt(cfg: Config, snap: Partial<Snapshot>, now: number = NOW): Plan {
  return plan(cfg, snapshot(snap), now);
}

/** `resource:name` of each entry, in order: compact, and exact about order. */
export function names(entries: ReadonlyArray<{ resource: string; name: string }>): string[] {
  return entries.map((e) => `${e.resource}:${e.name}`);
}

/** A Fisher–Yates shuffle driven by a small seeded generator (mulberry32): repeatable. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Entries sorted by ID, for lists whose order is not the point of a test. */
export function byId<T extends { id: string }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
