/**
 * What a plan is made from, gathered once for every caller: the engine's snapshot (with what
 * the policies need listed), last use merged in, and the disk figures pressure policies judge
 * by. The daemon, `plan`, `once` and `explain` all gather through gatherInputs, so `explain`
 * sees exactly what `plan` sees at the same moment and never disagrees with it.
 */
import type { Engine, SnapshotNeeds } from '../../engine/engine.js';
import type { Config } from '../../core/config/config.js';
import type { Snapshot, Usage } from '../../core/model/snapshot.js';
import type { Logger } from '../logger.js';
import { needsDisk, readDisk, type DiskReading } from '../pressure/disk.js';

export interface CycleInputs {
  /** The engine's listing as it came, without last use. */
  readonly listed: Snapshot;
  /** The listing with last use merged in (when it is known): what the planner reads. */
  readonly snapshot: Snapshot;
  /** The data-root file system, read when a policy has `when.diskUsageAbove`. */
  readonly disk: DiskReading | undefined;
}

/** What the engine must list for these policies; anything more costs time and nothing else. */
export function snapshotNeeds(config: Config): SnapshotNeeds {
  return {
    containerDetails: config.policies.some((p) => p.resource === 'container'),
    networks: config.policies.some((p) => p.resource === 'network'),
    buildCache: config.policies.some((p) => p.resource === 'buildCache'),
    swarmServices: config.inUse.swarmServices && config.policies.some((p) => p.resource === 'image'),
  };
}

/**
 * Lists the engine, merges last use and reads the disk.
 *
 * @param usage the last-use store: merges the listing (existing containers are a use, now) and
 *   returns the usage to plan with; undefined, or a store that answers undefined, means last
 *   use is unknown and `unusedFor` selects nothing.
 */
export async function gatherInputs(
  engine: Engine,
  config: Config,
  usage: ((snapshot: Snapshot) => Usage | undefined) | undefined,
  log: Logger,
): Promise<CycleInputs> {
  const listed = await engine.snapshot(snapshotNeeds(config));
  const known = usage?.(listed);
  const snapshot = known === undefined ? listed : { ...listed, usage: known };
  // Read once per cycle, so both plans of the cycle judge pressure by the same figures.
  const disk = needsDisk(config) ? await readDisk(config, engine.dataRoot) : undefined;
  if (disk?.error !== undefined)
    log.error(
      { path: disk.path, err: disk.error },
      'disk usage unknown: policies with when.diskUsageAbove are skipped and remove nothing',
    );
  return { listed, snapshot, disk };
}
