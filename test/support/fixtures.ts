// Helpers shared by all integration tests. Every object they create carries the label
// reclaimd-test=<runId>, so a test can clean up exactly what it made (and assert on
// exactly what is left) even though all test files share one engine.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';

export const TEST_LABEL = 'reclaimd-test';

/** A short random identifier for one test run; it becomes the value of TEST_LABEL. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A client for the engine at "unix:///path". dockerode fills in defaults from DOCKER_HOST
 * (and the TLS variables) underneath the options given here, so host, port and protocol
 * are set explicitly; otherwise a stray DOCKER_HOST could point tests at a real engine.
 */
export function dockerFor(host: string): Docker {
  if (!host.startsWith('unix://') || host.length <= 'unix://'.length) {
    throw new Error(`dockerFor expects a unix:///path address, got ${JSON.stringify(host)}`);
  }
  return new Docker({ socketPath: host.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' });
}

/** True for a dockerode error that carries the given HTTP status code. */
function hasStatus(err: unknown, ...codes: number[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { statusCode?: number }).statusCode ?? 0);
}

/** Runs the removal, ignoring "no such object" (and any other listed statuses). */
async function ignoring(codes: number[], action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!hasStatus(err, ...codes)) throw err;
  }
}

function runFilter(runId: string): { label: string[] } {
  return { label: [`${TEST_LABEL}=${runId}`] };
}

export interface CreateContainerOptions {
  image: string;
  runId: string;
  cmd?: string[];
  name?: string;
  labels?: Record<string, string>;
  /** "volname:/path" or "/host/path:/path" binds. */
  binds?: string[];
  /** A path inside the container that gets a fresh anonymous volume. */
  anonymousVolume?: string;
  /** The network (name or ID) to attach it to; default none. */
  network?: string;
  start?: boolean;
  /** Start the container and wait until it has exited (whatever its exit code). */
  waitExit?: boolean;
}

export async function createContainer(docker: Docker, opts: CreateContainerOptions): Promise<string> {
  const container = await docker.createContainer({
    Image: opts.image,
    ...(opts.cmd !== undefined && { Cmd: opts.cmd }),
    ...(opts.name !== undefined && { name: opts.name }),
    Labels: { ...opts.labels, [TEST_LABEL]: opts.runId },
    ...(opts.anonymousVolume !== undefined && { Volumes: { [opts.anonymousVolume]: {} } }),
    // The test engine runs with --bridge=none, so the default network does not exist.
    HostConfig: { NetworkMode: opts.network ?? 'none', ...(opts.binds !== undefined && { Binds: opts.binds }) },
  });
  if (opts.start === true || opts.waitExit === true) await container.start();
  // The default wait condition ("not-running") returns at once for an already exited
  // container, so waiting after start cannot miss a fast exit.
  if (opts.waitExit === true) await container.wait();
  return container.id;
}

export async function createVolume(
  docker: Docker,
  opts: { runId: string; name?: string; labels?: Record<string, string> },
): Promise<string> {
  const volume = await docker.createVolume({
    ...(opts.name !== undefined && { Name: opts.name }),
    Labels: { ...opts.labels, [TEST_LABEL]: opts.runId },
  });
  return volume.name;
}

/** A custom bridge network labelled with the run; returns its ID. */
export async function createNetwork(
  docker: Docker,
  opts: { runId: string; name?: string; labels?: Record<string, string> },
): Promise<string> {
  const network = await docker.createNetwork({
    Name: opts.name ?? `rt${opts.runId}-net-${randomBytes(3).toString('hex')}`,
    Driver: 'bridge',
    Labels: { ...opts.labels, [TEST_LABEL]: opts.runId },
  });
  return network.id;
}

/**
 * Names of anonymous volumes mounted by the container. Engine 20.10 gives anonymous
 * volumes no labels at all, so the only way to tie them to a run is through the
 * containers that use them. A volume counts as anonymous when no bind or mount in the
 * container's HostConfig names it.
 */
