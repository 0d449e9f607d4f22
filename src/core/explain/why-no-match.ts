/**
 * Why a policy does not decide about an object, in words, for `reclaimd explain`. This never
 * decides anything: the planner does (explain.ts runs it). The words come from the same
 * matchers the planner uses (src/core/match), so they name the condition that really failed.
 */
import type { CompiledPolicy } from '../config/compiled-policy.js';
import type { Plan } from '../model/plan.js';
import type { Snapshot } from '../model/snapshot.js';
import { isAnonymousVolume } from '../model/snapshot.js';
import { imageMatcher } from '../match/images.js';
import { containerMatcher } from '../match/containers.js';
import { volumeMatcher } from '../match/volumes.js';
import type { Target } from './target.js';

const FALLBACK = 'does not match (a match condition fails)';

/**
 * The first failing condition of `policy` for `target`, as a sentence fragment.
 *
 * @param narrowed the plan with `policy` as the only policy of its resource: for a pressure
 *   policy, its summary says whether the policy ran at all.
 */
export function whyNoMatch(
  policy: CompiledPolicy,
  target: Target,
  snapshot: Snapshot,
  now: number,
  narrowed: Plan,
): string {
  if (target.resource === 'image' && policy.resource === 'image') {
    const image = target.image;
    const hasChildren = snapshot.images.some((i) => i.parentId === image.id);
    const miss = imageMatcher(policy, now, snapshot.usage).whyNot(image, hasChildren);
    if (miss !== undefined) return miss;
    if (policy.pressure !== undefined) return pressureMiss(policy.name, narrowed);
    return FALLBACK;
  }
  if (target.resource === 'container' && policy.resource === 'container')
    return containerMatcher(policy, now).whyNot(target.container) ?? FALLBACK;
  if (target.resource === 'volume' && policy.resource === 'volume')
    return volumeMatcher(policy, now, snapshot.usage).whyNot(target.volume) ?? FALLBACK;
  if (target.resource === 'volume' && policy.resource === 'container') {
    return isAnonymousVolume(target.volume)
      ? 'no container this policy removes mounts it (removeAnonymousVolumes)'
      : 'not anonymous (removeAnonymousVolumes takes only anonymous volumes)';
  }
  return FALLBACK;
}

/** Why a pressure policy whose `match` holds did not take the object. */
function pressureMiss(policy: string, narrowed: Plan): string {
  const summary = narrowed.pressure?.find((s) => s.policy === policy);
  switch (summary?.state) {
    case 'idle':
      return `matches, but its pressure condition (${summary.when}) does not hold, so the policy does nothing`;
    case 'unknown':
      return 'matches, but its pressure figure could not be read, so the policy removes nothing';
    case 'active':
      return `matches, but was spared: the pressure target (${summary.until}) is reached without it`;
    default:
      return FALLBACK;
  }
}
