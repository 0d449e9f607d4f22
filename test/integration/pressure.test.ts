// Pressure policies on the real engine. A budget (`totalSizeAbove`) removes the least recently
// used images first — here, with no last-use store, the oldest by creation — and stops at the
// first image whose predicted freed bytes reach the target, counting a layer another image
// keeps as freeing nothing. A disk-usage policy reads a real (tmpfs) file system, and one whose
// file system cannot be read removes nothing and says what to mount.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage, type LayerSpec } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { expectAccounting, layersSize as engineLayersSize } from '../support/accounting.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;

interface Summary {
  policy: string;
  state: string;
  before: number | null;
  target: number | null;
  predictedAfter: number | null;
  selected: number;
  spared: number;
  reached: boolean;
}
interface Output {
  actions: Array<{ id: string; name: string; bytes: number | null; reason: string }>;
  totals: { count: number; bytes: number; range?: { low: number; high: number } };
  pressure?: Summary[];
  removed?: Array<{ id: string; bytes: number | null }>;
  reclaimed?: { count: number; bytes: number };
}

async function cli(command: 'plan' | 'once', configPath: string): Promise<Output> {
  const r = await runCli([command, '--config', configPath, '--json'], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Output;
}

const layersSize = () => engineLayersSize(docker);
const layer = (name: string, size: number, fill: number): LayerSpec => ({
  files: [{ path: `data/${name}`, size, fill }],
});

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

/**
 * Five images created on consecutive days, oldest first: a (100 kB of its own on a 1 MB base
 * that e, the newest, shares), b 200 kB, c 300 kB, d 400 kB, e 500 kB. Returns name → ID.
 */
async function loadFive(): Promise<Record<string, string>> {
  const base = layer('base', 1_000_000, 1);
  const specs: Array<[string, LayerSpec[]]> = [
    ['a', [base, layer('a', 100_000, 2)]],
    ['b', [layer('b', 200_000, 3)]],
    ['c', [layer('c', 300_000, 4)]],
    ['d', [layer('d', 400_000, 5)]],
    ['e', [base, layer('e', 500_000, 6)]],
  ];
  const ids: Record<string, string> = {};
  for (const [i, [name, layers]] of specs.entries()) {
    ids[name] = await loadImage(docker, {
      tags: [`rt${run}/p:${name}`],
      created: new Date(Date.UTC(2024, 0, 1 + i)),
      labels: { [TEST_LABEL]: run },
      layers,
    });
  }
  return ids;
}

/**
 * What removing each of a, b, c and d frees while e stays (a frees none of the base e keeps),
 * as reclaimd predicts it: on the classic store 100, 200, 300 and 400 kB; on the containerd
 * image store each layer's unpacked snapshot and its content.
 */
async function ownBytes(): Promise<Record<string, number>> {
  const configPath = writeConfig(
    {},
    {
      'p.yaml': {
        policies: [
          { name: 'all', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`], tags: ['a', 'b', 'c', 'd'] } },
        ],
      },
    },
  );
  const planned = await cli('plan', configPath);
  return Object.fromEntries(planned.actions.map((a) => [a.name.split(':').pop() as string, a.bytes as number]));
}

/** reclaimd's own figure for the images' total, which a budget compares: an idle budget reports it. */
async function imagesTotal(): Promise<number> {
  const idle = {
    name: 'budget',
    resource: 'image',
    match: { labels: [`${TEST_LABEL}=${run}`] },
    when: { totalSizeAbove: '1000GB' },
  };
  return (await cli('plan', writeConfig({}, { 'p.yaml': { policies: [idle] } }))).pressure?.[0]?.before as number;
}

/** The oldest images, in order, whose predicted bytes are the fewest that reach `need`. */
function oldestReaching(need: number, own: Record<string, number>): string[] {
  const taken: string[] = [];
  let freed = 0;
  for (const name of ['a', 'b', 'c', 'd']) {
    if (freed >= need) break;
    taken.push(name);
    freed += own[name] as number;
  }
  return taken;
}

async function present(ids: Record<string, string>): Promise<string[]> {
  const listed = new Set((await docker.listImages({ all: true })).map((i) => i.Id));
  return Object.entries(ids)
    .filter(([, id]) => listed.has(id))
    .map(([name]) => name);
}

describe('a budget (totalSizeAbove / totalSizeBelow)', () => {
  it('removes exactly the oldest images needed, counting the shared base as freeing nothing', async () => {
    const ids = await loadFive();
    const loaded = await layersSize();
    const own = await ownBytes();
    const total = await imagesTotal();
    // Over budget by one byte; down to a's and b's bytes and one more. a frees only its own layer
    // (e keeps the base), so a, b and c are needed and d and e stay. Counting a's base too would
    // wrongly stop after a.
    const need = (own['a'] as number) + (own['b'] as number) + 1;
    const policy = {
      name: 'budget',
      resource: 'image',
      match: { labels: [`${TEST_LABEL}=${run}`] },
      when: { totalSizeAbove: `${total - 1}B` },
      until: { totalSizeBelow: `${total - need}B` },
    };
    const configPath = writeConfig({ mode: 'enforce' }, { 'p.yaml': { policies: [policy] } });

    const planned = await cli('plan', configPath);
    expect(planned.actions.map((a) => a.name).sort()).toEqual([`rt${run}/p:a`, `rt${run}/p:b`, `rt${run}/p:c`]);
    expect(planned.actions.find((a) => a.name.endsWith(':a'))?.reason).toMatch(
      /no last-use record, so ordered by creation/,
    );
    expect(planned.pressure).toEqual([
      expect.objectContaining({
        policy: 'budget',
        state: 'active',
        before: total,
        target: total - need,
        selected: 3,
        spared: 2,
        reached: true,
      }),
    ]);
    expect(planned.totals.bytes).toBeGreaterThanOrEqual(need);

    const done = await cli('once', configPath);
    expect(done.reclaimed?.count).toBe(3);
    expect(await present(ids)).toEqual(['d', 'e']);
    // What the plan predicted is what the engine freed.
    expectAccounting(
      'pressure budget',
      {
        predicted: planned.totals.bytes,
        range: planned.totals.range,
        reported: done.reclaimed?.bytes ?? -1,
        engine: loaded - (await layersSize()),
      },
      600_000,
    );
  });

  it('does nothing while the total is within the budget', async () => {
    const ids = await loadFive();
    const policy = {
      name: 'budget',
      resource: 'image',
      match: { labels: [`${TEST_LABEL}=${run}`] },
      when: { totalSizeAbove: `${await imagesTotal()}B` },
    };
    const configPath = writeConfig({ mode: 'enforce' }, { 'p.yaml': { policies: [policy] } });
    const done = await cli('once', configPath);
    expect(done.actions).toEqual([]);
    expect(done.pressure?.[0]).toMatchObject({ state: 'idle' });
    expect(await present(ids)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('disk usage (diskUsageAbove / diskUsageBelow)', () => {
  it('measures the file system at pressure.path and removes the oldest until the predicted usage is low enough', async () => {
    const ids = await loadFive();
    // A 20 MiB tmpfs filled to 90%: 89% triggers, and down to 88% needs about 420 kB.
    const mnt = mkdtempSync(path.join(tmpdir(), 'rdk-pressure-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]);
    try {
      const fs = statfsSync(mnt);
      writeFileSync(path.join(mnt, 'fill'), Buffer.alloc(Math.round(fs.blocks * fs.bsize * 0.9), 1));
      const policy = {
        name: 'disk',
        resource: 'image',
        match: { labels: [`${TEST_LABEL}=${run}`] },
        when: { diskUsageAbove: '89%' },
        until: { diskUsageBelow: '88%' },
      };
      const configPath = writeConfig(
        { mode: 'enforce', pressure: { path: mnt } },
        { 'p.yaml': { policies: [policy] } },
      );
      const planned = await cli('plan', configPath);
      const s = planned.pressure?.[0] as Summary;
      expect(s).toMatchObject({ policy: 'disk', state: 'active', reached: true });
      // tmpfs counts pages, so the exact need is read back from the summary rather than assumed.
      const need = (s.before as number) - (s.target as number);
      expect(need).toBeGreaterThan(300_000);
      expect(need).toBeLessThan(600_000);
      // Oldest first, as few as needed (on the classic store: a's 100 kB, the base staying with
      // e, and b's 200 kB are not enough, c's 300 kB more is); e is spared.
      const taken = planned.actions.map((a) => a.name.split(':').pop() as string).sort();
      expect(taken).toEqual(oldestReaching(need, await ownBytes()));
      if (!inject('containerdStore')) expect(taken).toEqual(['a', 'b', 'c']);
      await cli('once', configPath);
      expect(await present(ids)).toEqual(['a', 'b', 'c', 'd', 'e'].filter((n) => !taken.includes(n)));
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('removes nothing when the file system cannot be read, and says what to mount', async () => {
    const ids = await loadFive();
    const policy = {
      name: 'disk',
      resource: 'image',
      match: { labels: [`${TEST_LABEL}=${run}`] },
      when: { diskUsageAbove: '0%' },
    };
    const configPath = writeConfig(
      { mode: 'enforce', pressure: { path: '/nonexistent/docker-data-root' } },
      { 'p.yaml': { policies: [policy] } },
    );
    const r = await runCli(['once', '--config', configPath, '--json'], host);
    expect(r.code).toBe(0);
    const done = JSON.parse(r.stdout) as Output;
    expect(done.actions).toEqual([]);
    expect(done.pressure?.[0]).toMatchObject({ state: 'unknown' });
    expect(r.stderr).toMatch(
      /cannot read disk usage at \/nonexistent\/docker-data-root: ENOENT.*-v \/var\/lib\/docker:\/var\/lib\/docker:ro/,
    );
    expect(await present(ids)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('by default measures the data root the engine reports', async () => {
    await loadFive();
    const policy = {
      name: 'disk',
      resource: 'image',
      match: { labels: [`${TEST_LABEL}=${run}`] },
      when: { diskUsageAbove: '100%' },
    };
    const configPath = writeConfig({}, { 'p.yaml': { policies: [policy] } });
    const planned = await cli('plan', configPath);
    // Never above 100%, so idle; but known, which proves the engine's DockerRootDir was read.
    expect(planned.pressure?.[0]).toMatchObject({ state: 'idle' });
    expect(planned.pressure?.[0]?.before).toBeGreaterThan(0);
  });
});
