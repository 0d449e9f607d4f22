// The last-use store's file handling, on a temporary directory: no state directory or an
// unusable one means unknown; a corrupt file is set aside, counted and replaced by an empty
// record; writes are whole files, one per engine.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Registry } from 'prom-client';
import { pino } from 'pino';
import { LastUseStore, WATCH_GAP_MS, stateFile, type StoreMetrics } from '../../src/runtime/last-use/store.js';
import { emptyRecord, encodeState } from '../../src/core/last-use/last-use.js';
import { DAY, NOW, container, image, snapshot, volume } from '../support/builders.js';

function metrics(): StoreMetrics {
  const registers = [new Registry()];
  return {
    stateWriteFailures: new Counter({ name: 'w', help: 'w', registers }),
    stateCorrupt: new Counter({ name: 'c', help: 'c', registers }),
    lastUseKnown: new Gauge({ name: 'k', help: 'k', registers }),
  };
}

async function value(m: Counter | Gauge): Promise<number> {
  return (await m.get()).values[0]?.value ?? 0;
}

const lines: string[] = [];
const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
const dir = () => mkdtempSync(path.join(tmpdir(), 'reclaimd-state-'));
const img = image({ id: 'sha256:i1', tags: ['a:1'] });
const snap = snapshot({ images: [img], volumes: [volume({ name: 'data' })] });

