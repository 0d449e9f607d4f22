/** Turns a cycle's report into metrics. Pure bookkeeping; the report is the source of truth. */
import type { Metrics } from '../metrics.js';
import type { CycleReport } from './sweep.js';

export const CYCLE_RESULTS = ['success', 'failure', 'blocked'] as const;
export type CycleResult = (typeof CYCLE_RESULTS)[number];

export function cycleResult(report: CycleReport): CycleResult {
  if (failureReason(report) !== undefined) return 'failure';
  if (report.mode === 'enforce' && report.plan.blocked !== undefined) return 'blocked';
  return 'success';
}

/**
 * Why the cycle failed, for its `cycle finished` line; undefined when it did not. It fails when
 * it stopped early (the engine lost, an answer unreadable, a shutdown) and when a removal's
 * outcome is in doubt: the engine may have done more than the cycle can count yet.
 */
export function failureReason(report: CycleReport): string | undefined {
  const n = report.inDoubt.length;
  const doubt =
    n === 0
      ? undefined
      : `${n} removal${n === 1 ? '' : 's'} in doubt (sent, and no answer said what the engine did; the next cycle counts those it finds done): ${report.inDoubt[0]?.message}`;
  if (report.interrupted === undefined) return doubt;
  return doubt === undefined ? report.interrupted : `${report.interrupted}; ${doubt}`;
}

/** Counts a cycle and its duration; alone for a cycle that threw before it could report. */
export function countCycle(metrics: Metrics, result: CycleResult, seconds: number): void {
  metrics.cycles.inc({ result });
  metrics.cycleDuration.observe(seconds);
}

export function recordCycle(metrics: Metrics, report: CycleReport, seconds: number): CycleResult {
  const result = cycleResult(report);
  countCycle(metrics, result, seconds);
  // A blocked cycle removed nothing it should have: it is not a success for alerting.
  if (result === 'success') metrics.lastSuccess.set(Math.floor((report.startedAt + seconds * 1000) / 1000));

  // Reset so that a policy that no longer selects anything (or was deleted) reads 0, not stale.
  metrics.reclaimableBytes.reset();
  metrics.reclaimableObjects.reset();
  metrics.reclaimableUnknown.reset();
  // What is still reclaimable after this cycle: everything in dry-run, what was not removed otherwise.
  const done = new Set(report.removed.map((r) => `${r.resource}:${r.id}`));
  for (const a of report.plan.actions) {
    if (done.has(`${a.resource}:${a.id}`)) continue;
    const labels = { resource: a.resource, policy: a.policy };
    if (a.bytes === null) metrics.reclaimableUnknown.inc(labels, 1);
    else metrics.reclaimableBytes.inc(labels, a.bytes);
    metrics.reclaimableObjects.inc(labels, 1);
  }
  metrics.reportOnlyBytes.reset();
  metrics.reportOnlyObjects.reset();
  for (const a of report.plan.reported) {
    metrics.reportOnlyBytes.inc({ resource: a.resource, policy: a.policy }, a.bytes ?? 0);
    metrics.reportOnlyObjects.inc({ resource: a.resource, policy: a.policy }, 1);
  }
  // Removals an earlier cycle left in doubt count once they are known done, like any other.
  for (const r of [...report.removed, ...report.earlier]) {
    const labels = { resource: r.resource, policy: r.policy };
    metrics.removed.inc(labels);
    // Unknown is counted apart, never as 0 bytes.
    if (r.bytes === null) metrics.reclaimedUnknown.inc(labels);
    else metrics.reclaimedBytes.inc(labels, r.bytes);
  }
  for (const r of report.removed) {
    if (r.archived === undefined) continue;
    metrics.archived.inc({ policy: r.policy });
    metrics.archivedBytes.inc({ policy: r.policy }, r.archived.bytes);
  }
  for (const r of report.removed)
    if (r.unplanned) metrics.unplannedRecords.inc({ policy: r.policy }, r.unplanned.length);
  for (const s of report.skipped) metrics.skipped.inc({ resource: s.resource, reason: s.reason });
  metrics.planBlocked.set(report.plan.blocked === undefined ? 0 : 1);
  metrics.objects.set({ resource: 'image' }, report.engine.images);
  metrics.objects.set({ resource: 'container' }, report.engine.containers);
  metrics.objects.set({ resource: 'volume' }, report.engine.volumes);
  metrics.diskUsage.set(
    { resource: 'image' },
    report.engine.imageLayerBytes -
      report.removed.filter((r) => r.resource === 'image').reduce((s, r) => s + (r.bytes ?? 0), 0),
  );
  return result;
}
