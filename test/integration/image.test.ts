// The container image and its two recipes as users follow them. The image is built from the
// Dockerfile (on a base made from this machine's node, since no registry can be reached) and
// checked for what it is made of. Then the recipes of docs/deploy/container.md (a container
// beside the engine) and docs/deploy/swarm.md (a stack, one task per node) are read from the
// docs themselves and run as written, in a temporary copy of the files they use, on the
// throwaway engine; each test lists what it changes in them, and why the engine forces it.
//
// For both, DOCKER_HOST names the throwaway engine, the docker CLI is the one of the engine
// under test, DOCKER_CONFIG is empty and DOCKER_BUILDKIT=0 (dockerCliEnv): the classic builder
// reuses the steps buildReclaimdImage has just built, so the recipe's own `docker build`
// costs seconds instead of a second `npm ci`.
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { writeConfig } from '../support/cli.js';
import { waitFor } from '../support/daemon-process.js';
import { runShellBlock, shellBlock } from '../support/doc-commands.js';
import { dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImages } from '../support/image-archive.js';
import {
  allImageIds,
  buildReclaimdImage,
  dockerCli,
  dockerCliEnv,
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
const copies: string[] = [];

// Four CI images that the shipped policy `stale-ci-images` matches (repository ci/**, tags
// pr-*, label team=ci, built in 2024); it keeps the newest three, so exactly one is
// reclaimable. A cycle's /metrics then names the policy that decided, which shows whose
// policies a recipe's reclaimd runs.
const CI_IMAGES = [1, 2, 3, 4].map((n) => `ci/app:pr-${n}`);

beforeAll(async () => {
  docker = dockerFor(host);
  run = newRunId();
  before = await allImageIds(docker);
  built = await buildReclaimdImage(host, run);
  await loadImages(
    docker,
    CI_IMAGES.map((tag, i) => ({
      tags: [tag],
      created: new Date(Date.UTC(2024, 0, 1 + i)),
      labels: { [TEST_LABEL]: run, team: 'ci' },
      layers: [{ files: [{ path: 'app', content: tag }] }],
    })),
  );
}, 600_000);

afterAll(async () => {
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  // The recipe's own tag `reclaimd` included: the engine is left as this file found it.
  await removeImagesSince(docker, before, built ? ['reclaimd', ...CI_IMAGES, built.image, built.base] : []);
  // The build stages' untagged images included: the engine is left as this file found it.
  expect([...(await allImageIds(docker))].filter((id) => !before.has(id))).toEqual([]);
});

/** A temporary copy of `paths` (files or directories, relative to the checkout), as a reader has them. */
function copyOfCheckout(paths: readonly string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-recipe-'));
  copies.push(dir);
  for (const p of paths) cpSync(path.join(REPO_ROOT, p), path.join(dir, p), { recursive: true });
  return dir;
}

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

async function get(
  port: number,
  urlPath: string,
  address = '127.0.0.1',
): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://${address}:${port}${urlPath}`);
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined; // not listening yet
  }
}

/** The /metrics text once it counts a successful cycle. */
async function metricsAfterACycle(port: number): Promise<string | undefined> {
  const metrics = await get(port, '/metrics');
  const cycles = metrics ? sample(metrics.body, 'reclaimd_cycles_total', { result: 'success' }) : undefined;
  return cycles !== undefined && cycles >= 1 ? metrics!.body : undefined;
}

/** The policies of /metrics that planned something in the last cycle. */
function deciding(metrics: string): string[] {
  const names = [...metrics.matchAll(/^reclaimd_reclaimable_objects\{[^}]*policy="([^"]+)"/gm)].map((m) => m[1]!);
  return [...new Set(names)].sort();
}

