/**
 * `reclaimd explain`: for one object, what every policy of its resource thinks of it and why,
 * which policy decides, and what the whole plan finally does with it. Pure, like the planner,
 * and built on it rather than beside it: each policy's view is the planner's own decision
 * with the configuration narrowed to that one policy (plus the container policies, which the
 * planner runs first, so "in use" means what it means in the real plan), and the verdict is
 * the full plan's. So explain never disagrees with `plan`, and needs no change when a planner
 * learns a new rule.
 */
import type { Config, LoadedPolicy } from '../config/config.js';
import type { CompiledPolicy } from '../config/compiled-policy.js';
import type { ArchivePlan, Plan, ResourceKind } from '../model/plan.js';
import type { Snapshot } from '../model/snapshot.js';
import { plan } from '../planner/plan.js';
import type { DiskFigures } from '../planner/pressure/pressure.js';
import { whyNoMatch } from './why-no-match.js';
import type { Target } from './target.js';
import { imageName } from '../planner/shared/image-index.js';
import { isAnonymousVolume } from '../model/snapshot.js';
import { containerProtection, imageProtection, protectedReason, volumeProtection } from '../match/protect.js';
import { formatBytes, formatDuration } from '../../lib/units.js';

export type { Target } from './target.js';
export { findObject, describeTarget, type FindResult } from './find.js';

/** One policy's decision about the object, had it been the only policy of its resource. */
export interface PolicyView {
  readonly policy: string;
  readonly file: string;
  readonly line: number;
  /** The policy's own resource: a container policy can remove anonymous volumes too. */
  readonly resource: ResourceKind;
  readonly decision: 'select' | 'report' | 'keep' | 'no-match';
  readonly reason: string;
  /** This is the policy whose decision stands (the first that matches). */
  readonly decides: boolean;
}

export interface UsedBy {
  readonly container: string;
  readonly id: string;
  readonly state: string;
  /** The plan removes this container (then it no longer holds the object). */
  readonly removedByPlan: boolean;
}

export interface Explanation {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  /** What the policies look at, in a line: tags and digests, age, size, state. */
  readonly summary: string;
  /**
   * The global protection that holds for it, naming the key and the entry, e.g.
   * `protect.images "postgres:16"` or `protect.containers "db-*" (db-main)`; undefined if none.
   */
  readonly protectedBy: string | undefined;
  /** Containers using the image or mounting the volume (any state). */
  readonly usedBy: readonly UsedBy[];
  /** Last use as the last-use store saw it (epoch ms); null when no last-use data exists. */
  readonly lastUsed: number | null | undefined;
  readonly policies: readonly PolicyView[];
  readonly decidedBy: string | undefined;
  readonly verdict: {
    readonly outcome: 'remove' | 'report' | 'keep' | 'none';
    readonly policy: string | undefined;
    readonly reason: string;
    readonly archive?: ArchivePlan;
  };
  /** Set when a safety limit blocks the whole plan: then nothing is removed. */
  readonly blocked: string | undefined;
}

/**
 * Explains what `config` does with `target`, given the engine `snapshot` at `now`.
 *
 * @param disk the data-root file system as the cycle measured it, for `when.diskUsageAbove`
 *   policies (the planner's own parameter): without it they do nothing, as in the plan.
 */
export function explain(
  config: Config,
  snapshot: Snapshot,
  now: number,
  target: Target,
  disk?: DiskFigures,
): Explanation {
  const { resource, id, name } = identify(target);
  const full = plan(config, snapshot, now, disk);
  const protectedBy = protection(config, target);
  const verdict = verdictOf(full, resource, id, protectedBy);
  const views = relevantPolicies(config, resource).map((p): Omit<PolicyView, 'decides'> => {
    const narrowedConfig = narrow(config, resource, p);
    const narrowed = plan(narrowedConfig, snapshot, now, disk);
    const seen = decisionIn(narrowed, resource, id, p.name);
    const compiled = narrowedConfig.compiled.policies.find((c) => c.spec === p);
    return {
      policy: p.name,
      file: p.source.file,
      line: p.source.line,
      resource: p.resource,
      ...(seen ?? {
        decision: 'no-match',
        reason:
          compiled === undefined
            ? 'does not match (a match condition fails)'
            : whyNoMatch(compiled, target, snapshot, now, narrowed),
      }),
    };
  });
  // The full plan names the deciding policy; were it silent, the first that matched would decide.
  const decidedBy = verdict.policy ?? views.find((v) => v.decision !== 'no-match')?.policy;
  return {
    resource,
    id,
    name,
    summary: summarize(target, now),
    protectedBy,
    usedBy: usersOf(snapshot, full, target),
    lastUsed: lastUse(snapshot, target),
    policies: views.map((v) => ({ ...v, decides: v.policy === decidedBy })),
    decidedBy,
    verdict,
    blocked: full.blocked,
  };
}

function identify(t: Target): { resource: ResourceKind; id: string; name: string } {
  if (t.resource === 'image') return { resource: 'image', id: t.image.id, name: imageName(t.image) };
  if (t.resource === 'container') return { resource: 'container', id: t.container.id, name: t.container.name };
  return { resource: 'volume', id: t.volume.name, name: t.volume.name };
}

