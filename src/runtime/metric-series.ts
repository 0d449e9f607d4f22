/**
 * Every counter series the loaded policies can produce, created at 0 when they load. A counter
 * that first appears at 1 has no earlier sample, so `increase()` and `rate()` in PromQL never see
 * that first step: the dashboard's "reclaimed in range" would miss the first removal of each
 * policy and the failing-cycles alert the first failure. A series created at 0 is scraped as 0
 * first, and the first event then counts.
 */
import type { Config, LoadedPolicy } from '../core/config/config.js';
import type { ResourceKind } from '../core/model/plan.js';
import { SKIP_REASONS } from './cycle/execute.js';
import { CYCLE_RESULTS } from './cycle/record.js';
import type { Metrics } from './metrics.js';

/**
 * Creates, at 0, the series of `config`'s policies that do not exist yet; series of policies
 * created before stay as they are (a counter never goes back). Called at start and after every
 * reload that loads a new configuration.
 */
export function createKnownSeries(metrics: Metrics, config: Config): void {
  for (const result of CYCLE_RESULTS) metrics.cycles.inc({ result }, 0);
  const resources = new Set<ResourceKind>();
  for (const policy of config.policies) {
    if (policy.action === 'report') continue;
    for (const resource of removes(policy)) {
      resources.add(resource);
      const labels = { resource, policy: policy.name };
      metrics.removed.inc(labels, 0);
      metrics.reclaimedBytes.inc(labels, 0);
      metrics.reclaimedUnknown.inc(labels, 0);
    }
    if (policy.resource === 'image' && policy.archive !== undefined) {
      metrics.archived.inc({ policy: policy.name }, 0);
      metrics.archivedBytes.inc({ policy: policy.name }, 0);
    }
    if (policy.resource === 'buildCache') metrics.unplannedRecords.inc({ policy: policy.name }, 0);
  }
  for (const policy of config.policies) {
    if (policy.resource !== 'image' || policy.when === undefined) continue;
    metrics.pressureTriggers.inc({ policy: policy.name }, 0);
    if (policy.when.diskUsageAbove !== undefined)
      metrics.policySkipped.inc({ policy: policy.name, reason: 'disk_unknown' }, 0);
  }
  for (const resource of resources) {
    // archive-failed only where an archive can fail: image policies with `archive`.
    const archives =
      resource === 'image' && config.policies.some((p) => p.resource === 'image' && p.archive !== undefined);
    for (const reason of SKIP_REASONS)
      if (reason !== 'archive-failed' || archives) metrics.skipped.inc({ resource, reason }, 0);
  }
}

/** What a policy's removals are counted as: its resource, and volumes for a container policy that removes anonymous ones. */
function removes(policy: LoadedPolicy): ResourceKind[] {
  if (policy.resource === 'container' && policy.removeAnonymousVolumes === true) return ['container', 'volume'];
  return [policy.resource];
}