/** uid, gid and supplementary groups of a running process, as the kernel has them. */
function processIds(pid: number): { uid: string; gid: string; groups: string[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string[] =>
    (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/);
  return { uid: field('Uid')[0]!, gid: field('Gid')[0]!, groups: field('Groups').filter((g) => g !== '') };
}

/** Whether the root file system of a running process is mounted read-only. */
function rootIsReadOnly(pid: number): boolean {
  const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((line) => line.split(' ')[4] === '/');
  return root?.split(' ')[5]?.split(',').includes('ro') ?? false;
}

/** The state files reclaimd wrote into a volume (last-use-<engine>.json). */
async function stateFiles(volume: string): Promise<string[]> {
  const { Mountpoint } = await docker.getVolume(volume).inspect();
  return readdirSync(Mountpoint).filter((f) => /^last-use-[0-9a-f]{16}\.json$/.test(f));
}

/** Waits for Docker's own verdict of the image's HEALTHCHECK (first probe after 30 s). */
async function becomesHealthy(id: string, extra: () => Promise<void> = async () => undefined): Promise<void> {
  await waitFor(
    async () => {
      await extra();
      const state = (await docker.getContainer(id).inspect()).State;
      if (!state.Running) throw new Error(`the container stopped (exit ${state.ExitCode})`);
      return state.Health?.Status === 'healthy' ? true : undefined;
    },
    90_000,
    () => 'a healthy container',
  );
}

/** Runs the image with a test configuration: read-only, the socket, optionally its group, host networking. */
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

  it('cannot reach the engine without the socket group (so the group is what grants access)', async () => {
    const port = await freePort();
    const id = await runContainer(built!.image, port, false);
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
    // Its failing cycle every second would only load the machine during the recipes below.
    await docker.getContainer(id).remove({ force: true });
  });
});

describe('docs/deploy/container.md, followed as written', () => {
  // What changes in the block, and why:
  // - `docker build` gets `--build-arg BASE=<local base>` (no registry has node:20-bookworm-slim)
  //   and `--network host` (the engine has no bridge, so RUN npm ci would have no network).
  // - The socket's path on this machine is the throwaway engine's; inside the container it
  //   stays /var/run/docker.sock, where reclaimd looks by default.
  // - `-p 127.0.0.1:9476:9476` becomes `--network host`: the engine runs with --bridge=none and
  //   --iptables=false, so there is no network to publish from. The image's own command then
  //   runs with its listen address moved to 127.0.0.1:<free port> (9476 may be taken on this
  //   machine), and RECLAIMD_HEALTHCHECK_URL follows it, as the doc says to.
  // The container, the image tag and the volume keep their names: the engine is this run's.
  it('builds, runs read-only as uid 10001 with the socket group, is healthy and counts a dry-run cycle', async () => {
    const block = shellBlock('docs/deploy/container.md', 'docker build -t reclaimd .');
    // The build context is what .dockerignore lets through, beside the Dockerfile.
    const context = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1));
    const dir = copyOfCheckout(['Dockerfile', '.dockerignore', ...context]);

    // The image's own command, with only its listen address moved: what -p would have reached.
    const cmd = (await docker.getImage(built!.image).inspect()).Config.Cmd ?? [];
    expect(cmd).toContain('0.0.0.0:9476');
    const port = await freePort();
    const command = cmd.map((a) => (a === '0.0.0.0:9476' ? `127.0.0.1:${port}` : a)).join(' ');
    const replace: Array<[string, string]> = [
      ['docker build ', `docker build --network host --build-arg BASE=${built!.base} `],
      ['-v /var/run/docker.sock:', `-v ${socket}:`],
      ['stat -c %g /var/run/docker.sock', `stat -c %g ${socket}`],
      [
        '-p 127.0.0.1:9476:9476 reclaimd',
        `--network host -e RECLAIMD_HEALTHCHECK_URL=http://127.0.0.1:${port}/healthz reclaimd ${command}`,
      ],
    ];
    const started = Date.now();
    try {
      const { stdout } = await runShellBlock(block, { cwd: dir, env: dockerCliEnv(host), replace, timeoutMs: 600_000 });
      // The classic builder says of each step whether it reused buildReclaimdImage's result.
      const steps = stdout.split(/^(?=Step \d+\/\d+ : )/m).filter((s) => s.startsWith('Step '));
      const rebuilt = steps
        .filter((s) => !s.includes(' ---> Using cache') && !/^Step \S+ : (FROM|ARG) /.test(s))
        .map((s) => s.split('\n')[0]);
      const id = (await docker.getContainer('reclaimd').inspect()).Id;
      console.log(
        `container recipe: built (${steps.length} steps, ${rebuilt.length} run again${rebuilt.length > 0 ? `, first ${rebuilt[0]}` : ''}) and started in ${Date.now() - started} ms`,
      );
      // The recipe ran the image it built, whose command is the one moved above.
      expect((await docker.getContainer(id).inspect()).Config.Image).toBe('reclaimd');
      expect((await docker.getImage('reclaimd').inspect()).Config.Cmd).toEqual(cmd);

      const metrics = await waitFor(
        () => metricsAfterACycle(port),
        60_000,
        () => 'a successful cycle in /metrics',
      );
      expect(metrics).toMatch(/reclaimd_info\{[^}]*mode="dry-run"/);
      // The policies mounted from $PWD/policies (the shipped ones, copied) decided.
      expect(deciding(metrics)).toContain('stale-ci-images');
      expect(sample(metrics, 'reclaimd_reclaimable_objects', { resource: 'image', policy: 'stale-ci-images' })).toBe(1);
      const health = await get(port, '/healthz');
      expect(health?.status).toBe(200);
      expect(JSON.parse(health!.body)).toMatchObject({ status: 'ok', dockerUp: true, configOk: true });

      const inspect = await docker.getContainer(id).inspect();
      const gid = String(statSync(socket).gid);
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(rootIsReadOnly(inspect.State.Pid)).toBe(true);
      expect(inspect.HostConfig.GroupAdd).toEqual([gid]);
      expect(processIds(inspect.State.Pid)).toMatchObject({ uid: '10001', gid: '10001' });
      expect(processIds(inspect.State.Pid).groups).toContain(gid);
      // config.example.yaml's state.dir is the volume's mount: the cycle's last use is there.
      await waitFor(
        async () => ((await stateFiles('reclaimd-state')).length === 1 ? true : undefined),
        30_000,
        () => 'a state file in the volume reclaimd-state',
      );
      // The image's HEALTHCHECK (node's fetch, no curl), at its own interval, as the doc runs it.
      await becomesHealthy(id);
    } finally {
      await docker
        .getContainer('reclaimd')
        .remove({ force: true })
        .catch(() => undefined);
      await docker
        .getVolume('reclaimd-state')
        .remove()
        .catch(() => undefined);
    }
  }, 600_000);
});

