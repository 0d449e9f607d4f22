// The removal benchmark's Markdown page for one scale and engine (bench/results/removal-*.md).
import type { RemovalResult } from './removal.js';
import { MINE, SIDES, type Mine, type Side, type SideSummary } from './removal-stats.js';

const n = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const LABEL: Record<Side, string> = {
  reclaimd: '`reclaimd once --mode enforce` (CLI, spawn to exit)',
  'reclaimd-cycle': "reclaimd's daemon cycle, enforce (in process, after a dry-run cycle warmed its caches)",
  'system-prune':
    '`docker system prune -af --volumes` (CLI, spawn to exit; from API 1.42 followed by `docker volume prune -af`)',
  'prune-endpoints': 'prune endpoints in sequence (containers, images, volumes, networks, build cache)',
};

const counts = (s: SideSummary) =>
  `${s.objects} (${s.gone['container'] ?? 0} containers, ${s.gone['image'] ?? 0} images, ${s.gone['volume'] ?? 0} volumes)`;
const bytes = (s: SideSummary) =>
  Object.entries(s.bytes)
    .filter(([, b]) => b > 0)
    .map(([k, b]) => `${k} ${mb(b)}`)
    .join(', ') || '0';
const verdict = (t: boolean | null) => (t === null ? 'n/a' : t ? 'met' : '**not met**');

export function renderRemoval(r: RemovalResult): string {
  const { fixture, sides } = r;
  const row = (side: Side) => {
    const s = sides[side];
    const vs = (MINE as readonly string[]).includes(side) ? r.versus[side as Mine] : undefined;
    const both = (f: (v: { speedup: number; cpuRatio: number }) => number) =>
      vs ? `${n(f(vs['system-prune']))}× / ${n(f(vs['prune-endpoints']))}×` : '';
    return `| ${LABEL[side]} | ${n(s.wallSeconds)} s (${n(s.wallMin)}–${n(s.wallMax)}) | ${n(s.engineCpuSeconds)} s | ${n(s.engineCpuPerObject * 1000, 3)} ms | ${both((v) => v.speedup)} | ${both((v) => v.cpuRatio)} | ${counts(s)} | ${bytes(s)}; LayersSize −${mb(s.layersDrop)} | ${s.identical ? 'yes' : `**no**: ${s.problems.join('; ')}`} |`;
  };
  const prep =
    r.preparation.method === 'restore'
      ? 'every run on a fresh copy of the data root saved right after the fixture was built (engine halted, data root replaced, engine started, services running again, `sync`, 2 s)'
      : `every run on the fixture built again (restoring a copy of the data root failed: ${r.preparation.fallbackReason ?? 'unknown'})`;
  const { coldStart, steady } = r.fixed;
  return `## Removal benchmark (scale ${r.scale}, ${r.engine}${r.contention ? ', under CPU contention' : ''})

Run ${r.when} on ${r.machine['cpus']} × ${r.machine['cpuModel']}, Node ${r.machine['node']}, Docker Engine ${r.machine['engineVersion']} (API ${r.machine['api']}), ${r.machine['store']}.
Fixture (seed ${r.seed}): ${fixture.images} images (${fixture.dangling} dangling), ${fixture.containers.exited} exited containers that ran, ${fixture.containers.running} running services, ${fixture.volumes.named} named volumes (${fixture.volumes.written} written to, ${fixture.volumes.inUse} in use); built in ${n(fixture.seconds, 1)} s. Removable (every unused object, as \`docker system prune -af --volumes\` removes them, with \`docker volume prune -af\` from API 1.42): ${fixture.removable.container} containers, ${fixture.removable.image} images, ${fixture.removable.volume} volumes.
Runs: each side ${r.repeat} time${r.repeat > 1 ? 's' : ''}, in rotating order (${r.order.join(', ')}), ${prep}.${r.contention ? ' During each run a busy loop held core 0 (`taskset -c 0`).' : ''}
Engine CPU: utime + stime of dockerd and its containerd from \`/proc\`, per removed object over what went. Ratios: speed-up is the reference's median wall over reclaimd's (≥ 1: reclaimd at least as fast); CPU is reclaimd's engine CPU per object over the reference's (≤ 1: less engine work).

| side | median wall (min–max) | engine CPU | engine CPU per object | speed-up vs system prune / endpoints | engine CPU per object vs system prune / endpoints | objects removed | bytes reported | removed exactly the removable, services intact |
|---|---|---|---|---|---|---|---|---|
${SIDES.map(row).join('\n')}

| fixed cost | seconds |
|---|---|
| cold start of \`once\` with nothing to do, dry-run (spawn to exit, median of ${coldStart.dryRun.seconds.length}) | ${n(coldStart.dryRun.median, 3)} |
| cold start of \`once\` with nothing to do, enforce (median of ${coldStart.enforce.seconds.length}) | ${n(coldStart.enforce.median, 3)} |
| steady cycle with nothing to do, in process, warm caches (median of ${steady.pairs}) | ${n(steady.cycleSeconds, 3)} (${steady.callsPerCycle} API calls; raw lists ${n(steady.listSeconds, 3)}) |

| issue 20 target | \`once\` (CLI) | daemon cycle |
|---|---|---|
| at least as fast as both references | ${verdict(r.targets.reclaimd.asFast)} | ${verdict(r.targets['reclaimd-cycle'].asFast)} |
| 1.3× faster than both, from 1,000 up | ${verdict(r.targets.reclaimd.faster)} | ${verdict(r.targets['reclaimd-cycle'].faster)} |
| engine CPU per object ≤ 1.2× both references' | ${verdict(r.targets.reclaimd.engineCpu)} | ${verdict(r.targets['reclaimd-cycle'].engineCpu)} |
| steady cycle with nothing to do ≤ 0.15 s at 100 | ${verdict(r.targets.reclaimd.fixedCost)} | ${verdict(r.targets['reclaimd-cycle'].fixedCost)} |
`;
}
