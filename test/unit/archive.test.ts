// The archive step (policy `archive: { dir }`): planned for selected images that their
// registry does not confirm it has (a repository digest alone is no proof: the containerd
// image store gives every tagged image one), run before any untag or delete, and a failure
// leaves the image alone.
// Runs the whole cycle against the fake engine, which writes real files through the same
// atomic writer as the adapter, into real temporary directories.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/runtime/metrics.js';
import { recordCycle } from '../../src/runtime/cycle/record.js';
import { planJson, planText } from '../../src/cli/render.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { archiveFileName, unusableArchiveDirs } from '../../src/runtime/cycle/archive.js';
import { execute } from '../../src/runtime/cycle/execute.js';
import { plan } from '../../src/core/planner/plan.js';
import type { Action } from '../../src/core/model/plan.js';

/** An action's archive plan; only image actions have one. */
const archiveOf = (a: Action | undefined) => (a?.resource === 'image' ? a.archive : undefined);
import type { Mode } from '../../src/core/config/config.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, config, image, NOW, planAt } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

const HEX = 'a'.repeat(64);
const built = image({
  id: `sha256:${HEX}`,
  tags: ['ci/app:pr-1', 'ci/app:pr-1b'],
  layers: [['L1', 1000]],
  created: ago(60),
});
const PULLED = 'ci/app@sha256:' + 'd'.repeat(64);
const pulled = image({
  id: 'sha256:' + 'b'.repeat(64),
  tags: ['ci/app:pr-2'],
  digests: [PULLED],
  layers: [['L2', 2000]],
  created: ago(60),
});
/** The registry has the pulled image. */
const registry = new Map([[PULLED, { found: true }]]);
/** A fake engine whose registry has the pulled image. */
function engineWith(images: Parameters<typeof image>[0][] | ReturnType<typeof image>[]) {
  const engine = new FakeEngine({ images: images as ReturnType<typeof image>[] });
  engine.registry.add(PULLED);
  return engine;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-archive-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cfg = (archiveDir: string) =>
  config({
    policies: [
      {
        name: 'stale-ci',
        resource: 'image',
        match: { repositories: ['ci/**'], olderThan: '30d' },
        archive: { dir: archiveDir },
      },
    ],
    limits: { concurrentRemovals: 1 },
  });

async function cycle(engine: FakeEngine, mode: Mode, archiveDir = dir) {
  const { log, lines } = captureLog();
  const report = await runCycle(engine, cfg(archiveDir), { mode, now: NOW }, log);
  return { report, lines };
}

const removals = (engine: FakeEngine) =>
  engine.calls.filter((c) => !c.startsWith('snapshot') && !c.startsWith('measure'));

describe('archive: planning', () => {
  it('plans an archive for an image without a digest, and says why one its registry has gets none', () => {
    const p = planAt(cfg('/archive'), { images: [built, pulled], registry });
    const byName = new Map(p.actions.map((a) => [a.name, a]));
    expect(archiveOf(byName.get('ci/app:pr-1'))).toEqual({ dir: '/archive', estimatedBytes: 1000 });
    expect(archiveOf(byName.get('ci/app:pr-2'))).toBeUndefined();
    expect(byName.get('ci/app:pr-2')?.reason).toMatch(
      /not archived: its registry has ci\/app@sha256:d+, so it can be pulled again$/,
    );
    expect(byName.get('ci/app:pr-1')?.reason).not.toMatch(/archived/);
  });

  it('archives an image whose repository digest its registry does not confirm, and says why', () => {
    for (const answers of [new Map([[PULLED, { found: false, detail: 'manifest unknown' }]]), undefined]) {
      const p = planAt(cfg('/archive'), { images: [pulled], ...(answers ? { registry: answers } : {}) });
      expect(archiveOf(p.actions[0])).toEqual({ dir: '/archive', estimatedBytes: 2000 });
      expect(p.actions[0]?.reason).toMatch(
        new RegExp(
          `archived first: ci/app@sha256:d+ is not confirmed in its registry \\(${answers ? 'manifest unknown' : 'not asked'}\\)$`,
        ),
      );
    }
  });

  it('sizes the archive by content where the engine says (containerd image store), not content and snapshots', () => {
    const p = planAt(cfg('/archive'), { images: [{ ...built, size: 5000, content: 1800 }] });
    expect(archiveOf(p.actions[0])).toEqual({ dir: '/archive', estimatedBytes: 1800 });
  });

  it('gives an untagged parent planned with its child no archive of its own', () => {
    const parent = image({ id: 'sha256:' + 'c'.repeat(64), layers: [['P', 500]] });
    const child = image({ id: `sha256:${HEX}`, tags: ['ci/app:pr-1'], parent, layers: [['C', 100]], created: ago(60) });
    const p = planAt(cfg('/archive'), { images: [parent, child] });
    expect(p.actions.map((a) => [a.id, archiveOf(a)])).toEqual([
      [child.id, { dir: '/archive', estimatedBytes: 600 }],
      [parent.id, undefined],
    ]);
  });

  it('plans no archive for policies without one', () => {
    const p = planAt(config({ policies: [{ name: 'p', resource: 'image', match: { olderThan: '30d' } }] }), {
      images: [built],
    });
    expect(archiveOf(p.actions[0])).toBeUndefined();
  });

  it('dry-run text and JSON say what would be archived, with the size as an estimate', () => {
    const p = planAt(cfg('/archive'), { images: [built, pulled], registry });
    const text = planText(p, 'dry-run');
    expect(text).toMatch(/Would archive 1 image\(s\) first \(docker save\), about .* \(estimate: image sizes\):/);
    expect(text).toMatch(/stale-ci +ci\/app:pr-1 +~.* +to \/archive/);
    const json = planJson(p, 'dry-run') as { actions: Array<{ name: string; archive?: unknown }> };
    expect(json.actions.find((a) => a.name === 'ci/app:pr-1')?.archive).toEqual({
      dir: '/archive',
      estimatedBytes: 1000,
    });
  });

  it('finds the archive directories a real run could not write to, so a dry-run can warn', async () => {
    expect(await unusableArchiveDirs(planAt(cfg(dir), { images: [built] }))).toEqual([]);
    const missing = path.join(dir, 'gone');
    expect(await unusableArchiveDirs(planAt(cfg(missing), { images: [built] }))).toEqual([
      { dir: missing, problem: expect.stringContaining('ENOENT') },
    ]);
    expect(await unusableArchiveDirs(planAt(cfg(missing), { images: [pulled], registry }))).toEqual([]);
  });

  it('names archive files by first tag (or short ID) and full ID', () => {
    expect(archiveFileName(`sha256:${HEX}`, ['registry:5000/ci/app:pr-1'])).toBe(
      `registry_5000_ci_app_pr-1--${HEX}.tar`,
    );
    expect(archiveFileName(`sha256:${HEX}`, [])).toBe(`aaaaaaaaaaaa--${HEX}.tar`);
    expect(archiveFileName(`sha256:${HEX}`, [`${'x'.repeat(300)}:1`]).length).toBeLessThanOrEqual(255);
  });
});

describe('archive: execution', () => {
  it('asks the registry about digests, saves the image atomically before untagging or deleting it, then removes it and counts it', async () => {
    const engine = engineWith([built, pulled]);
    const { report, lines } = await cycle(engine, 'enforce');
    expect(removals(engine)).toEqual([
      `registryHas ${PULLED}`,
      `imageRefs ${built.id}`,
      `saveImage ${built.id}`,
      `imageInUse ${built.id}`,
      'imageIdOf ci/app:pr-1',
      'untag ci/app:pr-1',
      `deleteImage ${built.id}`,
      `imageRefs ${pulled.id}`,
      `deleteImage ${pulled.id}`,
    ]);
    const file = path.join(dir, `ci_app_pr-1--${HEX}.tar`);
    expect(readdirSync(dir)).toEqual([path.basename(file)]);
    expect(readFileSync(file).includes(Buffer.from('"RepoTags":["ci/app:pr-1","ci/app:pr-1b"]'))).toBe(true);
    const size = readFileSync(file).length;
    expect(report.removed.map((r) => [r.id, r.archived])).toEqual([
      [built.id, { path: file, bytes: size }],
      [pulled.id, undefined],
    ]);
    expect(lines.find((l) => l['msg'] === 'removed' && l['id'] === built.id)).toMatchObject({
      archive: file,
      archiveBytes: size,
    });
    const metrics = createMetrics();
    recordCycle(metrics, report, 1);
    expect((await metrics.archived.get()).values).toEqual([{ labels: { policy: 'stale-ci' }, value: 1 }]);
    expect((await metrics.archivedBytes.get()).values).toEqual([{ labels: { policy: 'stale-ci' }, value: size }]);
  });

  it('a missing archive directory removes nothing of that image: a counted, logged skip', async () => {
    const engine = engineWith([built, pulled]);
    const missing = path.join(dir, 'not-mounted');
    const { report, lines } = await cycle(engine, 'enforce', missing);
    expect(removals(engine)).toEqual([
      `registryHas ${PULLED}`,
      `imageRefs ${built.id}`,
      `saveImage ${built.id}`,
      `imageRefs ${pulled.id}`,
      `deleteImage ${pulled.id}`,
    ]);
    expect(engine.images.get(built.id)?.tags).toEqual(['ci/app:pr-1', 'ci/app:pr-1b']);
    expect(report.skipped).toEqual([
      expect.objectContaining({
        id: built.id,
        reason: 'archive-failed',
        message: expect.stringContaining(`could not archive to ${missing}/ci_app_pr-1--${HEX}.tar: ENOENT`),
      }),
    ]);
    expect(report.removed.map((r) => r.id)).toEqual([pulled.id]);
    const skipLine = lines.find((l) => l['msg'] === 'removal skipped');
    expect(skipLine).toMatchObject({
      level: 50,
      reason: 'archive-failed',
      archive: `${missing}/ci_app_pr-1--${HEX}.tar`,
    });
    const metrics = createMetrics();
    recordCycle(metrics, report, 1);
    expect((await metrics.skipped.get()).values).toEqual([
      { labels: { resource: 'image', reason: 'archive-failed' }, value: 1 },
    ]);
    expect((await metrics.archived.get()).values).toEqual([]);
  });

  it('a stream that breaks off leaves no file, not even a temporary one, and the image stays', async () => {
    const engine = new FakeEngine({ images: [built] });
    engine.breakSaveStream = true;
    const { report } = await cycle(engine, 'enforce');
    expect(report.skipped.map((s) => [s.id, s.reason])).toEqual([[built.id, 'archive-failed']]);
    expect(readdirSync(dir)).toEqual([]);
    expect(engine.images.has(built.id)).toBe(true);
    expect(removals(engine)).not.toContain(`deleteImage ${built.id}`);
  });

  it('an image that gained a digest since the plan is neither archived nor removed', async () => {
    const engine = new FakeEngine({ images: [built] });
    const { log } = captureLog();
    const snap = await engine.snapshot({ containerDetails: false });
    engine.images.get(built.id)?.digests.push('ci/app@sha256:' + 'e'.repeat(64));
    engine.calls.length = 0;
    const result = await execute(engine, plan(cfg(dir), snap, NOW), log);
    expect(result.skipped.map((s) => s.reason)).toEqual(['conflict']);
    expect(engine.calls).toEqual([`imageRefs ${built.id}`]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('dry-run writes nothing', async () => {
    const engine = new FakeEngine({ images: [built] });
    const { report } = await cycle(engine, 'dry-run');
    expect(archiveOf(report.plan.actions[0])).toEqual({ dir, estimatedBytes: 1000 });
    expect(engine.calls).toEqual(['snapshot']);
    expect(readdirSync(dir)).toEqual([]);
  });
});
