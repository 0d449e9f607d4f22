// How the container image runs node: the flags of the Dockerfile's ENTRYPOINT and the
// environment it sets for the allocator. Read from the Dockerfile itself, so the benchmark
// measures what ships and a test can hold the systemd unit to the same.
import { readFileSync } from 'node:fs';

export interface ShippedNode {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Environment variables of the image that change how node or glibc use memory. */
const MEMORY_ENV = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'UV_THREADPOOL_SIZE'];

export function shippedNode(dockerfile = new URL('../../Dockerfile', import.meta.url)): ShippedNode {
  const text = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text);
  if (!entry) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(entry[1] as string) as string[];
  const script = argv.findIndex((a) => a.endsWith('/cli/main.js'));
  if (argv[0] !== 'node' || script < 0)
    throw new Error(`the ENTRYPOINT does not run node on cli.js: ${entry[1] as string}`);
  const env: Record<string, string> = {};
  for (const line of text.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.matchAll(/(\w+)=(\S+)/g))
      if (MEMORY_ENV.includes(m[1] as string)) env[m[1] as string] = m[2] as string;
  }
  return { flags: argv.slice(1, script), env };
}
