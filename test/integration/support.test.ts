// Proves the test-support helpers against the throwaway engine: hand-made images load
// with the dates, layer sizes and layer sharing they were built with, busybox containers
// run, and cleanupRun removes everything a run made (including anonymous volumes).
import { statfsSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  TEST_LABEL,
  cleanupRun,
  createContainer,
  createVolume,
  dockerFor,
  inspectWithSize,
  listRunObjects,
  newRunId,
} from '../support/fixtures.js';
import { buildImageArchive, busyboxLayer, loadImage, type ImageSpec } from '../support/image-archive.js';

const docker = dockerFor(inject('dockerHost'));
const runId = newRunId();
const labels = { [TEST_LABEL]: runId };
const created = new Date('2024-01-02T03:04:05Z');

const base = { files: [{ path: 'base/blob', size: 100_000 }] };
const imageA: ImageSpec = {
  tags: [`reclaimd-test-${runId}/a:1`],
  created,
  labels,
  layers: [base, { files: [{ path: 'top/a', size: 200_000 }] }],
};
const imageB: ImageSpec = {
  created,
  labels,
  layers: [base, { files: [{ path: 'top/b', size: 300_000 }] }],
};

describe('test support helpers', () => {
  afterAll(async () => {
    await cleanupRun(docker, runId);
  });

  it('builds byte-identical archives from identical specs', async () => {
    const [first, second] = await Promise.all([buildImageArchive(imageA), buildImageArchive(imageA)]);
    expect(first.equals(second)).toBe(true);
  });

  it('loads images with the given date, exact layer sizes and a shared base layer', async () => {
    const idA = await loadImage(docker, imageA);
    const idB = await loadImage(docker, imageB);
    const [a, b] = await Promise.all([docker.getImage(idA).inspect(), docker.getImage(idB).inspect()]);

    expect(a.Created).toBe('2024-01-02T03:04:05Z');
    expect(new Date(b.Created).getTime()).toBe(created.getTime());
    expect(a.RepoTags).toEqual([`reclaimd-test-${runId}/a:1`]);
    expect(b.RepoTags).toEqual([]);
    expect(a.RootFS.Layers?.[0]).toBe(b.RootFS.Layers?.[0]);
    expect(a.RootFS.Layers?.[1]).not.toBe(b.RootFS.Layers?.[1]);

    // History lists the newest layer first. The classic store gives each layer's bytes; the
    // containerd image store its unpacked snapshot's disk usage: whole blocks for the file and
    // for each directory (the layer's root and the file's parent).
    const sizes = async (id: string): Promise<number[]> =>
      ((await docker.getImage(id).history()) as { Size: number }[]).map((h) => h.Size);
    const block = statfsSync(inject('dataRoot')).bsize;
    const onDisk = (bytes: number) =>
      inject('containerdStore') ? Math.ceil(bytes / block) * block + 2 * block : bytes;
    expect(await sizes(idA)).toEqual([onDisk(200_000), onDisk(100_000)]);
    expect(await sizes(idB)).toEqual([onDisk(300_000), onDisk(100_000)]);
  });

  it('runs busybox containers and cleans up everything the run made', async () => {
    const image = await loadImage(docker, { created, labels, layers: [busyboxLayer()] });
    const volume = await createVolume(docker, { runId });
    const id = await createContainer(docker, {
      image,
      runId,
      cmd: ['dd', 'if=/dev/zero', 'of=/x', 'bs=1000', 'count=100'],
      binds: [`${volume}:/named`],
      anonymousVolume: '/anon',
      waitExit: true,
    });
    const info = await inspectWithSize(docker, id);
    expect(info.State.ExitCode).toBe(0);
    expect(info.SizeRw).toBeGreaterThanOrEqual(100_000);
    const anonymous = info.Mounts.find((m) => m.Destination === '/anon')?.Name;
    expect(anonymous).toMatch(/^[0-9a-f]{64}$/);

    const before = await listRunObjects(docker, runId);
    expect(before.containers).toEqual([{ id, state: 'exited' }]);
    expect(before.images).toHaveLength(3);
    expect(before.volumes).toEqual([volume, anonymous].sort());

    await cleanupRun(docker, runId);
    expect(await listRunObjects(docker, runId)).toEqual({ images: [], containers: [], volumes: [] });
    await expect(docker.getVolume(anonymous!).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
