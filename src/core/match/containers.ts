/**
 * Whether a container meets a container policy's `match`, condition by condition: the planner
 * asks whether, explain asks why not, and both read the same checks.
 */
import { REMOVABLE_STATES, type CompiledContainerPolicy } from '../config/compiled-policy.js';
import type { ContainerObj } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';
import { age } from './miss-text.js';

type Miss = 'name' | 'image' | 'labels' | 'state' | 'status' | 'finish-unknown' | 'too-recent' | 'exit-code';

export interface ContainerMatcher {
  /** `names`, `images` and `labels`, which also decide what keep.newest* counts. */
  filters(c: ContainerObj): boolean;
  /** State, `status`, `stoppedFor` and `exitCode`, for a container that passed the filters. */
  rest(c: ContainerObj): boolean;
  /** Why a matching container is selected. */
  reason(c: ContainerObj): string;
  /** The first condition that fails, in the order the planner checks them; undefined when all hold. */
  whyNot(c: ContainerObj): string | undefined;
}

/** The matcher of one policy for one plan. */
export function containerMatcher(policy: CompiledContainerPolicy, now: number): ContainerMatcher {
  const m = policy.match;
  const { names, images, labels } = m;

  const filters = (c: ContainerObj): Miss | undefined => {
    if (names && !names.matches(c.name)) return 'name';
    if (images && !images.matches(c.image)) return 'image';
    if (labels && !labels.allHold(c.labels)) return 'labels';
    return undefined;
  };
  // A created container never ran, so it has been idle since it was created.
  const since = (c: ContainerObj) => (c.state === 'created' ? c.created : c.finishedAt);
  // Exit codes describe a run; a created container has none, so the filter does not apply to it.
  const byExitCode = (c: ContainerObj) => m.exitCode !== undefined && c.state !== 'created';
  const rest = (c: ContainerObj): Miss | undefined => {
    if (!REMOVABLE_STATES.has(c.state)) return 'state';
    if (!m.status.includes(c.state)) return 'status';
    if (m.stoppedFor !== undefined) {
      const at = since(c);
      if (at === undefined) return 'finish-unknown';
      if (now - at < m.stoppedFor.ms) return 'too-recent';
    }
    if (byExitCode(c) && (c.exitCode === undefined || !m.exitCode?.includes(c.exitCode))) return 'exit-code';
    return undefined;
  };

  const words = (miss: Miss, c: ContainerObj): string => {
    switch (miss) {
      case 'name':
        return `name ${c.name} does not match match.names`;
      case 'image':
        return `image ${c.image} does not match match.images`;
      case 'labels':
        return `label selector "${labels?.firstFailing(c.labels) ?? ''}" does not hold`;
      case 'state':
        return `is ${c.state}; only exited, dead or created containers are ever removed`;
      case 'status':
        return `is ${c.state}, not one of match.status (${m.status.join(', ')})`;
      case 'finish-unknown':
        return c.state === 'created'
          ? 'its creation time is unknown, so stoppedFor cannot hold'
          : 'its finish time is unknown, so stoppedFor cannot hold';
      case 'too-recent':
        return `stopped ${age(now, since(c) ?? now)} ago, not longer than stoppedFor ${m.stoppedFor?.text ?? ''}`;
      case 'exit-code':
        return `exit code ${c.exitCode ?? 'unknown'} is not one of match.exitCode (${(m.exitCode ?? []).join(', ')})`;
    }
  };

  return {
    filters: (c) => filters(c) === undefined,
    rest: (c) => rest(c) === undefined,
    reason(c) {
      let reason = c.state;
      const at = since(c);
      if (m.stoppedFor !== undefined && at !== undefined)
        reason += `, stopped ${formatDuration(now - at)} ago (stoppedFor ${m.stoppedFor.text})`;
      if (byExitCode(c)) reason += `, exit code ${c.exitCode}`;
      return reason;
    },
    whyNot(c) {
      const miss = filters(c) ?? rest(c);
      return miss === undefined ? undefined : words(miss, c);
    },
  };
}
