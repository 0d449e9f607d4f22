/** Which stopped containers the container policies select. */
import type { Config } from './config.js';
import type { ContainerPolicy } from './schema.js';
import type { ContainerObj } from './snapshot.js';
import { anyGlob } from './glob.js';
import { allLabels, firstLabel } from './labels.js';
import { formatDuration, parseDuration } from './units.js';
import { noMatch, type Decision, type Ledger } from './ledger.js';
import { nameLabelKeep } from './name-label-keep.js';

/** Only these states can be removed; running, paused, restarting and removing never are. */
export const REMOVABLE_STATES: ReadonlySet<string> = new Set(['exited', 'dead', 'created']);
const DEFAULT_STATUS = [...REMOVABLE_STATES];

export function planContainers(config: Config, containers: readonly ContainerObj[], now: number, ledger: Ledger): void {
  const protectedBy = firstLabel(config.protect.labels);
  for (const policy of config.policies) {
    if (policy.resource !== 'container') continue;
    const decide = containerDecider(policy, now, protectedBy);
    for (const c of containers) {
      const decision = decide(c);
      if (decision.kind !== 'no-match') ledger.record('container', policy, c.id, decision, () => c);
    }
  }
}

function containerDecider(policy: ContainerPolicy, now: number, protectedBy: (l: ContainerObj['labels']) => string | undefined) {
  const m = policy.match;
  const statuses = m.status ?? DEFAULT_STATUS;
  const minStopped = m.stoppedFor === undefined ? undefined : (parseDuration(m.stoppedFor) as number);
  const nameOk = m.names ? anyGlob(m.names) : undefined;
  const imageOk = m.images ? anyGlob(m.images) : undefined;
  const labelsOk = m.labels ? allLabels(m.labels) : undefined;
  const keep = nameLabelKeep(policy.keep);

  return (c: ContainerObj): Decision => {
    if (!REMOVABLE_STATES.has(c.state) || !statuses.includes(c.state)) return noMatch;
    const reasons = [c.state];
    if (minStopped !== undefined) {
      // A created container never ran, so it has been idle since it was created.
      const since = c.state === 'created' ? c.created : c.finishedAt;
      if (since === undefined || now - since < minStopped) return noMatch;
      reasons.push(`stopped ${formatDuration(now - since)} ago (stoppedFor ${m.stoppedFor})`);
    }
    // Exit codes describe a run; a created container has none, so the filter does not apply to it.
    if (m.exitCode && c.state !== 'created') {
      if (c.exitCode === undefined || !m.exitCode.includes(c.exitCode)) return noMatch;
      reasons.push(`exit code ${c.exitCode}`);
    }
    if (nameOk && !nameOk(c.name)) return noMatch;
    if (imageOk && !imageOk(c.image)) return noMatch;
    if (labelsOk && !labelsOk(c.labels)) return noMatch;
    const prot = protectedBy(c.labels);
    if (prot) return { kind: 'keep', reason: `protected by label "${prot}"` };
    return keep(c.name, c.labels) ?? { kind: 'select', reason: reasons.join(', ') };
  };
}
