// bench/results/README.md: one table over every removal-*.json, and which of issue 20's targets
// hold. Pure, so it is unit-tested on fixed results; bench/summary.ts reads and writes the files.
import type { RemovalResult } from './removal.js';
import { MINE, removalName, type Mine } from './removal-stats.js';

const n = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const ms = (x: number) => `${n(x * 1000, 3)} ms`;

/** The rows in reading order: engine, then scale, then without contention before with. */
export function sortResults(results: readonly RemovalResult[]): RemovalResult[] {
  return [...results].sort(
    (a, b) => a.engine.localeCompare(b.engine) || a.scale - b.scale || Number(a.contention) - Number(b.contention),
  );
}

function row(r: RemovalResult): string {
  const sp = r.sides['system-prune'];
  const pe = r.sides['prune-endpoints'];
  const ok = Object.values(r.sides).every((s) => s.identical) ? '' : ' ⚠';
  const mine = (m: Mine) => {
    const me = r.sides[m];
    const vs = r.versus[m];
    return `${n(me.wallSeconds)} s | ${n(vs['system-prune'].speedup)}× / ${n(vs['prune-endpoints'].speedup)}× | ${ms(me.engineCpuPerObject)} | ${n(vs['system-prune'].cpuRatio)}× / ${n(vs['prune-endpoints'].cpuRatio)}×`;
  };
  return `| [${r.engine}](${removalName(r.scale, r.engine, r.contention)}.md) | ${r.scale}${r.contention ? ' (contention)' : ''}${ok} | ${n(sp.wallSeconds)} s | ${n(pe.wallSeconds)} s | ${ms(sp.engineCpuPerObject)} | ${ms(pe.engineCpuPerObject)} | ${mine('reclaimd')} | ${mine('reclaimd-cycle')} | ${n(r.fixed.coldStart.enforce.median, 3)} s | ${n(r.fixed.steady.cycleSeconds, 3)} s |`;
}

/** One line per target: held or not, and where not, which rows break it. */
export function targetNotes(results: readonly RemovalResult[]): string[] {
  return MINE.flatMap((m, i) => [
    ...(i > 0 ? [''] : []),
    `${m === 'reclaimd' ? '`once` (the CLI, cold start included)' : 'The daemon cycle (warm caches)'}:`,
    ...targetNotesOf(results, m),
  ]);
}

function targetNotesOf(results: readonly RemovalResult[], m: Mine): string[] {
  const plain = results.filter((r) => !r.contention);
  const name = (r: RemovalResult) => `${r.engine} at ${r.scale}`;
  const check = (label: string, applies: (r: RemovalResult) => boolean, holds: (r: RemovalResult) => boolean) => {
    const rows = plain.filter(applies);
    if (rows.length === 0) return `- ${label}: not measured.`;
    const broken = rows.filter((r) => !holds(r));
    return broken.length === 0
      ? `- ${label}: **holds** (${rows.map(name).join(', ')}).`
      : `- ${label}: **does not hold** at ${broken.map(name).join(', ')}.`;
  };
  return [
    check(
      'reclaimd at least as fast as both prunes, at every scale',
      () => true,
      (r) => r.targets[m].asFast,
    ),
    check(
      '1.3× faster than both, from 1,000 up',
      (r) => r.scale >= 1000,
      (r) => r.targets[m].faster === true,
    ),
    check(
      "engine CPU per removed object ≤ 1.2× both prunes'",
      () => true,
      (r) => r.targets[m].engineCpu,
    ),
    check(
      'cycle with nothing to do ≤ 0.15 s at 100 objects',
      (r) => r.scale === 100,
      (r) => r.targets[m].fixedCost === true,
    ),
  ];
}

export function renderSummary(results: readonly RemovalResult[]): string {
  const sorted = sortResults(results);
  const unsure = sorted.filter((r) => !Object.values(r.sides).every((s) => s.identical));
  return `# Benchmark results

Written by \`npm run bench:summary\` from the \`removal-*.json\` files here; each row's engine
links its page, \`removal-SCALE-ENGINE[-contention].md\`. What is measured is described
in [docs/performance.md](../../docs/performance.md). Walls are medians; the speed-up is a
prune's wall over reclaimd's (system prune / prune endpoints), the CPU ratio reclaimd's engine CPU
per removed object over a prune's. Fixed costs: the cold start of \`once --mode enforce\` with
nothing to do (spawn to exit), and the in-process cycle with nothing to do.

| engine | scale | system-prune wall | endpoints wall | system-prune engine CPU / object | endpoints' | \`once\` wall | speed-up | engine CPU / object | CPU ratio | daemon cycle wall | speed-up | engine CPU / object | CPU ratio | cold start | fixed cost |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${sorted.map(row).join('\n')}

## Issue 20's targets (runs without contention)

${targetNotes(sorted).join('\n')}
${unsure.length === 0 ? '' : `\n⚠ A side did not remove exactly the removable objects, or touched a service, at: ${unsure.map((r) => `${r.engine} ${r.scale}${r.contention ? ' (contention)' : ''}`).join(', ')} (see its page).\n`}`;
}