interface TaskState {
  readonly id: string;
  readonly state: string;
  readonly container: string | undefined;
  readonly exitCode: number | undefined;
  readonly error: string | undefined;
}

async function tasksOf(service: string): Promise<TaskState[]> {
  const tasks = (await docker.listTasks({ filters: { service: [service] } })) as Array<{
    ID: string;
    Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  }>;
  return tasks.map((t) => ({
    id: t.ID,
    state: t.Status.State,
    container: t.Status.ContainerStatus?.ContainerID,
    exitCode: t.Status.ContainerStatus?.ExitCode,
    error: t.Status.Err,
  }));
}

/** A container's output, stdout and stderr, as `docker logs` shows it. */
async function logsOf(container: string): Promise<string> {
  const { stdout } = await runShellBlock(`docker logs ${container} 2>&1`, { cwd: REPO_ROOT, env: dockerCliEnv(host) });
  return stdout;
}

// Swarm task states up to running; any other (complete, failed, shutdown, rejected ...) ended it.
const STARTING = ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'];

/** Throws at the first task that ended, with what it said, instead of waiting for a crash loop to time out. */
async function noTaskEnded(service: string): Promise<void> {
  const ended = (await tasksOf(service)).find((t) => !STARTING.includes(t.state));
  if (ended === undefined) return;
  const logs = ended.container ? await logsOf(ended.container).catch((e: Error) => e.message) : '';
  throw new Error(`a task of ${service} ended: ${ended.state}, exit ${ended.exitCode}, ${ended.error}\n${logs}`);
}

