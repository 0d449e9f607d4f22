// Images made by the engine's own (classic) builder: untagged intermediate parents, "#(nop)"
// history entries (a zero-size WORKDIR layer among them), build-cache sharing between two images. Checks that layer sizes are
// aligned with history correctly and that the engine's auto-prune of intermediates is
// predicted: plan bytes == reported bytes == the drop in the engine's LayersSize.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { runCli, writeConfig } from '../support/cli.js';
import { expectAccounting, layersSize } from '../support/accounting.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

async function build(tag: string, count: number): Promise<void> {
  const pack = tar.pack();
  // LABEL comes first so that every intermediate image carries the run label too.
  const dockerfile = [
    'FROM scratch',
    `LABEL ${TEST_LABEL}=${run}`,
    'COPY busybox /bin/busybox',
    'ENV STAGE=1',
    // WORKDIR creates /work, a layer of zero bytes that history cannot tell from metadata.
    'WORKDIR /work',
    `RUN ["/bin/busybox", "dd", "if=/dev/zero", "of=/data", "bs=1000", "count=${count}"]`,
    'CMD ["/bin/busybox", "true"]',
  ].join('\n');
  pack.entry({ name: 'Dockerfile' }, dockerfile);
  pack.entry({ name: 'busybox', mode: 0o755 }, readFileSync('/bin/busybox'));
  pack.finalize();
  const stream = await docker.buildImage(Readable.from(pack), { t: tag, networkmode: 'none' });
  const output = await new Promise<unknown[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failure = output.find((o) => (o as { error?: string }).error);
  if (failure) throw new Error(`build failed: ${JSON.stringify(failure)}`);
}

it('deletes classic-builder images with their intermediates and predicts the bytes (exactly on the classic store)', async () => {
  await build(`rt${run}/built:a`, 70);
  await build(`rt${run}/built:b`, 90);
  const images = await docker.listImages({ all: true, filters: { label: [`${TEST_LABEL}=${run}`] } });
  // Two tagged images and shared untagged parents from the build cache.
  expect(images.filter((i) => i.ParentId !== '').length).toBeGreaterThanOrEqual(3);

  const config = writeConfig(
    { mode: 'enforce' },
    { 'p.yaml': { policies: [{ name: 'built', resource: 'image', match: { repositories: [`rt${run}/built`] } }] } },
  );
  const planned = await runCli(['plan', '--config', config, '--json'], host);
  expect(planned.code).toBe(0);
  const plan = JSON.parse(planned.stdout) as {
    actions: Array<{ name: string; bytes: number }>;
    totals: { bytes: number; range?: { low: number; high: number } };
  };
  expect(
    plan.actions
      .filter((a) => !a.name.startsWith('<none>'))
      .map((a) => a.name)
      .sort(),
  ).toEqual([`rt${run}/built:a`, `rt${run}/built:b`]);
  // The untagged intermediates are planned too, after the images built on them.
  expect(plan.actions.length).toBeGreaterThan(2);

  const before = await layersSize(docker);
  const once = await runCli(['once', '--config', config, '--json'], host);
  expect(once.code).toBe(0);
  const report = JSON.parse(once.stdout) as { reclaimed: { bytes: number }; skipped: unknown[] };
  const after = await layersSize(docker);
  expect(report.skipped).toEqual([]);
  // On the classic store the RUN layers are exactly 70,000 and 90,000 bytes and the shared COPY
  // layer is busybox; the containerd image store adds each step's -init snapshot and the content.
  const busybox = readFileSync('/bin/busybox').length;
  expectAccounting(
    'classic-builder parents',
    {
      predicted: plan.totals.bytes,
      range: plan.totals.range,
      reported: report.reclaimed.bytes,
      engine: before - after,
    },
    70_000 + 90_000 + busybox,
  );
  // The intermediates were planned and deleted after their children: nothing of the run is left.
  expect((await listRunObjects(docker, run)).images).toEqual([]);
});
