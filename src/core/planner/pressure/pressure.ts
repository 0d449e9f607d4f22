/**
 * Pressure policies (with `when`): they run only while their condition holds, then take the
 * images they match least recently used first and stop as soon as the predicted figure reaches
 * the target, so nothing is removed that the target does not need. Pure: the disk figures come
 * in as data, measured by the shell.
 */
import type { ImageObj, Snapshot } from '../../model/snapshot.js';
import type { ImageIndex } from '../shared/image-index.js';
import type { Ledger } from '../ledger.js';
import type { PressureSummary } from '../../model/plan.js';
import type { CompiledImagePolicy } from '../../config/compiled-policy.js';
import { simulateImageDeletions } from '../bytes/image-bytes.js';
import type { PressureRule } from '../../config/pressure-rules.js';
import { formatBytes, formatDuration } from '../../../lib/units.js';
import { uniqueLayerBytes } from '../bytes/layer-bytes.js';

/** The file system holding the engine's data root, as `statfs` saw it (bytes). */
export interface DiskFigures {
  readonly total: number;
  readonly used: number;
}

/** An image a pressure policy matched and nothing exempts, with the policy's match reason. */
export interface PressureCandidate {
  readonly image: ImageObj;
  readonly reason: string;
}

/** One pressure policy being planned: the condition held, so it chooses among candidates. */
export interface PressureSession {
  /** Picks, in removal-worthiness order, the candidates needed to reach the target. */
  choose(candidates: readonly PressureCandidate[]): PressureCandidate[];
}

export interface PressureInputs {
  readonly snapshot: Snapshot;
  /** Built from the containers the plan leaves in place: their images stay. */
  readonly index: ImageIndex;
  /** Layers those containers hold whose image is no longer listed. */
  readonly ghostChains: readonly string[];
  /** An image that must stay even if it becomes a childless untagged parent (see orphanHold). */
  readonly isHeld: (image: ImageObj) => boolean;
  /** undefined: the file system could not be read; disk-usage policies then do nothing. */
  readonly disk: DiskFigures | undefined;
  readonly now: number;
}

/** Plans every pressure policy of one plan and keeps their summaries, in policy order. */
export class PressurePlanner {
  readonly summaries: PressureSummary[] = [];
  /** Computed on first use: most plans have no budget policy. */
  private totalImageBytes: number | undefined;

  constructor(
    private readonly inputs: PressureInputs,
    private readonly ledger: Ledger,
  ) {}

  /**
   * Starts a pressure policy: records its summary and returns a session when its condition
   * holds, or undefined when the policy must do nothing (condition false, or figure unknown:
   * never remove on a guess).
   */
  start(policy: CompiledImagePolicy): PressureSession | undefined {
    const rule = policy.pressure;
    if (rule === undefined) return undefined;
    const figure = this.figure(rule);
    const common = {
      policy: policy.name,
      measure: rule.measure,
      when: rule.aboveText,
      until: rule.belowText,
      freedEarlier: 0,
      freed: 0,
      selected: 0,
      spared: 0,
    };
    if (figure === undefined) {
      this.summaries.push({
        ...common,
        state: 'unknown',
        before: null,
        capacity: null,
        target: null,
        predictedAfter: null,
        reached: false,
      });
      return undefined;
    }
    if (!figure.holds) {
      this.summaries.push({
        ...common,
        state: 'idle',
        before: figure.before,
        capacity: figure.capacity,
        target: figure.target,
        predictedAfter: figure.before,
        reached: true,
      });
      return undefined;
    }
    return { choose: (candidates) => this.choose(policy, rule, figure, candidates) };
  }