async function anonymousVolumesOf(docker: Docker, id: string): Promise<string[]> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(id).inspect();
  } catch (err) {
    if (hasStatus(err, 404)) return [];
    throw err;
  }
  const named = new Set<string>();
  for (const bind of info.HostConfig.Binds ?? []) named.add(bind.split(':')[0] ?? '');
  for (const mount of info.HostConfig.Mounts ?? []) if (mount.Source !== undefined) named.add(mount.Source);
  return info.Mounts.filter((m) => m.Type === 'volume' && m.Name !== undefined && !named.has(m.Name)).map(
    (m) => m.Name!,
  );
}

/**
 * Removes only what this run made: containers, then images, then volumes, then networks.
 * Containers must go first because images and volumes in use cannot be removed.
 */
export async function cleanupRun(docker: Docker, runId: string): Promise<void> {
  const filters = runFilter(runId);

  const containers = await docker.listContainers({ all: true, filters });
  const anonymous = new Set<string>();
  for (const c of containers) {
    for (const name of await anonymousVolumesOf(docker, c.Id)) anonymous.add(name);
  }
  for (const c of containers) {
    // v: true removes the container's anonymous volumes (never named ones).
    await ignoring([404], () => docker.getContainer(c.Id).remove({ force: true, v: true }));
  }

  // Force is acceptable only here, in test cleanup: it removes every tag of the image.
  // It still refuses to remove an image that has child images, so children go first;
  // noprune keeps the engine from deleting untagged parents that are not this run's.
  let images = await docker.listImages({ all: true, filters });
  while (images.length > 0) {
    const parents = new Set(images.map((img) => img.ParentId).filter((p) => p !== ''));
    const leaves = images.filter((img) => !parents.has(img.Id));
    const batch = leaves.length > 0 ? leaves : images;
    for (const img of batch) {
      await ignoring([404], () => docker.getImage(img.Id).remove({ force: true, noprune: true }));
    }
    const removed = new Set(batch.map((img) => img.Id));
    images = images.filter((img) => !removed.has(img.Id));
  }

  const { Volumes: volumes } = await docker.listVolumes({ filters });
  for (const v of volumes ?? []) {
    await ignoring([404], () => docker.getVolume(v.Name).remove());
  }
  // Removing the containers with v: true normally deletes these already. A 409 means
  // another container (not this run's) still uses the volume, so it is not ours to take.
  for (const name of anonymous) {
    await ignoring([404, 409], () => docker.getVolume(name).remove());
  }

  for (const n of await docker.listNetworks({ filters })) {
    await ignoring([404], () => docker.getNetwork(n.Id).remove());
  }
}

/** Container inspect data including the sizes the engine only computes on request. */
export type ContainerInfoWithSize = Docker.ContainerInspectInfo & { SizeRw?: number; SizeRootFs?: number };

/**
 * GET /containers/{id}/json?size=true. The dockerode typings know neither the size option
 * nor the SizeRw and SizeRootFs fields it adds, although dockerode passes the option on.
 * SizeRw is absent when the engine could not compute it, so callers should check it.
 */
export async function inspectWithSize(docker: Docker, id: string): Promise<ContainerInfoWithSize> {
  return docker.getContainer(id).inspect({ size: true } as Docker.ContainerInspectOptions);
}

export interface RunObjects {
  images: { id: string; tags: string[] }[];
  containers: { id: string; state: string }[];
  volumes: string[];
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** What is left of this run on the engine, sorted so tests can compare with toEqual. */
export async function listRunObjects(docker: Docker, runId: string): Promise<RunObjects> {
  const filters = runFilter(runId);
  const [images, containers, { Volumes: volumes }] = await Promise.all([
    docker.listImages({ all: true, filters }),
    docker.listContainers({ all: true, filters }),
    docker.listVolumes({ filters }),
  ]);
  const volumeNames = new Set((volumes ?? []).map((v) => v.Name));
  for (const c of containers) {
    for (const name of await anonymousVolumesOf(docker, c.Id)) volumeNames.add(name);
  }
  return {
    images: images
      .map((img) => ({
        id: img.Id,
        // Engine 20.10 reports a dangling image as "<none>:<none>"; that is not a tag.
        tags: (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>').sort(),
      }))
      .sort(byKey((img) => img.id)),
    containers: containers.map((c) => ({ id: c.Id, state: c.State })).sort(byKey((c) => c.id)),
    volumes: [...volumeNames].sort(),
  };
}
