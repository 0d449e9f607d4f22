/**
 * Prometheus metrics on a registry of our own (never the global one). Labels are of low
 * cardinality only: resource, policy, result, reason — never an object ID.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly reclaimedBytes: Counter<'resource' | 'policy'>;
  readonly reclaimedUnknown: Counter<'resource' | 'policy'>;
  readonly removed: Counter<'resource' | 'policy'>;
  readonly reclaimableBytes: Gauge<'resource' | 'policy'>;
  readonly reclaimableObjects: Gauge<'resource' | 'policy'>;
  readonly reclaimableUnknown: Gauge<'resource' | 'policy'>;
  readonly reportOnlyBytes: Gauge<'resource' | 'policy'>;
  readonly reportOnlyObjects: Gauge<'resource' | 'policy'>;
  readonly skipped: Counter<'resource' | 'reason'>;
  readonly cycles: Counter<'result'>;
  readonly cycleDuration: Histogram;
  readonly lastSuccess: Gauge;
  readonly dockerUp: Gauge;
  readonly diskUsage: Gauge<'resource'>;
  readonly objects: Gauge<'resource'>;
  readonly planBlocked: Gauge;
  readonly configReloadOk: Gauge;
  readonly configReloadTime: Gauge;
  readonly info: Gauge<'version' | 'mode'>;
  readonly stateWriteFailures: Counter;
  readonly stateCorrupt: Counter;
  readonly lastUseKnown: Gauge;
  readonly eventsConnected: Gauge;
  readonly archived: Counter<'policy'>;
  readonly archivedBytes: Counter<'policy'>;
  readonly diskUsageRatio: Gauge<'path'>;
  readonly pressureTriggers: Counter<'policy'>;
  readonly policySkipped: Counter<'policy' | 'reason'>;
  readonly pressureReached: Gauge<'policy'>;
  readonly unplannedRecords: Counter<'policy'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reclaimd_' });
  const registers = [registry];
  return {
    registry,
    reclaimedBytes: new Counter({
      name: 'reclaimd_reclaimed_bytes_total',
      help: 'Bytes the engine really freed by removals (image layers and content, container writable layers, volume contents); removals whose bytes are unknown count in reclaimd_reclaimed_unknown_total instead.',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reclaimedUnknown: new Counter({
      name: 'reclaimd_reclaimed_unknown_total',
      help: 'Removals whose freed bytes are unknown (not in reclaimd_reclaimed_bytes_total): e.g. a volume the engine could not size, or containerd-store image content that could not be measured.',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    removed: new Counter({
      name: 'reclaimd_removed_total',
      help: 'Objects removed.',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reclaimableBytes: new Gauge({
      name: 'reclaimd_reclaimable_bytes',
      help: 'Bytes the last plan would free (in dry-run: what enforce would free).',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reclaimableObjects: new Gauge({
      name: 'reclaimd_reclaimable_objects',
      help: 'Objects the last plan would remove.',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reclaimableUnknown: new Gauge({
      name: 'reclaimd_reclaimable_unknown_objects',
      help: 'Objects the last plan would remove whose bytes are unknown (not in reclaimd_reclaimable_bytes).',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reportOnlyBytes: new Gauge({
      name: 'reclaimd_report_only_bytes',
      help: 'Bytes that objects selected by `action: report` policies hold (never removed).',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    reportOnlyObjects: new Gauge({
      name: 'reclaimd_report_only_objects',
      help: 'Objects selected by `action: report` policies in the last plan.',
      labelNames: ['resource', 'policy'],
      registers,
    }),
    skipped: new Counter({
      name: 'reclaimd_skipped_total',
      help: 'Planned removals not done: conflict (the engine refused, e.g. now in use), gone (already removed), error, aborted.',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    cycles: new Counter({
      name: 'reclaimd_cycles_total',
      help: 'Cycles run, by result: success, failure, blocked (a safety limit stopped the plan).',
      labelNames: ['result'],
      registers,
    }),
    cycleDuration: new Histogram({
      name: 'reclaimd_cycle_duration_seconds',
      help: 'Wall time of a cycle.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'reclaimd_last_success_timestamp_seconds',
      help: 'When a cycle last completed successfully (Unix seconds).',
      registers,
    }),
    dockerUp: new Gauge({
      name: 'reclaimd_docker_up',
      help: '1 when the Docker Engine answered the last request or ping, else 0.',
      registers,
    }),
    diskUsage: new Gauge({
      name: 'reclaimd_engine_disk_usage_bytes',
      help: 'Engine disk usage by resource, from data the cycle already has (image: unique layer bytes).',
      labelNames: ['resource'],
      registers,
    }),
    objects: new Gauge({
      name: 'reclaimd_engine_objects',
      help: 'Objects on the engine at the last cycle.',
      labelNames: ['resource'],
      registers,
    }),
    planBlocked: new Gauge({
      name: 'reclaimd_plan_blocked',
      help: '1 when the last plan exceeded a safety limit and removed nothing.',
      registers,
    }),
    configReloadOk: new Gauge({
      name: 'reclaimd_config_last_reload_successful',
      help: '1 when the configuration last read from disk was valid; 0 while the last good one is kept.',
      registers,
    }),
    configReloadTime: new Gauge({
      name: 'reclaimd_config_last_reload_success_timestamp_seconds',
      help: 'When a valid configuration was last loaded (Unix seconds).',
      registers,
    }),
    info: new Gauge({
      name: 'reclaimd_info',
      help: 'Always 1; labels carry the version and mode.',
      labelNames: ['version', 'mode'],
      registers,
    }),
    stateWriteFailures: new Counter({
      name: 'reclaimd_state_write_failures_total',
      help: 'Failed writes of the last-use state file (state.dir); the daemon keeps its state in memory and tries again.',
      registers,
    }),
    stateCorrupt: new Counter({
      name: 'reclaimd_state_corrupt_total',
      help: 'Unreadable last-use state files found at start, set aside and replaced by an empty state (everything counts as first seen now).',
      registers,
    }),
    lastUseKnown: new Gauge({
      name: 'reclaimd_last_use_known',
      help: '1 when last use is tracked (state.dir set and writable); 0 when unknown, so unusedFor policies select nothing.',
      registers,
    }),
    eventsConnected: new Gauge({
      name: 'reclaimd_events_connected',
      help: '1 while the engine event stream that tracks last use is connected.',
      registers,
    }),
    archived: new Counter({
      name: 'reclaimd_archived_total',
      help: 'Images saved (docker save) to an archive directory and then removed.',
      labelNames: ['policy'],
      registers,
    }),
    archivedBytes: new Counter({
      name: 'reclaimd_archived_bytes_total',
      help: 'Bytes written to archive files of images then removed.',
      labelNames: ['policy'],
      registers,
    }),
    diskUsageRatio: new Gauge({
      name: 'reclaimd_disk_usage_ratio',
      help: "Used fraction of the file system holding the engine's data root (absent while it cannot be read; only with when.diskUsageAbove policies). path: where it was measured.",
      labelNames: ['path'],
      registers,
    }),
    pressureTriggers: new Counter({
      name: 'reclaimd_pressure_triggers_total',
      help: 'Cycles started between schedules because a pressure condition (when) held, by the first policy whose condition held.',
      labelNames: ['policy'],
      registers,
    }),
    policySkipped: new Counter({
      name: 'reclaimd_policy_skipped_total',
      help: 'Cycles in which a policy did nothing because its input was unknown (reason disk_unknown: the data-root file system could not be read).',
      labelNames: ['policy', 'reason'],
      registers,
    }),
    pressureReached: new Gauge({
      name: 'reclaimd_pressure_target_reached',
      help: '1 when the last plan of a pressure policy whose condition held is predicted to reach its until target, 0 when it is not (nothing more it may remove).',
      labelNames: ['policy'],
      registers,
    }),
    unplannedRecords: new Counter({
      name: 'reclaimd_build_cache_unplanned_total',
      help: "Build cache records a prune deleted that its plan did not name (a build or a tie in BuildKit's ranking changed things in between).",
      labelNames: ['policy'],
      registers,
    }),
  };
}
