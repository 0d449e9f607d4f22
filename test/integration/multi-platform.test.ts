// Multi-platform images (an image index), which only the containerd image store keeps: built
// here with `docker buildx build --platform` (a FROM scratch + COPY build needs no emulation),
// and pulled back with one platform only from a registry of the test's own. Each is sized by
// what is present, its removal frees what the engine's disk usage says, and keep rules and
// in-use checks hold as for any image.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, createContainer, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { runCli, writeConfig } from '../support/cli.js';
import { dockerCli } from '../support/image-build.js';
import { startRegistry } from '../support/registry.js';
import { expectAccounting, layersSize } from '../support/accounting.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let context: string;

// The platform run here, and another one.
const HOST = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
const OTHER = HOST === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
  context = mkdtempSync(path.join(tmpdir(), 'rdk-mp-'));
});
afterEach(async () => {
  await cleanupRun(docker, run);
  rmSync(context, { recursive: true, force: true });
});

interface Plan {
  actions: Array<{ id: string; name: string; bytes: number | null; bytesRange?: { low: number; high: number } }>;
  kept: Array<{ id: string; reason: string }>;
  totals: { bytes: number; range?: { low: number; high: number } };
  removed?: Array<{ id: string; bytes: number | null }>;
  reclaimed?: { count: number; bytes: number };
}

async function cli(args: string[]): Promise<Plan> {
  const r = await runCli([...args, '--json'], host);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

/** An image index for both platforms, each holding `bytes` of random data; returns its ID. */
async function buildBoth(tag: string, bytes: number): Promise<string> {
  const dir = mkdtempSync(path.join(context, 'b-'));
  writeFileSync(path.join(dir, 'data'), randomBytes(bytes));
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY data /data\n');
  await dockerCli(host, [
    'buildx',
    'build',
    '--quiet',
    '--platform',
    `${HOST},${OTHER}`,
    '--label',
    `${TEST_LABEL}=${run}`,
    '-t',
    tag,
    dir,
  ]);
  return (await docker.getImage(tag).inspect()).Id;
}

// Only the containerd image store keeps an index with its platforms; the classic store's
// builder refuses a multi-platform build.
describe.skipIf(!inject('containerdStore'))('multi-platform images', () => {
  it('built here with every platform: keep rules and in-use checks hold, and removal frees what the engine says', async () => {
    const repo = `rm${run}/mp`;
    const old = await buildBoth(`${repo}:old`, 300_000);
    const kept = await buildBoth(`${repo}:keep`, 200_000);
    const used = await buildBoth(`${repo}:used`, 100_000);
    const index = (await docker.getImage(old).inspect()) as unknown as { Descriptor?: { mediaType?: string } };
    expect(index.Descriptor?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    // Created, never started: FROM scratch has nothing to run, and it uses the image all the same.
    await createContainer(docker, { image: `${repo}:used`, runId: run, cmd: ['/data'] });
    const config = writeConfig(
      { mode: 'enforce' },
      {
        'p.yaml': {
          policies: [{ name: 'mp', resource: 'image', match: { repositories: [repo] }, keep: { tags: ['keep'] } }],
        },
      },
    );

    const plan = await cli(['plan', '--config', config]);
    expect(plan.actions.map((a) => a.id)).toEqual([old]);
    const reasons = Object.fromEntries(plan.kept.map((k) => [k.id, k.reason]));
    expect(reasons[kept]).toBe('keep.tags matches rm' + run + '/mp:keep');
    expect(reasons[used]).toMatch(/^in use by container .* \(created\)$/);

    const before = await layersSize(docker);
    const report = await cli(['once', '--config', config]);
    expectAccounting('multi-platform, every platform present', {
      predicted: plan.totals.bytes,
      range: plan.totals.range,
      reported: report.reclaimed?.bytes ?? -1,
      engine: before - (await layersSize(docker)),
    });
    expect((await listRunObjects(docker, run)).images.map((i) => i.id).sort()).toEqual([kept, used].sort());
  });

  it('pulled with one platform only: sized by what is present, exactly, and freed as predicted', async () => {
    const registry = await startRegistry();
    try {
      const tag = `${registry.address}/rm${run}/one:1`;
      await buildBoth(tag, 250_000);
      await dockerCli(host, ['push', '-q', tag]);
      await docker.getImage(tag).remove();
      await dockerCli(host, ['pull', '-q', '--platform', HOST, tag]);
      const listed = (await docker.listImages({
        manifests: true,
        filters: { reference: [tag] },
      } as Docker.ListImagesOptions)) as unknown as Array<{
        Id: string;
        Manifests: Array<{ Kind: string; Available: boolean }>;
      }>;
      const pulled = listed[0] as (typeof listed)[number];
      // The index names every platform; only this one's content came.
      expect(
        pulled.Manifests.filter((m) => m.Kind === 'image')
          .map((m) => m.Available)
          .sort(),
      ).toEqual([false, true]);
      const config = writeConfig(
        { mode: 'enforce' },
        {
          'p.yaml': {
            policies: [
              { name: 'one', resource: 'image', match: { repositories: [`${registry.address}/rm${run}/one`] } },
            ],
          },
        },
      );
      const plan = await cli(['plan', '--config', config]);
      expect(plan.actions.map((a) => a.id)).toEqual([pulled.Id]);
      const before = await layersSize(docker);
      const report = await cli(['once', '--config', config]);
      expectAccounting('multi-platform, one platform present', {
        predicted: plan.totals.bytes,
        range: plan.totals.range,
        reported: report.reclaimed?.bytes ?? -1,
        engine: before - (await layersSize(docker)),
      });
      expect((await listRunObjects(docker, run)).images).toEqual([]);
    } finally {
      await registry.stop();
    }
  });
});
