// A child process for the kill test of the last-use state file: it writes the state file of
// engine "E" in `dir` over and over, each write one image more than the last, and prints
// `written N` once write N is on disk. Run with `node --import tsx state-writer.ts DIR`.
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { LastUseStore } from '../../src/runtime/last-use/store.js';
import { image, snapshot } from './builders.js';

/** Images in the first write; big enough that a write takes a few milliseconds. */
export const BASE_IMAGES = 20_000;

export const writerImageId = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

/** Writes until killed. */
async function main(dir: string): Promise<void> {
  const images = Array.from({ length: BASE_IMAGES + 5_000 }, (_, i) => image({ id: writerImageId(i), tags: [] }));
  const store = new LastUseStore({ dir, log: pino({ level: 'silent' }) });
  await store.open('E');
  for (let n = 1; ; n++) {
    store.observe(snapshot({ images: images.slice(0, BASE_IMAGES + n) }), Date.now());
    store.markWatched(Date.now());
    await store.flush();
    process.stdout.write(`written ${n}\n`);
  }
}

// Run as a script (the test imports only the constants above).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: state-writer.ts DIR');
  await main(dir);
}
