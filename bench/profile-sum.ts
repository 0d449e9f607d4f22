// Summing a Go CPU profile (pprof, as dockerd serves it) by function; pure, so it is unit-tested.
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

/** CPU seconds by function: each sample's value counted once for every function on its stack. */
export function cumulative(raw: Buffer): { total: number; byFunction: Map<string, number> } {
  const p = Profile.decode(gunzipSync(raw));
  const str = (i: number | bigint) => String(p.stringTable.strings[Number(i)] ?? '');
  const cpuIndex = p.sampleType.findIndex((t) => str(t.type) === 'cpu');
  const funcs = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(
    p.location.map((l) => [Number(l.id), l.line.map((ln) => funcs.get(Number(ln.functionId)) ?? '?')]),
  );
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const s of p.sample) {
    const ns = Number(s.value[cpuIndex < 0 ? s.value.length - 1 : cpuIndex] ?? 0);
    total += ns;
    const seen = new Set(s.locationId.flatMap((id) => locs.get(Number(id)) ?? []));
    for (const name of seen) byFunction.set(name, (byFunction.get(name) ?? 0) + ns);
  }
  const sec = new Map([...byFunction].map(([k, v]) => [k, v / 1e9]));
  return { total: total / 1e9, byFunction: sec };
}
