// The benchmark's Markdown table, also shown in the README.
import type { BenchResult } from './run.js';
import type { Paired } from './measure.js';

const n = (x: number, digits = 2) => x.toFixed(digits);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
/** The median of the pairs' ratios, and its quartiles. */
const ratio = (p: Paired) => `${n(p.ratio)}× (${n(p.low)}–${n(p.high)})`;

export function renderMarkdown(r: BenchResult): string {
  const { steady, memory, planner, fixture } = r;
  const { reclaimd, prune, concurrency, repeat, runs, identical } = r.removal;
  const spread = (x: { min: number; max: number; seconds: readonly number[] }) =>
    x.seconds.length > 1 ? `; ${n(x.min)}–${n(x.max)} s over ${x.seconds.length} runs` : '';
  const median = repeat > 1 ? 'median ' : '';
  const count = (t: { removed: Record<string, number> }) =>
    (t.removed['container'] ?? 0) + (t.removed['image'] ?? 0) + (t.removed['volume'] ?? 0);
  const bytes = (t: { bytes: Record<string, number> }, k: string) => mb(t.bytes[k] ?? 0);
  return `## Benchmark (scale ${r.scale})

Run ${r.when} on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, Docker Engine ${r.machine.engine} (API ${r.machine.api}), ${r.machine.store}.
Removal: each side ${repeat > 1 ? `${repeat} times, taking turns going first (${runs.order.map((o) => (o === 'reclaimd' ? 'R' : 'P')).join(' ')}), ` : 'once, '}each run on a fixture built for it from the same seed just before it.
Fixture: ${fixture.images} images (${fixture.dangling} dangling), ${fixture.containers.running + fixture.containers.exited + fixture.containers.created} containers (${fixture.containers.running} running, ${fixture.containers.exited} exited, ${fixture.containers.created} created), ${fixture.volumes.named + fixture.volumes.anonymous} volumes (${fixture.volumes.mounted} mounted); built in ${n(fixture.seconds, 1)} s.

| measurement | reclaimd | reference | ratio |
|---|---|---|---|
| steady-state cycle, warm caches (nothing to remove; median of ${steady.pairs}, each paired with the raw lists timed beside it) | ${n(steady.cycleSeconds, 3)} s, ${steady.callsPerCycle} API calls | raw list calls: ${n(steady.listSeconds, 3)} s, 3 calls | ${ratio(steady)} |
| steady-state cycle of the daemon itself, as it logs it (median of ${r.steadyDaemon.shipped.pairs}, each paired with the raw lists timed after it; node defaults / as shipped) | ${n(r.steadyDaemon.defaults.cycleSeconds, 3)} s / ${n(r.steadyDaemon.shipped.cycleSeconds, 3)} s; CPU time per cycle ${n(r.steadyDaemon.defaults.cpuSeconds, 3)} s / ${n(r.steadyDaemon.shipped.cpuSeconds, 3)} s | raw list calls: ${n(r.steadyDaemon.defaults.listSeconds, 3)} s / ${n(r.steadyDaemon.shipped.listSeconds, 3)} s | ${ratio(r.steadyDaemon.defaults)} / ${ratio(r.steadyDaemon.shipped)} |
| first cycle, cold caches | ${n(steady.firstCycleSeconds, 2)} s, ${steady.firstCycleCalls} API calls | | |
| removal: objects | ${count(reclaimd)} (${reclaimd.removed['container']} containers, ${reclaimd.removed['image']} images, ${reclaimd.removed['volume']} volumes) | prune: ${count(prune)} (${prune.removed['container']}, ${prune.removed['image']}, ${prune.removed['volume']}) | |
| removal: wall time, whole enforce cycle | ${median}${n(reclaimd.seconds)} s (list ${n(reclaimd.timings?.snapshotSeconds ?? 0)} s, plan + measure ${n(reclaimd.timings?.planSeconds ?? 0)} s, remove ${n(reclaimd.timings?.executeSeconds ?? 0)} s; concurrency ${concurrency}${spread(runs.reclaimd)}) | ${median}${n(prune.seconds)} s${spread(runs.prune)} | |
| removal: throughput | ${n(reclaimd.perSecond, 1)} objects/s | ${n(prune.perSecond, 1)} objects/s | ${n(reclaimd.perSecond / prune.perSecond)}× |
| bytes reported: containers | ${bytes(reclaimd, 'container')} | ${bytes(prune, 'container')} | |
| bytes reported: images | ${bytes(reclaimd, 'image')} | ${bytes(prune, 'image')} | |
| bytes reported: volumes | ${bytes(reclaimd, 'volume')} | ${bytes(prune, 'volume')} | |
| the engine's LayersSize fell by (\`/system/df\`, read around each run) | ${reclaimd.engineDrop === undefined ? 'not measured' : mb(reclaimd.engineDrop)} | ${prune.engineDrop === undefined ? 'not measured' : mb(prune.engineDrop)} | |
| objects per resource and the engine's drop${r.machine.store === 'containerd image store' ? '' : ', and bytes reported'}, every run of both sides | ${identical ? 'identical' : '**differ** (see the JSON)'} | | |
| daemon RSS: idle (60 s after a cycle) / 3 s after / peak (node defaults, as \`npx reclaimd\`) | ${n(memory.idleRssMB, 1)} MB / ${n(memory.afterCycleRssMB, 1)} MB / ${n(memory.peakRssMB, 1)} MB | | |
| daemon RSS: idle / 3 s after / peak (as shipped: image, systemd; ${[...r.shipped.flags, ...Object.entries(r.shipped.env).map(([k, v]) => `${k}=${v}`)].map((f) => `\`${f}\``).join(' ')}) | ${n(r.memoryShipped.idleRssMB, 1)} MB / ${n(r.memoryShipped.afterCycleRssMB, 1)} MB / ${n(r.memoryShipped.peakRssMB, 1)} MB | | |
| planner alone: ${planner.objects.toLocaleString('en')} objects × ${planner.policies} policies | ${n(planner.seconds, 3)} s (${planner.actions} actions) | | |
`;
}
