/** How a plan's pressure summaries read in `plan` output. */
import type { PressureSummary } from '../core/model/plan.js';
import { formatBytes } from '../lib/units.js';

/** One line per pressure policy: what it measured, its target, and how far the plan gets. */
export function pressureLines(summaries: readonly PressureSummary[]): string[] {
  return summaries.map((s) => {
    const head = `  ${s.policy} (when ${s.measure === 'diskUsage' ? 'diskUsageAbove' : 'totalSizeAbove'} ${s.when}, until ${s.until}):`;
    if (s.state === 'unknown') return `${head} disk usage unknown; skipped, nothing removed`;
    const show = (bytes: number | null) =>
      bytes === null
        ? 'unknown'
        : s.capacity
          ? `${formatBytes(bytes)} (${((bytes / s.capacity) * 100).toFixed(1)}%)`
          : formatBytes(bytes);
    if (s.state === 'idle') return `${head} ${show(s.before)}, not above the trigger; nothing to do`;
    const earlier = s.freedEarlier > 0 ? `, ${formatBytes(s.freedEarlier)} by earlier policies` : '';
    const verdict = s.reached ? 'target reached' : 'target NOT reached: nothing more this policy may remove';
    return `${head} ${show(s.before)} → predicted ${show(s.predictedAfter)}, target ${show(s.target)}; ${s.selected} selected freeing ${formatBytes(s.freed)}${earlier}, ${s.spared} spared; ${verdict}`;
  });
}
