/**
 * Between scheduled cycles, checks the pressure conditions (`when`) every `pressure.interval`
 * and starts a cycle (trigger "pressure") when one holds. The daemon's single-flight guard
 * still decides: a check never runs while a cycle does, and a trigger during a cycle is skipped.
 */
import type { Config } from '../../core/config/config.js';
import type { Engine } from '../../engine/engine.js';
import { pressureRule } from '../../core/config/pressure-rules.js';
import { uniqueLayerBytes } from '../../core/planner/bytes/layer-bytes.js';
import { needsDisk, readDisk, type DiskReading } from './disk.js';
import type { CycleReport } from '../cycle/sweep.js';
import type { Logger } from '../logger.js';

/** A pressure condition that holds now: the first such policy and its measured figure. */
export interface Holding {
  readonly policy: string;
  readonly figure: number;
}

/**
 * Evaluates every `when` condition now, in policy order. Disk figures come from statfs (cheap);
 * image totals from an image listing (the adapter's caches make it a few calls). An unknown
 * disk never holds: nothing is triggered, let alone removed, on a guess.
 */
export async function checkPressure(
  config: Config,
  engine: Engine,
): Promise<{ holding: Holding | undefined; disk: DiskReading | undefined }> {
  const disk = needsDisk(config) ? await readDisk(config, engine.dataRoot) : undefined;
  let imageTotal: number | undefined;
  for (const policy of config.policies) {
    if (policy.resource !== 'image') continue;
    const rule = pressureRule(policy);
    if (rule === undefined) continue;
    if (rule.measure === 'diskUsage') {
      const f = disk?.figures;
      if (f && f.used / f.total > rule.above) return { holding: { policy: policy.name, figure: f.used }, disk };
    } else {
      imageTotal ??= uniqueLayerBytes(
        (await engine.snapshot({ containerDetails: false, swarmServices: false })).images,
      );
      if (imageTotal > rule.above) return { holding: { policy: policy.name, figure: imageTotal }, disk };
    }
  }
  return { holding: undefined, disk };
}

export interface PressureWatchDeps {
  readonly log: Logger;
  /** True while a cycle runs: then the check is not even made. */
  busy(): boolean;
  check(): Promise<Holding | undefined>;
  /** Starts a cycle for this policy's pressure; undefined when none started. */
  trigger(holding: Holding): Promise<CycleReport | undefined>;
}

export class PressureWatch {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /**
   * Set after a pressure cycle that removed nothing (dry-run, or nothing left to take): the
   * same condition at the same or a lower figure triggers no new cycle, so an unreachable
   * target does not start a cycle every interval. A higher figure, or the condition clearing
   * first, starts afresh.
   */
  private quiet: Holding | undefined;

  constructor(private readonly deps: PressureWatchDeps) {}

  /** (Re)starts checking every `intervalMs`. */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check; exported for tests through the class. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking || this.deps.busy()) return;
    this.ticking = true;
    try {
      const holding = await this.deps.check();
      if (holding === undefined) {
        this.quiet = undefined;
        return;
      }
      const q = this.quiet;
      if (q && q.policy === holding.policy && holding.figure <= q.figure) return;
      const report = await this.deps.trigger(holding);
      if (report) this.quiet = report.removed.length === 0 ? holding : undefined;
    } catch (err) {
      // Debug only: an engine outage is already logged (and exported) by the ping.
      this.deps.log.debug({ err: (err as Error).message }, 'pressure check failed; will check again');
    } finally {
      this.ticking = false;
    }
  }
}
