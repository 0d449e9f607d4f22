// The container image as users run it: built from the Dockerfile (on a base made from this
// machine's node, since no registry can be reached), run as a non-root user on a read-only
// root file system with the engine's socket and its group, answering /healthz and counting a
// dry-run cycle in /metrics; then the Swarm stack of deploy/swarm, one task per node.
import { chmodSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { writeConfig } from '../support/cli.js';
import { waitFor } from '../support/daemon-process.js';
import { dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import {
  allImageIds,
  buildReclaimdImage,
  dockerCli,
  freePort,
  removeImagesSince,
  REPO_ROOT,
  sample,
} from '../support/image-build.js';

const host = inject('dockerHost');
const socket = host.slice('unix://'.length);
let docker: Docker;
let run: string;
let before: Set<string>;
let built: { base: string; image: string } | undefined;
const containers: string[] = [];

beforeAll(async () => {
  docker = dockerFor(host);
  run = newRunId();
  before = await allImageIds(docker);
  built = await buildReclaimdImage(host, run);
}, 600_000);

afterAll(async () => {
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
  await removeImagesSince(docker, before, built ? [built.image, built.base] : []);
  // The build stages' untagged images included: the engine is left as this file found it.
  expect([...(await allImageIds(docker))].filter((id) => !before.has(id))).toEqual([]);
});

/** A dry-run configuration on a one-second schedule, listening on `port`, readable by any uid. */
function containerConfig(port: number): string {
  const configPath = writeConfig(
    {
      mode: 'dry-run',
      schedule: '* * * * * *',
      docker: { pingInterval: '1s' },
      metrics: { listen: `127.0.0.1:${port}` },
    },
    {
      'p.yaml': {
        policies: [{ name: 'p', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`], olderThan: '3650d' } }],
      },
    },
  );
  const open = (p: string): void => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const entry of readdirSync(p)) open(path.join(p, entry));
  };
  open(path.dirname(configPath));
  return path.dirname(configPath);
}

async function get(port: number, urlPath: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined; // not listening yet
  }
}

/** Runs the image as the README documents: read-only, the socket, its group, host networking. */
async function runContainer(image: string, port: number, groupAdd: boolean): Promise<string> {
  const args = ['run', '-d', '--read-only', '--network', 'host', '--label', `${TEST_LABEL}=${run}`];
  args.push('-v', `${socket}:/var/run/docker.sock`, '-v', `${containerConfig(port)}:/etc/reclaimd:ro`);
  if (groupAdd) args.push('--group-add', String(statSync(socket).gid));
  args.push('-e', `RECLAIMD_HEALTHCHECK_URL=http://127.0.0.1:${port}/healthz`, '--health-interval', '1s');
  args.push(image, 'daemon', '--config', '/etc/reclaimd/config.yaml');
  const id = (await dockerCli(host, args)).trim();
  containers.push(id);
  return id;
}

describe('the container image', () => {
  it('is labelled, small, and made to run as a fixed non-root uid with a health check', async () => {
    const info = await docker.getImage(built!.image).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'reclaimd',
      'org.opencontainers.image.licenses': 'MIT',
      [TEST_LABEL]: run,
    });
    expect(info.Config.Healthcheck?.Test?.join(' ')).toContain('fetch(process.env.RECLAIMD_HEALTHCHECK_URL)');
    // What reclaimd adds to its base: compiled code and production dependencies only.
    const base = await docker.getImage(built!.base).inspect();
    const added = info.Size - base.Size;
    console.log(`image ${info.Size} bytes, of which ${added} on top of the base`);
    expect(added).toBeLessThan(40_000_000);
    const listing = await dockerCli(host, [
      'run',
      '--rm',
      '--label',
      `${TEST_LABEL}=${run}`,
      '--entrypoint',
      'sh',
      built!.image,
      '-c',
      'ls /app/node_modules',
    ]);
    for (const devOnly of ['vitest', 'typescript', 'tsx', 'fast-check'])
      expect(listing.split('\n')).not.toContain(devOnly);
    expect(listing.split('\n')).toContain('dockerode');
  });

  it('runs read-only as uid 10001 through the socket group, answers /healthz and counts a dry-run cycle', async () => {
    const port = await freePort();
    const id = await runContainer(built!.image, port, true);
    await waitFor(
      async () => {
        const metrics = await get(port, '/metrics');
        const cycles = metrics ? sample(metrics.body, 'reclaimd_cycles_total', { result: 'success' }) : undefined;
        return cycles !== undefined && cycles >= 1 ? true : undefined;
      },
      60_000,
      () => 'a successful cycle in /metrics',
    );
    const health = await get(port, '/healthz');
    expect(health?.status).toBe(200);
    expect(JSON.parse(health!.body)).toMatchObject({ status: 'ok', dockerUp: true, configOk: true });
    expect((await get(port, '/metrics'))?.body).toMatch(/reclaimd_info\{[^}]*mode="dry-run"/);

    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect((await dockerCli(host, ['exec', id, 'id', '-u'])).trim()).toBe('10001');
    // The root file system really is read-only for the process.
    await expect(dockerCli(host, ['exec', id, 'sh', '-c', 'touch /app/x'])).rejects.toThrow(/Read-only file system/);
    // The image's HEALTHCHECK (node's fetch, no curl) turns the container healthy.
    await waitFor(
      async () => ((await docker.getContainer(id).inspect()).State.Health?.Status === 'healthy' ? true : undefined),
      60_000,
      () => 'a healthy container',
    );
  });

  it('cannot reach the engine without the socket group (so the group is what grants access)', async () => {
    const port = await freePort();
    await runContainer(built!.image, port, false);
    await waitFor(
      async () => {
        const metrics = await get(port, '/metrics');
        const failures = metrics ? sample(metrics.body, 'reclaimd_cycles_total', { result: 'failure' }) : undefined;
        return failures !== undefined && failures >= 1 ? true : undefined;
      },
      60_000,
      () => 'a failed cycle in /metrics',
    );
    expect(JSON.parse((await get(port, '/healthz'))!.body)).toMatchObject({ dockerUp: false });
  });
});

describe('the Swarm stack (deploy/swarm)', () => {
  it('deploys one reclaimd task per node with host networking, and it runs dry-run cycles', async () => {
    const stack = `rt${run}`;
    const port = await freePort();
    const configDir = containerConfig(port);
    // A free port for the swarm's own listener, so no other engine on this machine collides.
    await dockerCli(host, [
      'swarm',
      'init',
      '--advertise-addr',
      '127.0.0.1',
      '--listen-addr',
      `127.0.0.1:${await freePort()}`,
    ]);
    try {
      const env = {
        RECLAIMD_IMAGE: built!.image,
        DOCKER_SOCKET: socket,
        DOCKER_GID: String(statSync(socket).gid),
        RECLAIMD_PORT: String(port),
        RECLAIMD_CONFIG: path.join(configDir, 'config.yaml'),
        RECLAIMD_POLICIES: path.join(configDir, 'policies', 'p.yaml'),
        CONFIG_VERSION: run,
      };
      await dockerCli(host, ['stack', 'deploy', '-c', path.join(REPO_ROOT, 'deploy/swarm/reclaimd.stack.yml'), stack], {
        env,
      });
      await waitFor(
        async () => {
          const metrics = await get(port, '/metrics');
          const cycles = metrics ? sample(metrics.body, 'reclaimd_cycles_total', { result: 'success' }) : undefined;
          return cycles !== undefined && cycles >= 1 ? true : undefined;
        },
        90_000,
        () => 'a successful cycle of the stack task in /metrics',
      );

      const service = await docker.getService(`${stack}_reclaimd`).inspect();
      expect(service.Spec.Mode).toHaveProperty('Global');
      const tasks = await docker.listContainers({ filters: { label: [`com.docker.stack.namespace=${stack}`] } });
      expect(tasks).toHaveLength(1);
      const task = await docker.getContainer(tasks[0]!.Id).inspect();
      expect(task.Config.User).toBe(`10001:${statSync(socket).gid}`);
      expect(task.HostConfig.ReadonlyRootfs).toBe(true);
      expect(task.HostConfig.NetworkMode).toBe('host');
    } finally {
      await dockerCli(host, ['stack', 'rm', stack]).catch(() => undefined);
      // Tasks stop in the background; the state volume and the gateway bridge outlive the stack.
      await waitFor(
        async () =>
          (await docker.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${stack}`] } }))
            .length === 0
            ? true
            : undefined,
        60_000,
        () => 'the stack tasks to go',
      );
      await dockerCli(host, ['swarm', 'leave', '--force']);
      await docker
        .getVolume(`${stack}_state`)
        .remove()
        .catch(() => undefined);
      // The gateway bridge is a real interface on this machine that outlives the engine, so
      // it must go now; right after leaving, the ingress sandbox may still hold an endpoint.
      await waitFor(
        () =>
          docker
            .getNetwork('docker_gwbridge')
            .remove()
            .then(
              () => true,
              (err: { statusCode?: number }) => (err.statusCode === 404 ? true : undefined),
            ),
        30_000,
        () => 'docker_gwbridge to be removed',
      );
    }
  });
});
