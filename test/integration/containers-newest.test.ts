// keep.newestPerImage on the real engine, where it matters most: a job image tag rebuilt
// between runs. The engine then lists the older runs by image ID, yet they are runs of the
// same image reference (inspect's Config.Image), so only the N newest runs stay.
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { cleanupRun, createContainer, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;

type Row = { resource: string; id: string; name: string; reason: string };

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

// The list reports creation in whole seconds; runs a second apart have distinct times.
const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

describe('keep.newestPerImage', () => {
  it('counts runs of a rebuilt tag together and keeps the newest N of them', async () => {
    const ref = `rt${run}/job:latest`;
    const build = (n: number) =>
      loadImage(docker, {
        tags: [ref],
        created: new Date(`2024-0${n}-01`),
        labels: { [TEST_LABEL]: run, build: String(n) },
        layers: [busyboxLayer()],
      });
    const first = await build(1);
    const oldest = await createContainer(docker, {
      image: ref,
      runId: run,
      name: `rt${run}-run-1`,
      cmd: ['true'],
      waitExit: true,
    });
    await build(2); // moves the tag; the first build stays, untagged, used by run-1
    await nextSecond();
    const middle = await createContainer(docker, {
      image: ref,
      runId: run,
      name: `rt${run}-run-2`,
      cmd: ['true'],
      waitExit: true,
    });
    await nextSecond();
    const newest = await createContainer(docker, {
      image: ref,
      runId: run,
      name: `rt${run}-run-3`,
      cmd: ['true'],
      waitExit: true,
    });
    // The engine lists the first run by image ID now: the reason this feature reads inspect.
    const listed = await docker.listContainers({ all: true, filters: { id: [oldest] } });
    expect(listed[0]?.Image).toBe(first);

    const cfg = writeConfig(
      {},
      {
        'p.yaml': {
          policies: [
            { name: 'runs', resource: 'container', match: { names: [`rt${run}-run-*`] }, keep: { newestPerImage: 2 } },
          ],
        },
      },
    );
    const r = await runCli(['plan', '--config', cfg, '--json'], host);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { actions: Row[]; kept: Row[] };
    expect(plan.actions.map((a) => a.id)).toEqual([oldest]);
    expect(plan.kept.map((k) => [k.id, k.reason]).sort()).toEqual(
      [middle, newest].map((id) => [id, `among the 2 newest containers of image ${ref} (keep.newestPerImage)`]).sort(),
    );
  });
});
