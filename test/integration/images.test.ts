// Image removal on the real engine: shared layers, several tags, dangling images, keep rules,
// and the accounting promise — bytes predicted by `plan` == bytes reported by `once` == the
// drop in the engine's own layer usage (`/system/df` LayersSize); see support/accounting.ts.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, createContainer, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage, type LayerSpec } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { expectAccounting, layersSize as engineLayersSize } from '../support/accounting.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
const label = () => ({ [TEST_LABEL]: run });

const base: LayerSpec = { files: [{ path: 'base/data', size: 1_000_000, fill: 1 }] };
const top = (n: number, size: number): LayerSpec => ({ files: [{ path: `app/${n}`, size, fill: 10 + n }] });

const layersSize = () => engineLayersSize(docker);

interface PlanJson {
  actions: Array<{
    resource: string;
    id: string;
    name: string;
    policy: string;
    reason: string;
    bytes: number | null;
    bytesRange?: { low: number; high: number };
  }>;
  kept: Array<{ resource: string; id: string; name: string; policy: string; reason: string }>;
  totals: { count: number; bytes: number; range?: { low: number; high: number } };
  removed?: Array<{ id: string; bytes: number | null }>;
  reclaimed?: { count: number; bytes: number };
}

async function cli(command: 'plan' | 'once', configPath: string, ...extra: string[]): Promise<PlanJson> {
  const r = await runCli([command, '--config', configPath, '--json', ...extra], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

describe('images sharing layers', () => {
  it('plan predicts, once reports, and the engine frees exactly the unique layers', async () => {
    const repo = `rt${run}/app`;
    const ids: string[] = [];
    for (const [n, size] of [
      [1, 200_000],
      [2, 300_000],
      [3, 400_000],
    ] as const) {
      ids.push(
        await loadImage(docker, {
          tags: [`${repo}:pr-${n}`],
          created: new Date(Date.UTC(2024, 0, n)),
          labels: label(),
          layers: [base, top(n, size)],
        }),
      );
    }
    // A fourth image shares the base and carries a second tag, so deleting it needs an untag first.
    const extra = await loadImage(docker, {
      tags: [`${repo}:pr-4`, `${repo}:pr-4b`],
      created: new Date(Date.UTC(2024, 0, 4)),
      labels: label(),
      layers: [base, top(4, 500_000)],
    });

    const config = writeConfig(
      { mode: 'dry-run' },
      {
        'ci.yaml': {
          policies: [
            {
              name: 'stale-ci',
              resource: 'image',
              match: {
                repositories: [`rt${run}/**`],
                tags: ['pr-*'],
                olderThan: '30d',
                labels: [`${TEST_LABEL}=${run}`],
              },
              keep: { newest: 1 },
            },
          ],
        },
      },
    );

    const plan = await cli('plan', config);
    // keep.newest: 1 keeps pr-4 (the newest); pr-1..3 go. The base stays, held by pr-4.
    expect(plan.actions.map((a) => a.name).sort()).toEqual([`${repo}:pr-1`, `${repo}:pr-2`, `${repo}:pr-3`]);
    expect(plan.totals.count).toBe(3);
    expect(plan.kept).toContainEqual(
      expect.objectContaining({ id: extra, policy: 'stale-ci', reason: expect.stringMatching(/newest/) }),
    );
    // A dry run removes nothing.
    expect((await listRunObjects(docker, run)).images).toHaveLength(4);

    const before = await layersSize();
    const report = await cli('once', config, '--mode', 'enforce');
    const after = await layersSize();
    expect(report.reclaimed?.count).toBe(3);
    expectAccounting(
      'shared base, kept by the newest',
      {
        predicted: plan.totals.bytes,
        range: plan.totals.range,
        reported: report.reclaimed?.bytes ?? -1,
        engine: before - after,
      },
      900_000,
    );
    if (!inject('containerdStore'))
      expect(report.removed?.map((r) => r.bytes).sort()).toEqual([200_000, 300_000, 400_000]);
    expect((await listRunObjects(docker, run)).images).toEqual([
      { id: extra, tags: [`${repo}:pr-4`, `${repo}:pr-4b`] },
    ]);
  });

  it('counts a shared layer once, when its last holder goes, and untags extra tags by name', async () => {
    const repo = `rt${run}/lib`;
    await loadImage(docker, {
      tags: [`${repo}:a`, `${repo}:a2`, `other${run}/x:1`.replace('other', 'rt')],
      created: new Date('2024-02-01'),
      labels: label(),
      layers: [base, top(5, 123_456)],
    });
    await loadImage(docker, {
      tags: [`${repo}:b`],
      created: new Date('2024-02-02'),
      labels: label(),
      layers: [base, top(6, 654_321)],
    });
    const config = writeConfig(
      {},
      {
        'p.yaml': {
          policies: [{ name: 'all-of-run', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }],
        },
      },
    );

    const plan = await cli('plan', config);
    expect(plan.totals.count).toBe(2);
    const before = await layersSize();
    const report = await cli('once', config, '--mode', 'enforce');
    expectAccounting(
      'shared base, every holder removed; several tags',
      {
        predicted: plan.totals.bytes,
        range: plan.totals.range,
        reported: report.reclaimed?.bytes ?? -1,
        engine: before - (await layersSize()),
      },
      1_000_000 + 123_456 + 654_321,
    );
    expect((await listRunObjects(docker, run)).images).toEqual([]);
  });
});

describe('what is never removed', () => {
  it('keeps images used by any container, protected ones, and ones with a tag the policy does not match', async () => {
    const repo = `rt${run}/svc`;
    const runtime = await loadImage(docker, {
      tags: [`${repo}:pr-1`],
      created: new Date('2024-03-01'),
      labels: label(),
      layers: [busyboxLayer()],
    });
    const stoppedUser = await loadImage(docker, {
      tags: [`${repo}:pr-2`],
      created: new Date('2024-03-02'),
      labels: label(),
      layers: [busyboxLayer(), top(7, 1000)],
    });
    const protectedImg = await loadImage(docker, {
      tags: [`${repo}:pr-3`],
      created: new Date('2024-03-03'),
      labels: { ...label(), 'reclaimd.keep': 'true' },
      layers: [base, top(8, 1000)],
    });
    const alsoProd = await loadImage(docker, {
      tags: [`${repo}:pr-4`, `rt${run}/prod:1`],
      created: new Date('2024-03-04'),
      labels: label(),
      layers: [base, top(9, 1000)],
    });
    const dangling = await loadImage(docker, {
      created: new Date('2024-03-05'),
      labels: label(),
      layers: [base, top(10, 2000)],
    });
    const free = await loadImage(docker, {
      tags: [`${repo}:pr-5`],
      created: new Date('2024-03-06'),
      labels: label(),
      layers: [base, top(11, 3000)],
    });
    await createContainer(docker, { image: runtime, runId: run, cmd: ['sleep', '300'], start: true });
    await createContainer(docker, { image: stoppedUser, runId: run, cmd: ['true'], waitExit: true });

    const config = writeConfig(
      { protect: { labels: ['reclaimd.keep'] } },
      {
        'p.yaml': {
          policies: [
            {
              name: 'svc-prs',
              resource: 'image',
              match: { repositories: [repo], tags: ['pr-*'], labels: [`${TEST_LABEL}=${run}`] },
            },
            {
              name: 'dangling',
              resource: 'image',
              match: { dangling: true, olderThan: '1h', labels: [`${TEST_LABEL}=${run}`] },
            },
          ],
        },
      },
    );
    const plan = await cli('plan', config);
    expect(plan.actions.map((a) => [a.id, a.policy])).toEqual(
      expect.arrayContaining([
        [free, 'svc-prs'],
        [dangling, 'dangling'],
      ]),
    );
    expect(plan.actions).toHaveLength(2);
    const reasons = Object.fromEntries(plan.kept.map((k) => [k.id, k.reason]));
    expect(reasons[runtime]).toMatch(/in use by container .* \(running\)/);
    expect(reasons[stoppedUser]).toMatch(/in use by container .* \(exited\)/);
    expect(reasons[protectedImg]).toMatch(/protected by protect.labels "reclaimd.keep"/);
    // alsoProd matches no policy at all: one of its tags is outside `repo`.
    expect(reasons[alsoProd]).toBeUndefined();

    await cli('once', config, '--mode', 'enforce');
    const left = (await listRunObjects(docker, run)).images.map((i) => i.id).sort();
    expect(left).toEqual([runtime, stoppedUser, protectedImg, alsoProd].sort());
  });

  it('removes nothing when the plan is larger than limits.maxRemovalsPerRun', async () => {
    for (const n of [1, 2, 3])
      await loadImage(docker, {
        tags: [`rt${run}/big:${n}`],
        created: new Date('2024-01-01'),
        labels: label(),
        layers: [top(20 + n, 100)],
      });
    const config = writeConfig(
      { limits: { maxRemovalsPerRun: 2 } },
      { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }] } },
    );
    const r = await runCli(['once', '--config', config, '--mode', 'enforce', '--json'], host);
    const report = JSON.parse(r.stdout) as PlanJson & { blocked: string };
    expect(report.blocked).toMatch(/more than limits.maxRemovalsPerRun \(2\)/);
    expect(report.removed).toEqual([]);
    expect((await listRunObjects(docker, run)).images).toHaveLength(3);
  });
});
