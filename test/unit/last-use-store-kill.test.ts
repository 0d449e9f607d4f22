// The state file is written atomically: a writer killed with SIGKILL at random moments, in the
// middle of its writes, always leaves a whole file behind, holding at least every write it
// had reported done. Nothing acknowledged is lost and nothing is ever half written.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LastUseStore, stateFile } from '../../src/runtime/last-use/store.js';
import { decodeState } from '../../src/core/last-use/last-use.js';
import { BASE_IMAGES, writerImageId } from '../support/state-writer.js';

const RUNS = Number(process.env['RECLAIMD_KILL_RUNS'] ?? 15);
/** Kills go on past RUNS until this many landed inside a write (at most MAX_RUNS in all). */
const INSIDE = 3;
const MAX_RUNS = Math.max(RUNS, 120);
const writer = new URL('../support/state-writer.ts', import.meta.url).pathname;

/**
 * Starts a writer and kills it at `at` (a fraction, jittered) of one write cycle after its
 * second write, a cycle as long as its first took on this machine, however loaded. A cycle
 * encodes the record, then writes it: the write is its last few per cent. Returns the last
 * write it reported before the kill and how many it had reported at the moment of the kill.
 */
async function killMidWrite(dir: string, at: number): Promise<{ reported: number; late: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let reported = 0;
  let buffer = '';
  const times: number[] = [];
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (const m of buffer.matchAll(/written (\d+)\n/g)) {
        reported = Number(m[1]);
        times.push(performance.now());
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (reported >= 2) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited with ${code} before its second write`)));
  });
  const cycle = (times[times.length - 1] as number) - (times[0] as number);
  const second = reported;
  await new Promise((r) => setTimeout(r, cycle * at * (0.9 + Math.random() * 0.2)));
  child.kill('SIGKILL');
  await exited;
  // Late: the next write was done before the kill, so it came too late to land inside one.
  return { reported, late: reported > second };
}

describe('the last-use state file under SIGKILL', () => {
  it(`is whole after every kill (at least ${RUNS}, ${INSIDE} of them inside a write), with every reported write in it`, async () => {
    const partial: number[] = [];
    // Where in a cycle to kill: moved later after an early kill, earlier after a late one, so
    // the kills home in on the write at the end of the cycle on any machine.
    let at = 0.5;
    for (let run = 0; run < MAX_RUNS && (run < RUNS || partial.filter((n) => n > 0).length < INSIDE); run++) {
      const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-kill-'));
      const { reported, late } = await killMidWrite(dir, at);
      const decoded = decodeState(readFileSync(stateFile(dir, 'E'), 'utf8'), 'E');
      if (!decoded.ok) throw new Error(`run ${run}: ${decoded.message}`);
      const images = decoded.record.images;
      // Every reported write is there; at most the one in flight beyond it.
      expect(images.size).toBeGreaterThanOrEqual(BASE_IMAGES + reported);
      expect(images.size).toBeLessThanOrEqual(BASE_IMAGES + reported + 1);
      for (let i = 0; i < images.size; i++) expect(images.has(writerImageId(i))).toBe(true);
      const leftovers = readdirSync(dir).filter((f) => f.includes('.tmp-'));
      partial.push(leftovers.length);
      if (leftovers.length === 0) at = Math.min(1.5, Math.max(0.2, at + (late ? -0.04 : 0.08)));
      // A temporary file a killed writer left behind is cleared by the next writer that opens
      // the record, once it is old enough not to be another live writer's.
      for (const f of leftovers) utimesSync(path.join(dir, f), new Date(0), new Date(0));
      await new LastUseStore({ dir, log: pino({ level: 'silent' }) }).open('E');
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    }
    // The kills must have landed inside writes, or the test proves nothing.
    expect(
      partial.filter((n) => n > 0).length,
      `kills inside a write: ${partial.filter((n) => n > 0).length}/${partial.length}`,
    ).toBeGreaterThanOrEqual(INSIDE);
  }, 300_000);
});