describe('LastUseStore', () => {
  it('is unknown without a state directory, and says so', async () => {
    const m = metrics();
    lines.length = 0;
    const store = new LastUseStore({ dir: undefined, log, metrics: m, needed: true });
    await store.open('E');
    expect(store.known).toBe(false);
    expect(store.observe(snap, NOW)).toBeUndefined();
    expect(await value(m.lastUseKnown)).toBe(0);
    expect(lines.join('')).toMatch(/state.dir is not set: last use is unknown/);
  });

  it('is unknown when the directory cannot be created or written', async () => {
    const file = path.join(dir(), 'a-file');
    writeFileSync(file, 'x');
    const store = new LastUseStore({ dir: path.join(file, 'sub'), log, metrics: metrics() });
    await store.open('E');
    expect(store.known).toBe(false);
    await store.flush();
  });

  it('remembers across instances, per engine', async () => {
    const d = dir();
    const first = new LastUseStore({ dir: d, log, metrics: metrics() });
    await first.open('ENGINE-A');
    first.observe(
      snapshot({
        images: [img],
        containers: [container({ name: 'c', image: img })],
        volumes: [volume({ name: 'data' })],
      }),
      NOW - 10 * DAY,
    );
    // A daemon following events says until when it watched; only then does a later open trust the times.
    first.markWatched(Date.now());
    await first.flush();
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const again = new LastUseStore({ dir: d, log, metrics: metrics() });
    await again.open('ENGINE-A');
    const u = again.observe(snap, NOW);
    expect(u?.images.get('sha256:i1')).toBe(NOW - 10 * DAY);
    expect(u?.firstSeenOnly?.images.has('sha256:i1')).toBe(false);
    expect(u?.volumes.get('data')).toBe(NOW - 10 * DAY);

    // Another engine has its own record: everything there is first seen now.
    const other = new LastUseStore({ dir: d, log, metrics: metrics() });
    await other.open('ENGINE-B');
    expect(other.observe(snap, NOW)?.images.get('sha256:i1')).toBe(NOW);
  });

  it('sets a corrupt file aside, counts it, and starts empty (first seen now)', async () => {
    const d = dir();
    const good = new LastUseStore({ dir: d, log, metrics: metrics() });
    await good.open('E');
    good.observe(snap, NOW - 30 * DAY);
    await good.flush();
    const [file] = readdirSync(d);
    const full = path.join(d, file as string);
    writeFileSync(full, readFileSync(full, 'utf8').slice(0, 30));

    const m = metrics();
    lines.length = 0;
    const store = new LastUseStore({ dir: d, log, metrics: m });
    await store.open('E');
    expect(store.known).toBe(true);
    expect(await value(m.stateCorrupt)).toBe(1);
    expect(lines.join('')).toMatch(/the last-use state file is unreadable/);
    expect(readdirSync(d).some((f) => f.startsWith(`${file}.corrupt-`))).toBe(true);
    expect(store.observe(snap, NOW)?.images.get('sha256:i1')).toBe(NOW);
  });

  it('read-only (plan) neither writes nor sets a corrupt file aside', async () => {
    const d = dir();
    const store = new LastUseStore({ dir: d, log, metrics: metrics(), readOnly: true });
    await store.open('E');
    store.observe(snap, NOW);
    await store.flush();
    expect(readdirSync(d)).toEqual([]);
  });

  it('counts a failed write and keeps the record', async () => {
    const d = dir();
    const m = metrics();
    const store = new LastUseStore({ dir: d, log, metrics: m });
    await store.open('E');
    store.observe(snap, NOW);
    // The state file's name taken by a directory: the rename fails.
    mkdirSync(path.join(stateFile(d, 'E'), 'x'), { recursive: true });
    await store.flush();
    expect(await value(m.stateWriteFailures)).toBe(1);
    expect(store.known).toBe(true);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  describe('time nobody watched counts as possible use', () => {
    // A state file as a daemon (or `once`) left it: one image never seen in use, one used,
    // both 20 days ago, written with "watched until" `savedAt`.
    function seed(d: string, savedAt: number): { at: number; text: string } {
      const at = Date.now() - 20 * DAY;
      const record = emptyRecord();
      record.images.set('sha256:i1', { at, used: false });
      record.volumes.set('data', { at, used: true });
      const text = encodeState('E', record, savedAt);
      writeFileSync(stateFile(d, 'E'), text);
      return { at, text };
    }

    // The cron scenario: `reclaimd once` nightly, nothing following events in between. A CI
    // image used hourly by `docker run --rm` has no container at 3am; its 20-day-old "first
    // seen" must not make it look unused for 20 days.
    it('a state not watched for longer than the bound counts everything as used at open (once)', async () => {
      const d = dir();
      seed(d, Date.now() - 21 * DAY);
      lines.length = 0;
      const store = new LastUseStore({ dir: d, log, metrics: metrics() });
      const before = Date.now();
      await store.open('E');
      const u = store.observe(snap, Date.now());
      expect(u?.images.get('sha256:i1')).toBeGreaterThanOrEqual(before);
      expect(u?.volumes.get('data')).toBeGreaterThanOrEqual(before);
      // Never seen in use stays so: only the time moves later.
      expect(u?.firstSeenOnly?.images.has('sha256:i1')).toBe(true);
      expect(lines.join('')).toContain('not watched for a while');
      await store.flush();
      // `once` did not watch: the file still says when the last watcher stopped, so the next
      // `once` resets again rather than trusting a night nobody saw.
      const saved = JSON.parse(readFileSync(stateFile(d, 'E'), 'utf8')) as {
        savedAt: number;
        images: Record<string, { at: number }>;
      };
      expect(saved.savedAt).toBeLessThan(before - 20 * DAY);
      expect(saved.images['sha256:i1']?.at).toBeGreaterThanOrEqual(before);
    });

    it('a state written by a watcher that never watched (savedAt 0) counts everything as used', async () => {
      const d = dir();
      seed(d, 0);
      const store = new LastUseStore({ dir: d, log, metrics: metrics() });
      const before = Date.now();
      await store.open('E');
      expect(store.observe(snap, Date.now())?.images.get('sha256:i1')).toBeGreaterThanOrEqual(before);
    });

    it('a state watched within the bound keeps its times', async () => {
      const d = dir();
      const { at } = seed(d, Date.now() - WATCH_GAP_MS / 2);
      const store = new LastUseStore({ dir: d, log, metrics: metrics() });
      await store.open('E');
      const u = store.observe(snap, Date.now());
      expect(u?.images.get('sha256:i1')).toBe(at);
      expect(u?.volumes.get('data')).toBe(at);
    });

    it('plan (read-only) applies the gap only in memory', async () => {
      const d = dir();
      const { text } = seed(d, Date.now() - 21 * DAY);
      const store = new LastUseStore({ dir: d, log, metrics: metrics(), readOnly: true });
      const before = Date.now();
      await store.open('E');
      expect(store.observe(snap, Date.now())?.images.get('sha256:i1')).toBeGreaterThanOrEqual(before);
      await store.flush();
      expect(readFileSync(stateFile(d, 'E'), 'utf8')).toBe(text);
    });
  });

  it('an engine without an ID has no record: last use is unknown', async () => {
    const d = dir();
    lines.length = 0;
    const m = metrics();
    const store = new LastUseStore({ dir: d, log, metrics: m, needed: true });
    await store.open('');
    expect(store.known).toBe(false);
    expect(store.observe(snap, NOW)).toBeUndefined();
    expect(await value(m.lastUseKnown)).toBe(0);
    expect(lines.join('')).toContain('reports no ID');
    await store.flush();
    expect(readdirSync(d)).toEqual([]);
  });
});
