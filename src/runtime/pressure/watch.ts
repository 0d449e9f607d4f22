/**
 * Between scheduled cycles, checks the pressure conditions (`when`) every `pressure.interval`
 * and starts a cycle (trigger "pressure") when one holds. The daemon's single-flight guard
 * still decides: a check never runs while a cycle does, and a trigger during a cycle is skipped.
 * After a cycle that could do nothing more while a condition held, the watch waits: it starts
 * the next pressure cycle only when something changed that the plan could act on (see
 * PressureWatch), so a target out of reach does not start a cycle every interval.
 */
import type { Config } from '../../core/config/config.js';
import type { Engine } from '../../engine/engine.js';
import { pressureRule } from '../../core/config/pressure-rules.js';
import { uniqueLayerBytes } from '../../core/planner/bytes/layer-bytes.js';
import { needsDisk, readDisk, type DiskReading } from './disk.js';
import { formatBytes } from '../../lib/units.js';
import type { CycleReport } from '../cycle/sweep.js';
import type { Logger } from '../logger.js';

/** A pressure condition that holds now: the first such policy and its measured figure. */
export interface Holding {
  readonly policy: string;
  readonly figure: number;
  /**
   * How far the figure must grow, after a cycle that could do nothing more, to count as a
   * change worth another cycle: 1% of the file system for `diskUsageAbove`, 1% of the target
   * for `totalSizeAbove`.
   */
  readonly step: number;
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
      if (f && f.used / f.total > rule.above)
        return { holding: { policy: policy.name, figure: f.used, step: onePercent(f.total) }, disk };
    } else {
      imageTotal ??= uniqueLayerBytes(
        (await engine.snapshot({ containerDetails: false, swarmServices: false })).images,
      );
      if (imageTotal > rule.above)
        return { holding: { policy: policy.name, figure: imageTotal, step: onePercent(rule.below) }, disk };
    }
  }
  return { holding: undefined, disk };
}

function onePercent(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 100));
}

export interface PressureWatchDeps {
  readonly log: Logger;
  /** True while a cycle runs: then the check is not even made. */
  busy(): boolean;
  check(): Promise<Holding | undefined>;
  /**
   * Starts a cycle for this policy's pressure; undefined when none started. `because` says
   * why a new cycle starts after one that could do nothing more.
   */
  trigger(holding: Holding, because?: string): Promise<CycleReport | undefined>;
  /** The digest (fingerprint.ts) of the images, containers and service images the engine holds now. */
  seen(): Promise<string>;
}

/** After a cycle that could do nothing more while a condition held: what it left, to compare with. */
interface Waiting {
  /** The policies whose condition held in that cycle's plan. */
  readonly policies: ReadonlySet<string>;
  /** The digest of the images and containers that cycle left (CycleReport.seen). */
  readonly seen: string | undefined;
  /** Each policy's figure at the first check after that cycle: growth is counted from it. */
  readonly figures: Map<string, number>;
}

const WAITS_FOR = 'the next pressure cycle waits until usage grows by a step or the images or containers change';

export class PressureWatch {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /**
   * Set by settle() after a cycle in which a condition held and that could do nothing more:
   * it removed nothing (dry-run, a blocked plan, every removal skipped, nothing left to take),
   * or removed what it could and the plan still fell short of the target. The same plan would
   * choose the same nothing again, so the next pressure cycle starts only when the figure grew
   * by a step (Holding.step) since, the images, containers or service images changed
   * (fingerprint.ts), or another policy's condition holds. The condition clearing, a cycle
   * that may reach its target, or any change of the configuration ends the wait.
   */
  private waiting: Waiting | undefined;
  /** Whether a condition held at the last check: its clearing is logged once. */
  private held = false;

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

  /** Forgets the wait: the configuration changed (mode, limits, protect, policies…), so the next plan may differ. */
  reset(): void {
    this.waiting = undefined;
  }

  /** Takes every finished cycle's report (whatever started it), to know whether to wait. */
  settle(report: CycleReport): void {
    const active = (report.plan.pressure ?? []).filter((s) => s.state === 'active');
    const unfinished = report.interrupted !== undefined || report.inDoubt.length > 0;
    const mayReach = report.removed.length > 0 && active.some((s) => s.reached);
    if (active.length === 0 || unfinished || mayReach) {
      this.waiting = undefined;
      return;
    }
    const already = this.waiting !== undefined;
    this.waiting = { policies: new Set(active.map((s) => s.policy)), seen: report.seen, figures: new Map() };
    // Said once when the wait begins, not after every cycle that finds the same nothing.
    if (already) return;
    const policies = active.map((s) => ({
      policy: s.policy,
      before: s.before,
      target: s.target,
      predictedAfter: s.predictedAfter,
      reached: s.reached,
    }));
    const message =
      report.mode === 'dry-run'
        ? `pressure condition holds; dry-run removes nothing, so ${WAITS_FOR}`
        : report.plan.blocked !== undefined
          ? `pressure condition holds, but the plan is blocked by limits; ${WAITS_FOR}`
          : `pressure condition holds, but nothing more can be removed; ${WAITS_FOR}`;
    this.deps.log.info({ policies, removed: report.removed.length }, message);
  }

  /** One check; exported for tests through the class. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking || this.deps.busy()) return;
    this.ticking = true;
    try {
      const holding = await this.deps.check();
      if (holding === undefined) {
        if (this.held || this.waiting !== undefined) this.deps.log.info({}, 'pressure condition no longer holds');
        this.held = false;
        this.waiting = undefined;
        return;
      }
      this.held = true;
      const next = await this.rearm(holding);
      if (next.start) await this.deps.trigger(holding, next.because);
    } catch (err) {
      // Debug only: an engine outage is already logged (and exported) by the ping.
      this.deps.log.debug({ err: (err as Error).message }, 'pressure check failed; will check again');
    } finally {
      this.ticking = false;
    }
  }

  /** Whether a condition that holds starts a cycle, and, after a wait, why. */
  private async rearm(holding: Holding): Promise<{ start: boolean; because?: string }> {
    const w = this.waiting;
    if (w === undefined) return { start: true };
    if (!w.policies.has(holding.policy))
      return { start: true, because: `the condition of ${holding.policy} did not hold in the last cycle` };
    const base = w.figures.get(holding.policy);
    if (base === undefined) w.figures.set(holding.policy, holding.figure);
    else if (holding.figure - base >= holding.step)
      return {
        start: true,
        because: `usage grew by ${formatBytes(holding.figure - base)} (a step is ${formatBytes(holding.step)})`,
      };
    if (w.seen !== undefined && (await this.deps.seen()) !== w.seen)
      return { start: true, because: 'the images or containers changed' };
    return { start: false };
  }
}