  /** The measured figure, its target in bytes, and whether the condition holds. */
  private figure(
    rule: PressureRule,
  ): { before: number; capacity: number | null; target: number; holds: boolean; describe: string } | undefined {
    if (rule.measure === 'totalSize') {
      const before = (this.totalImageBytes ??= uniqueLayerBytes(this.inputs.snapshot.images));
      return {
        before,
        capacity: null,
        target: rule.below,
        holds: before > rule.above,
        describe: `images total ${formatBytes(before)}, above ${rule.aboveText}`,
      };
    }
    const disk = this.inputs.disk;
    if (disk === undefined || !(disk.total > 0)) return undefined;
    const ratio = disk.used / disk.total;
    return {
      before: disk.used,
      capacity: disk.total,
      target: Math.floor(disk.total * rule.below),
      holds: ratio > rule.above,
      describe: `disk ${(ratio * 100).toFixed(1)}% full, above ${rule.aboveText}`,
    };
  }

  private choose(
    policy: CompiledImagePolicy,
    rule: PressureRule,
    figure: { before: number; capacity: number | null; target: number; describe: string },
    candidates: readonly PressureCandidate[],
  ): PressureCandidate[] {
    const { now } = this.inputs;
    const usage = this.inputs.snapshot.usage?.images;
    // With neither a last use nor a build time, an image is taken last: nothing says it is old.
    const lastUse = (image: ImageObj) => usage?.get(image.id) ?? image.created ?? Infinity;
    // Least recently used first; equal times by ID, so the choice never depends on listing order.
    const ordered = [...candidates].sort(
      (a, b) => lastUse(a.image) - lastUse(b.image) || (a.image.id < b.image.id ? -1 : a.image.id > b.image.id ? 1 : 0),
    );
    const earlier = this.ledger.selectedOf('image').map((d) => d.id);
    const freedBy = (ids: readonly string[]) =>
      simulateImageDeletions(
        this.inputs.snapshot.images,
        this.inputs.index,
        ids,
        this.inputs.isHeld,
        this.inputs.ghostChains,
      ).deletions.reduce((s, d) => s + d.bytes, 0);
    const freedEarlier = earlier.length > 0 ? freedBy(earlier) : 0;
    const chosen: PressureCandidate[] = [];
    const chosenIds = new Set<string>();
    let freed = freedEarlier;
    let spared = 0;
    const reached = () => figure.before - freed <= figure.target;
    // The engine refuses an image with a child that stays; such an image cannot go yet.
    const blocked = (c: PressureCandidate) =>
      (this.inputs.index.children.get(c.image.id) ?? []).some(
        (id) => !chosenIds.has(id) && !this.ledger.isSelected('image', id),
      );
    const take = (c: PressureCandidate) => {
      freed = freedBy([...earlier, ...chosenIds, c.image.id]);
      chosenIds.add(c.image.id);
      const used = usage?.get(c.image.id);
      const created = c.image.created;
      const when =
        used !== undefined
          ? `last used ${formatDuration(now - used)} ago`
          : created !== undefined
            ? `no last-use record, so ordered by creation (created ${formatDuration(now - created)} ago)`
            : 'no last-use record and no build time, so taken last';
      chosen.push({
        image: c.image,
        reason: `${c.reason}; ${when}; under pressure (${figure.describe}): least recently used first until ${rule.belowText}`,
      });
    };
    // Parents passed over while a child stayed, least recently used first.
    const waiting: PressureCandidate[] = [];
    for (const c of ordered) {
      if (reached()) {
        spared++;
        continue;
      }
      if (blocked(c)) {
        waiting.push(c);
        continue;
      }
      take(c);
      // Taking a child may free a parent passed over before; it was used less recently than
      // anything still ahead, so it goes next.
      for (let i = 0; i < waiting.length && !reached();) {
        const w = waiting[i] as PressureCandidate;
        if (blocked(w)) i++;
        else {
          waiting.splice(i, 1);
          take(w);
          i = 0;
        }
      }
    }
    const predictedAfter = figure.before - freed;
    this.summaries.push({
      policy: policy.name,
      measure: rule.measure,
      state: 'active',
      when: rule.aboveText,
      until: rule.belowText,
      before: figure.before,
      capacity: figure.capacity,
      target: figure.target,
      freedEarlier,
      freed: freed - freedEarlier,
      predictedAfter,
      selected: chosen.length,
      spared,
      reached: predictedAfter <= figure.target,
    });
    return chosen;
  }
}
