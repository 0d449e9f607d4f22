/** Which stopped containers the container policies select. */
import type { CompiledContainerPolicy } from '../../config/compiled-policy.js';
import type { ContainerObj } from '../../model/snapshot.js';
import { containerMatcher, type ContainerMatcher } from '../../match/containers.js';
import { noMatch, type Decision } from '../ledger.js';
import type { PlanContext } from '../context.js';
import { nameLabelKeep } from '../../match/name-label-keep.js';
import { containerProtection, protectedReason } from '../../match/protect.js';
import { newestContainers, type NewestContainers } from './newest-containers.js';

/** Records every container policy's decisions in the context's ledger. */
export function planContainers(ctx: PlanContext): void {
  const { ledger, now } = ctx;
  const containers = ctx.snapshot.containers;
  const protectedBy = (c: ContainerObj) => containerProtection(ctx.protect, c);
  for (const policy of ctx.policies) {
    if (policy.resource !== 'container') continue;
    const match = containerMatcher(policy, now);
    // The name, image and label filters, applied once: both the keep.newest rules and the
    // selection look only at the containers that pass them.
    const candidates = containers.filter((c) => match.filters(c));
    const newest = newestContainers(policy.keep, candidates, ledger);
    const decide = containerDecider(match, policy, protectedBy, newest);
    for (const c of candidates) {
      // An earlier policy decided already; skip before building a reason nobody will read.
      if (ledger.taken('container', c.id)) continue;
      const decision = decide(c);
      if (decision.kind !== 'no-match') ledger.record('container', policy, c.id, decision, () => c);
    }
  }
}

/** Protection and `keep`, for a container that meets the policy's `match`. */
function containerDecider(
  match: ContainerMatcher,
  policy: CompiledContainerPolicy,
  protectedBy: (c: ContainerObj) => string | undefined,
  newest: NewestContainers,
) {
  const keep = nameLabelKeep(policy.keep);
  return (c: ContainerObj): Decision => {
    if (!match.rest(c)) return noMatch;
    const by = protectedBy(c);
    if (by !== undefined) return { kind: 'keep', reason: protectedReason(by) };
    const kept = keep(c.name, c.labels);
    if (kept) return kept;
    const newestReason = newest.get(c.id);
    if (newestReason !== undefined) return { kind: 'keep', reason: newestReason };
    // The reason is built last, only for a container that is selected.
    return { kind: 'select', reason: match.reason(c) };
  };
}
