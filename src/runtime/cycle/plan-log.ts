/**
 * The log lines of a plan that is not carried out: a dry-run says what enforce would remove,
 * one line per removal in the form enforce logs its removals, so an operator can grep the
 * dry-run for an image, a policy or a reason before switching to enforce; a plan blocked by
 * limits says so, in either mode, with the counts per policy.
 */
import type { Config, Mode } from '../../core/config/config.js';
import type { Action, Plan } from '../../core/model/plan.js';
import type { Logger } from '../logger.js';

/**
 * One `would remove` line per planned removal, in execution order, with the fields of the
 * `removed` line of enforce: `policy`, `resource`, `name`, `id`, `bytes` (null when unknown),
 * `reason`, and `archive` (the directory) where the image would be archived first.
 */
export function logWouldRemove(log: Logger, plan: Plan): void {
  for (const action of plan.actions) {
    log.child({ policy: action.policy, resource: action.resource }).info(
      {
        name: action.name,
        id: action.id,
        bytes: action.bytes,
        ...rangeOf(action),
        reason: action.reason,
        ...(action.resource === 'image' && action.archive ? { archive: action.archive.dir } : {}),
      },
      'would remove',
    );
  }
}

/** Where an estimate is involved (containerd image store, build cache), the range the bytes lie in. */
function rangeOf(action: Action): { bytesRange?: { low: number; high: number } } {
  const range = action.resource === 'image' || action.resource === 'buildCache' ? action.bytesRange : undefined;
  return range ? { bytesRange: { low: range.low, high: range.high } } : {};
}

/** A plan that limits block removes nothing: says so, with how many each policy selected. */
export function logBlocked(log: Logger, config: Config, plan: Plan, mode: Mode): void {
  log.warn(
    {
      count: plan.totals.count,
      bytes: plan.totals.bytes,
      limit: config.limits.maxRemovalsPerRun,
      byPolicy: countByPolicy(plan),
      blocked: plan.blocked,
    },
    mode === 'enforce'
      ? 'plan blocked by limits; nothing removed'
      : 'plan blocked by limits; enforce would remove nothing',
  );
}

function countByPolicy(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of plan.actions) out[a.policy] = (out[a.policy] ?? 0) + 1;
  return out;
}