describe('docs/deploy/swarm.md, followed as written', () => {
  // What changes in the block, and why:
  // - `stat -c %g` reads the throwaway engine's socket, and DOCKER_SOCKET (which the doc names
  //   for this) points the stack's bind mount at it.
  // - RECLAIMD_PORT (which the doc names for this) is a free port: tasks use the host's
  //   network, where 9476 may be taken.
  // - RECLAIMD_IMAGE is the image built here instead of a registry's; the stack gets a unique name.
  // - At the doc's "edit both", policies.yaml is edited: stale-ci-images is renamed
  //   site-ci-images. Only that name may then decide: the image's own defaults.yaml must not
  //   be loaded beside it (same names stopped reclaimd, other names let the defaults decide).
  it('deploys one task that stays running, healthy, with only the edited policies', async () => {
    const block = shellBlock('docs/deploy/swarm.md', 'docker stack deploy -c reclaimd.stack.yml');
    const dir = copyOfCheckout(['deploy/swarm', 'config.example.yaml', 'policies']);
    const stack = `rt${run}`;
    const service = `${stack}_reclaimd`;
    const port = await freePort();
    const gid = String(statSync(socket).gid);
    const policiesFile = path.join(dir, 'deploy/swarm/policies.yaml');
    const edit = `sed -i 's/name: stale-ci-images$/name: site-ci-images/' policies.yaml`;
    const replace: Array<[string, string]> = [
      ['# edit both', `# edit both\n${edit}`],
      ['stat -c %g /var/run/docker.sock', `stat -c %g ${socket}`],
      ['RECLAIMD_IMAGE=registry.example.com/reclaimd:0.1.0', `RECLAIMD_IMAGE=${built!.image}`],
      ['-c reclaimd.stack.yml reclaimd', `-c reclaimd.stack.yml ${stack}`],
    ];
    const env = { ...dockerCliEnv(host), DOCKER_SOCKET: socket, RECLAIMD_PORT: String(port) };
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
      const started = Date.now();
      await runShellBlock(block, { cwd: dir, env, replace, timeoutMs: 180_000 });
      const policies = parse(readFileSync(policiesFile, 'utf8')) as { policies: Array<{ name: string }> };
      const names = policies.policies.map((p) => p.name);
      expect(names).toContain('site-ci-images');
      expect(names).not.toContain('stale-ci-images');

      const metrics = await waitFor(
        async () => {
          await noTaskEnded(service);
          return metricsAfterACycle(port);
        },
        120_000,
        () => 'a successful cycle of the stack task in /metrics',
      );
      const firstSeen = Date.now();
      console.log(`swarm recipe: a cycle ${firstSeen - started} ms after the deploy`);
      const [task] = await tasksOf(service);
      // Only the edited policies are loaded, and the renamed one is the one that decides.
      expect(deciding(metrics)).toContain('site-ci-images');
      expect(deciding(metrics)).not.toContain('stale-ci-images');
      expect(sample(metrics, 'reclaimd_reclaimable_objects', { resource: 'image', policy: 'site-ci-images' })).toBe(1);
      const log = await logsOf(task!.container!);
      const startLine = log
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; policies?: number })
        .find((l) => l.msg === 'reclaimd started');
      expect(startLine?.policies).toBe(names.length);

      // It stays running: the image's health check turns it healthy (its first probe comes 30 s
      // after the start) while it remains the one task, never restarted.
      await becomesHealthy(task!.container!, () => noTaskEnded(service));
      const rest = 15_000 - (Date.now() - firstSeen);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
      console.log(`swarm recipe: the same task ran ${Date.now() - firstSeen} ms after its first cycle`);
      // A task with a health check is "starting" until the engine reports it healthy, and the
      // swarm learns that a moment after the container's own status shows it.
      const tasks = await waitFor(
        async () => {
          await noTaskEnded(service);
          const now = await tasksOf(service);
          return now.every((t) => t.state === 'running') ? now : undefined;
        },
        15_000,
        () => 'the task to be running',
      );
      expect(tasks.map((t) => [t.id, t.state, t.container])).toEqual([[task!.id, 'running', task!.container]]);
      const ps = await dockerCli(host, [
        'service',
        'ps',
        '--no-trunc',
        '--format',
        '{{.CurrentState}} {{.Error}}',
        service,
      ]);
      expect(ps.trim().split('\n')).toHaveLength(1);
      expect(ps).toMatch(/^Running /);

      const container = await docker.getContainer(task!.container!).inspect();
      expect((await docker.getService(service).inspect()).Spec.Mode).toHaveProperty('Global');
      expect(container.Config.User).toBe(`10001:${gid}`);
      expect(container.HostConfig.ReadonlyRootfs).toBe(true);
      expect(rootIsReadOnly(container.State.Pid)).toBe(true);
      expect(processIds(container.State.Pid)).toMatchObject({ uid: '10001', gid });
      expect(container.HostConfig.NetworkMode).toBe('host');
      // It listens on every address of the node, as the doc says, not only on loopback.
      const address = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
      if (address !== undefined) expect((await get(port, '/metrics', address))?.status).toBe(200);
      // config.example.yaml's state.dir is the stack's state volume: the last use is there.
      await waitFor(
        async () => ((await stateFiles(`${stack}_state`)).length === 1 ? true : undefined),
        30_000,
        () => 'a state file in the stack volume',
      );
    } finally {
      await dockerCli(host, ['stack', 'rm', stack]).catch(() => undefined);
      // Tasks stop in the background; the state volume and the gateway bridge outlive the stack.
      await waitFor(
        async () =>
          (await docker.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${stack}`] } }))
            .length === 0
            ? true
            : undefined,
        90_000,
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
  }, 600_000);
});
