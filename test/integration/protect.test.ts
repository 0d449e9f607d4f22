// Global `protect` on the real engine: policies that select every object the test made, and
// protect entries by tag, by image ID prefix, by container name, by volume name and by network
// name. After `once --mode enforce` the engine holds exactly the protected objects (and what
// they use), and the plan named the protect entry that kept each of them.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import {
  cleanupRun,
  createContainer,
  createNetwork,
  createVolume,
  dockerFor,
  listRunObjects,
  newRunId,
  TEST_LABEL,
} from '../support/fixtures.js';
import { busyboxLayer, loadImage, type LayerSpec } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;

type Row = { resource: string; id: string; name: string; policy: string; reason: string };
interface PlanJson {
  actions: Row[];
  kept: Row[];
  reclaimed?: { count: number };
  skipped?: unknown[];
  inDoubt?: unknown[];
}

async function cli(command: 'plan' | 'once', configPath: string, ...extra: string[]): Promise<PlanJson> {
  const r = await runCli([command, '--config', configPath, '--json', ...extra], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

const top = (n: number): LayerSpec => ({ files: [{ path: `protect/${n}`, size: 1000 + n, fill: 40 + n }] });

async function runNetworks(): Promise<string[]> {
  const list = await docker.listNetworks({ filters: { label: [`${TEST_LABEL}=${run}`] } });
  return list.map((n) => n.Name).sort();
}

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

describe('protect', () => {
  it('keeps exactly the protected objects when policies select everything', async () => {
    const label = { [TEST_LABEL]: run };
    const created = new Date('2024-05-01');
    const load = (tags: string[], n: number, layers: LayerSpec[] = [top(n)]) =>
      loadImage(docker, { tags, created, labels: label, layers });

    // Two tags: protecting one keeps the image with both.
    const byTag = await load([`rt${run}/db:16`, `rt${run}/db:latest`], 1);
    const byId = await load([`rt${run}/pinned:1`], 2);
    const free = await load([`rt${run}/free:1`], 3);
    const dangling = await load([], 4);
    // The protected container's image stays because that container stays and uses it.
    const dbImage = await load([`rt${run}/db-runtime:1`], 5, [busyboxLayer(), top(5)]);
    const jobImage = await load([`rt${run}/job:1`], 6, [busyboxLayer(), top(6)]);

    const pgdata = await createVolume(docker, { runId: run, name: `rt${run}-pgdata` });
    const kept = await createVolume(docker, { runId: run, name: `rt${run}-keep` });
    const scratch = await createVolume(docker, { runId: run, name: `rt${run}-scratch` });
    const dbMain = await createContainer(docker, {
      image: dbImage,
      runId: run,
      name: `rt${run}-db-main`,
      cmd: ['true'],
      binds: [`${pgdata}:/data`],
      waitExit: true,
    });
    const job = await createContainer(docker, {
      image: jobImage,
      runId: run,
      name: `rt${run}-job-1`,
      cmd: ['true'],
      waitExit: true,
    });
    await createNetwork(docker, { runId: run, name: `rt${run}-proxy` });
    await createNetwork(docker, { runId: run, name: `rt${run}-tmp` });

    const mine = [`${TEST_LABEL}=${run}`];
    const config = writeConfig(
      {
        protect: {
          images: [`rt${run}/db:16`, byId.slice(0, 'sha256:'.length + 12)],
          containers: [`rt${run}-db-*`],
          volumes: [`rt${run}-keep`],
          networks: [`rt${run}-proxy`],
        },
      },
      {
        'all.yaml': {
          policies: [
            { name: 'all-containers', resource: 'container', match: { labels: mine } },
            { name: 'all-images', resource: 'image', match: { labels: mine } },
            { name: 'all-volumes', resource: 'volume', match: { labels: mine } },
            { name: 'all-networks', resource: 'network', match: { labels: mine } },
          ],
        },
      },
    );

    const plan = await cli('plan', config);
    const reasons = Object.fromEntries(plan.kept.map((k) => [`${k.resource} ${k.id}`, `${k.policy}: ${k.reason}`]));
    expect(reasons).toMatchObject({
      [`image ${byTag}`]: `all-images: protected by protect.images "rt${run}/db:16"`,
      [`image ${byId}`]: `all-images: protected by protect.images "${byId.slice(0, 19)}" (${byId})`,
      [`image ${dbImage}`]: `all-images: in use by container rt${run}-db-main (exited)`,
      [`container ${dbMain}`]: `all-containers: protected by protect.containers "rt${run}-db-*" (rt${run}-db-main)`,
      [`volume ${kept}`]: `all-volumes: protected by protect.volumes "rt${run}-keep"`,
      [`volume ${pgdata}`]: `all-volumes: mounted by container rt${run}-db-main (exited)`,
    });
    const network = plan.kept.find((k) => k.resource === 'network');
    expect(network).toMatchObject({ name: `rt${run}-proxy`, reason: `protected by protect.networks "rt${run}-proxy"` });
    // Everything else of the run is selected: the policies would take it all.
    expect(plan.actions.map((a) => `${a.resource} ${a.id}`).sort()).toEqual(
      [
        `container ${job}`,
        `image ${free}`,
        `image ${dangling}`,
        `image ${jobImage}`,
        `volume ${scratch}`,
        ...plan.actions.filter((a) => a.resource === 'network').map((a) => `network ${a.id}`),
      ].sort(),
    );
    expect(plan.actions.filter((a) => a.resource === 'network').map((a) => a.name)).toEqual([`rt${run}-tmp`]);

    const report = await cli('once', config, '--mode', 'enforce');
    expect(report.skipped).toEqual([]);
    expect(report.inDoubt).toEqual([]);
    expect(report.reclaimed?.count).toBe(plan.actions.length);

    const left = await listRunObjects(docker, run);
    expect(left.images).toEqual(
      [
        { id: byTag, tags: [`rt${run}/db:16`, `rt${run}/db:latest`] },
        { id: byId, tags: [`rt${run}/pinned:1`] },
        { id: dbImage, tags: [`rt${run}/db-runtime:1`] },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect(left.containers).toEqual([{ id: dbMain, state: 'exited' }]);
    expect(left.volumes).toEqual([kept, pgdata].sort());
    expect(await runNetworks()).toEqual([`rt${run}-proxy`]);
  });
});