/** The policies that look at objects of this resource, in evaluation order. */
function relevantPolicies(config: Config, resource: ResourceKind): LoadedPolicy[] {
  return config.policies.filter(
    (p) =>
      p.resource === resource ||
      (resource === 'volume' && p.resource === 'container' && p.removeAnonymousVolumes === true),
  );
}

/**
 * The configuration with `only` as the one policy that can decide about objects of `resource`.
 * Container policies stay (containers are planned first: an image or volume used only by a
 * container the plan removes is free), but none of them removes anonymous volumes unless it is
 * `only`. Limits are lifted: they block whole plans, never single decisions.
 */
function narrow(config: Config, resource: ResourceKind, only: LoadedPolicy): Config {
  const policies = config.policies.flatMap((p): LoadedPolicy[] => {
    if (p === only) return [p];
    if (p.resource !== 'container' || resource === 'container') return [];
    return [p.removeAnonymousVolumes === true ? { ...p, removeAnonymousVolumes: false } : p];
  });
  const compiled = config.compiled.policies.flatMap((p): CompiledPolicy[] => {
    if (p.spec === only) return [p];
    if (p.resource !== 'container' || resource === 'container') return [];
    return [p.removeAnonymousVolumes ? { ...p, removeAnonymousVolumes: false } : p];
  });
  return {
    ...config,
    policies,
    compiled: { ...config.compiled, policies: compiled },
    limits: { ...config.limits, maxRemovalsPerRun: Number.MAX_SAFE_INTEGER, maxRemovalFraction: undefined },
  };
}

function decisionIn(
  p: Plan,
  resource: ResourceKind,
  id: string,
  policy: string,
): { decision: PolicyView['decision']; reason: string } | undefined {
  const is = (e: { resource: ResourceKind; id: string; policy: string }) =>
    e.resource === resource && e.id === id && e.policy === policy;
  const selected = p.actions.find(is);
  if (selected) return { decision: 'select', reason: selected.reason };
  const reported = p.reported.find(is);
  if (reported) return { decision: 'report', reason: reported.reason };
  const kept = p.kept.find(is);
  if (kept) return { decision: 'keep', reason: kept.reason };
  return undefined;
}

function verdictOf(
  p: Plan,
  resource: ResourceKind,
  id: string,
  protectedBy: string | undefined,
): Explanation['verdict'] {
  const is = (e: { resource: ResourceKind; id: string }) => e.resource === resource && e.id === id;
  const action = p.actions.find(is);
  if (action)
    return {
      outcome: 'remove',
      policy: action.policy,
      reason: action.reason,
      ...(action.resource === 'image' && action.archive ? { archive: action.archive } : {}),
    };
  const reported = p.reported.find(is);
  if (reported) return { outcome: 'report', policy: reported.policy, reason: reported.reason };
  const kept = p.kept.find(is);
  if (kept) return { outcome: 'keep', policy: kept.policy, reason: kept.reason };
  // No policy would take it, but say the protection too: it holds whatever policies are added.
  const why = protectedBy === undefined ? '' : `${protectedReason(protectedBy)}, and `;
  return { outcome: 'none', policy: undefined, reason: `${why}no policy matches it, so it stays` };
}

function summarize(t: Target, now: number): string {
  const ago = (ms: number | undefined) =>
    ms === undefined ? 'unknown' : `${formatDuration(Math.max(0, now - ms))} ago`;
  if (t.resource === 'image') {
    const i = t.image;
    const tags = i.tags.length > 0 ? `tags ${i.tags.join(', ')}` : 'untagged';
    const digests = i.digests.length > 0 ? `digests ${i.digests.join(', ')}` : 'no repository digest';
    return `${tags}; ${digests}; created ${ago(i.created)}; ${formatBytes(i.size)}`;
  }
  if (t.resource === 'container') {
    const c = t.container;
    const finished =
      c.state === 'exited' || c.state === 'dead'
        ? `; finished ${ago(c.finishedAt)}, exit code ${c.exitCode ?? 'unknown'}`
        : '';
    return `${c.state}; image ${c.image}; created ${ago(c.created)}${finished}`;
  }
  const v = t.volume;
  return `${isAnonymousVolume(v) ? 'anonymous' : 'named'}; driver ${v.driver}; created ${ago(v.created)}`;
}

/** The protect entry that holds for the object, in the very words the planner's reason uses. */
function protection(config: Config, t: Target): string | undefined {
  const protect = config.compiled.protect;
  if (t.resource === 'image') return imageProtection(protect, t.image);
  if (t.resource === 'container') return containerProtection(protect, t.container);
  return volumeProtection(protect, t.volume);
}

function usersOf(snapshot: Snapshot, full: Plan, t: Target): UsedBy[] {
  if (t.resource === 'container') return [];
  const removed = new Set(full.actions.filter((a) => a.resource === 'container').map((a) => a.id));
  const users = snapshot.containers.filter((c) =>
    t.resource === 'image' ? c.imageId === t.image.id : c.volumes.includes(t.volume.name),
  );
  return users.map((c) => ({ container: c.name, id: c.id, state: c.state, removedByPlan: removed.has(c.id) }));
}

function lastUse(snapshot: Snapshot, t: Target): number | null | undefined {
  if (snapshot.usage === undefined) return null;
  if (t.resource === 'image') return snapshot.usage.images.get(t.image.id);
  if (t.resource === 'volume') return snapshot.usage.volumes.get(t.volume.name);
  return undefined;
}
