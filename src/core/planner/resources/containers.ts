/** Which stopped containers the container policies select. */
import { REMOVABLE_STATES, type CompiledContainerPolicy } from '../../config/compiled-policy.js';
import type { ContainerObj } from '../../model/snapshot.js';
import { formatDuration } from '../../../lib/units.js';
import { noMatch, type Decision } from '../ledger.js';
import type { PlanContext } from '../context.js';
import { nameLabelKeep } from '../../match/name-label-keep.js';
import { newestContainers, type NewestContainers } from './newest-containers.js';

// Explain and the tests read this from here.
export { REMOVABLE_STATES };

/** Records every container policy's decisions in the context's ledger. */
export function planContainers(ctx: PlanContext): void {
  const { ledger, now } = ctx;
  const containers = ctx.snapshot.containers;
  const protectedBy = (l: ContainerObj['labels']) => ctx.protect.labels.firstHeld(l);
  for (const policy of ctx.policies) {
    if (policy.resource !== 'container') continue;
    const filtersOk = nameImageLabelFilters(policy);
    // The name, image and label filters, applied once: both the keep.newest rules and the
    // selection look only at the containers that pass them.
    const candidates = containers.filter(filtersOk);
    const newest = newestContainers(policy.keep, candidates, ledger);
    const decide = containerDecider(policy, now, protectedBy, newest);
    for (const c of candidates) {
      // An earlier policy decided already; skip before building a reason nobody will read.
      if (ledger.taken('container', c.id)) continue;
      const decision = decide(c);
      if (decision.kind !== 'no-match') ledger.record('container', policy, c.id, decision, () => c);
    }
  }
}

/** `match.names`, `match.images` and `match.labels`, which also decide what keep.newest* counts. */
function nameImageLabelFilters(policy: CompiledContainerPolicy): (c: ContainerObj) => boolean {
  const { names, images, labels } = policy.match;
  return (c) =>
    (!names || names.matches(c.name)) && (!images || images.matches(c.image)) && (!labels || labels.allHold(c.labels));
}

/** The rest of `match`, protection and `keep`, for a container that passed the name, image and label filters. */
function containerDecider(
  policy: CompiledContainerPolicy,
  now: number,
  protectedBy: (l: ContainerObj['labels']) => string | undefined,
  newest: NewestContainers,
) {
  const m = policy.match;
  const statuses = m.status;
  const minStopped = m.stoppedFor?.ms;
  const keep = nameLabelKeep(policy.keep);

  return (c: ContainerObj): Decision => {
    if (!REMOVABLE_STATES.has(c.state) || !statuses.includes(c.state)) return noMatch;
    let since: number | undefined;
    if (minStopped !== undefined) {
      // A created container never ran, so it has been idle since it was created.
      since = c.state === 'created' ? c.created : c.finishedAt;
      if (since === undefined || now - since < minStopped) return noMatch;
    }
    // Exit codes describe a run; a created container has none, so the filter does not apply to it.
    const byExitCode = m.exitCode !== undefined && c.state !== 'created';
    if (byExitCode && (c.exitCode === undefined || !m.exitCode?.includes(c.exitCode))) return noMatch;
    const prot = protectedBy(c.labels);
    if (prot) return { kind: 'keep', reason: `protected by label "${prot}"` };
    const kept = keep(c.name, c.labels);
    if (kept) return kept;
    const newestReason = newest.get(c.id);
    if (newestReason !== undefined) return { kind: 'keep', reason: newestReason };
    // The reason is built last, only for a container that is selected.
    let reason = c.state;
    if (since !== undefined)
      reason += `, stopped ${formatDuration(now - since)} ago (stoppedFor ${m.stoppedFor?.text})`;
    if (byExitCode) reason += `, exit code ${c.exitCode}`;
    return { kind: 'select', reason };
  };
}
