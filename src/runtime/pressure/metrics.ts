/** Pressure figures into metrics: the disk usage ratio, skipped policies, target reached. */
import type { Metrics } from '../metrics.js';
import type { CycleReport } from '../cycle/sweep.js';
import type { DiskReading } from './disk.js';

/** Sets reclaimd_disk_usage_ratio from a reading; an unreadable disk removes the series. */
export function recordDisk(metrics: Metrics, reading: DiskReading | undefined): void {
  // Absent rather than 0 while unknown: a 0 would read as "empty disk" on a dashboard.
  metrics.diskUsageRatio.reset();
  const f = reading?.figures;
  if (f && reading?.path !== undefined) metrics.diskUsageRatio.set({ path: reading.path }, f.used / f.total);
}

/** Per-cycle pressure metrics, from the plan's pressure summaries. */
export function recordPressure(metrics: Metrics, report: CycleReport): void {
  if (report.disk !== undefined) recordDisk(metrics, report.disk);
  metrics.pressureReached.reset();
  for (const s of report.plan.pressure ?? []) {
    if (s.state === 'unknown') metrics.policySkipped.inc({ policy: s.policy, reason: 'disk_unknown' });
    if (s.state === 'active') metrics.pressureReached.set({ policy: s.policy }, s.reached ? 1 : 0);
  }
}
