// What is deployed counts as in use, on the real engine: the images of a Compose project that
// still has containers stay even when the one container using an image is removed, and on a
// swarm manager an image a service names stays while the service runs no task (replicas 0).
// The swarm is made on the shared throwaway engine and left again afterwards, so the other
// test files see an engine that is not in a swarm.
import net from 'node:net';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { cleanupRun, createContainer, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;

type Row = { resource: string; id: string; name: string; policy: string; reason: string };
interface Report {
  actions: Row[];
  kept: Row[];
  removed?: Row[];
}

async function cli(args: string[]): Promise<Report> {
  const r = await runCli([...args, '--json'], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

async function exists(kind: 'image' | 'container', id: string): Promise<boolean> {
  try {
    await (kind === 'image' ? docker.getImage(id).inspect() : docker.getContainer(id).inspect());
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const load = (tag: string) =>
  loadImage(docker, {
    tags: [tag],
    created: new Date('2024-05-01'),
    labels: { [TEST_LABEL]: run, 'rt.tag': tag },
    layers: [busyboxLayer()],
  });

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await cleanupRun(docker, run);
});

describe('compose projects', () => {
  it('keeps every image of a project that still has containers, even the one whose container this cycle removes', async () => {
    const project = `rt${run}shop`;
    const labels = { 'com.docker.compose.project': project };
    const web = await load(`rt${run}/web:1`);
    const db = await load(`rt${run}/db:1`);
    const loose = await load(`rt${run}/tool:1`);
    const webCtr = await createContainer(docker, {
      image: web,
      runId: run,
      name: `${project}-web-1`,
      labels,
      cmd: ['true'],
      waitExit: true,
    });
    const dbCtr = await createContainer(docker, {
      image: db,
      runId: run,
      name: `${project}-db-1`,
      labels,
      cmd: ['sleep', '600'],
      start: true,
    });
    const toolCtr = await createContainer(docker, {
      image: loose,
      runId: run,
      name: `rt${run}-tool`,
      cmd: ['true'],
      waitExit: true,
    });
    const cfg = writeConfig(
      { mode: 'enforce' },
      {
        'p.yaml': {
          policies: [
            { name: 'exited', resource: 'container', match: { status: ['exited'], labels: [`${TEST_LABEL}=${run}`] } },
            { name: 'images', resource: 'image', match: { repositories: [`rt${run}/**`] } },
          ],
        },
      },
    );

    const report = await cli(['once', '--config', cfg]);
    expect(report.actions.map((a) => `${a.resource}:${a.name}`).sort()).toEqual([
      `container:rt${run}-tool`,
      `container:${project}-web-1`,
      `image:rt${run}/tool:1`,
    ]);
    const kept = Object.fromEntries(report.kept.filter((k) => k.resource === 'image').map((k) => [k.name, k.reason]));
    expect(kept).toEqual({
      [`rt${run}/web:1`]: `in use by compose project ${project} (container ${project}-web-1)`,
      [`rt${run}/db:1`]: `in use by container ${project}-db-1 (running)`,
    });
    expect([
      await exists('container', webCtr),
      await exists('container', toolCtr),
      await exists('container', dbCtr),
    ]).toEqual([false, false, true]);
    expect([await exists('image', web), await exists('image', db), await exists('image', loose)]).toEqual([
      true,
      true,
      false,
    ]);

    // With the project rule off, the image whose container is gone is free.
    const off = writeConfig(
      { mode: 'enforce', inUse: { composeProjects: false } },
      { 'p.yaml': { policies: [{ name: 'images', resource: 'image', match: { repositories: [`rt${run}/**`] } }] } },
    );
    const again = await cli(['plan', '--config', off]);
    expect(again.actions.map((a) => a.name)).toEqual([`rt${run}/web:1`]);
    await docker.getContainer(dbCtr).stop({ t: 0 });
  });
});

describe('swarm services', () => {
  let inSwarm = false;
  afterAll(async () => {
    // Leave the swarm whatever happened, so the other test files see a plain engine.
    if (inSwarm) {
      await docker.swarmLeave({ force: true });
      for (const n of await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } }))
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
    }
  });

  it('keeps an image a service with no running task names, and reads nothing once the node leaves the swarm', async () => {
    const port = await freePort();
    await docker.swarmInit({
      ListenAddr: `127.0.0.1:${port}`,
      AdvertiseAddr: `127.0.0.1:${port}`,
      DataPathPort: await freePort(),
    });
    inSwarm = true;
    const deployed = await load(`rt${run}/svc:1`);
    const spare = await load(`rt${run}/spare:1`);
    const service = `rt${run}-svc`;
    await docker.createService({
      Name: service,
      Labels: { [TEST_LABEL]: run },
      TaskTemplate: { ContainerSpec: { Image: `rt${run}/svc:1` } },
      Mode: { Replicated: { Replicas: 0 } },
    });
    const cfg = writeConfig(
      {},
      { 'p.yaml': { policies: [{ name: 'images', resource: 'image', match: { repositories: [`rt${run}/**`] } }] } },
    );

    const p = await cli(['plan', '--config', cfg]);
    expect(p.actions.map((a) => a.id)).toEqual([spare]);
    expect(p.kept.map((k) => [k.id, k.reason])).toEqual([[deployed, `in use by swarm service ${service}`]]);

    const off = writeConfig(
      { inUse: { swarmServices: false } },
      { 'p.yaml': { policies: [{ name: 'images', resource: 'image', match: { repositories: [`rt${run}/**`] } }] } },
    );
    expect((await cli(['plan', '--config', off])).actions.map((a) => a.id).sort()).toEqual([deployed, spare].sort());

    await docker.getService(service).remove();
    await docker.swarmLeave({ force: true });
    inSwarm = false;
    // Not a manager any more: the cycle does not fail, and the image is free.
    expect((await cli(['plan', '--config', cfg])).actions.map((a) => a.id).sort()).toEqual([deployed, spare].sort());
    // Leaving removed what the swarm made, so later test files see the engine as it was.
    const left = (await docker.listNetworks())
      .map((n) => n.Name)
      .filter((n) => n === 'ingress' || n === 'docker_gwbridge');
    for (const n of left) await docker.getNetwork(n).remove();
    expect(
      (await docker.listNetworks()).map((n) => n.Name).filter((n) => n === 'ingress' || n === 'docker_gwbridge'),
    ).toEqual([]);
  });
});
