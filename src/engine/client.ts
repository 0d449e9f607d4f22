/** Connecting to the engine: address parsing, API version pinning. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// dockerode loads its SSH client (ssh2) and gRPC with protobuf (BuildKit sessions) as it is
// imported, though reclaimd uses neither: about 7.5 MB of idle memory. Neither package offers a
// way around that short of patching Node's module loader, which reclaimd does not do (issue 18).
import Docker from 'dockerode';
import { classify, EngineError } from './errors.js';
import { StrictModem } from './strict-modem.js';

/**
 * The newest Engine API whose answers reclaimd reads, as run against Docker 28.5 in CI. Newer
 * engines still accept it (Docker 29 serves 1.44 and up), and give its answers their 1.51 shape.
 */
export const MAX_API_VERSION = '1.51';

/**
 * Where the engine keeps images. `classic`: the graph-driver store (overlay2), whose deletions
 * list the layers they freed. `containerd`: the containerd image store (default on fresh
 * Engine 29+ installs), which keeps compressed content and unpacked snapshots of each layer
 * and says only which image a deletion removed (see src/core/model/image-parts.ts).
 */
export type ImageStore = 'classic' | 'containerd';

export interface Connection {
  readonly docker: Docker;
  readonly apiVersion: string;
  readonly engineVersion: string;
  readonly imageStore: ImageStore;
  /** The engine's own ID (`/info` ID): caches survive a reconnect only to the same engine. */
  readonly engineId: string;
  /** The engine's data root (`/info` DockerRootDir), where disk pressure is measured by default. */
  readonly dataRoot?: string;
  /** A client for event streams: no idle timeout, which would cut a quiet stream (changes.ts). */
  readonly streams?: Docker;
  /** The engine's clock minus this host's, in ms, read at connect (`/info` SystemTime); 0 when unknown. */
  readonly clockOffsetMs?: number;
}

/**
 * Options for dockerode. With no address, docker-modem reads DOCKER_HOST (and the TLS
 * variables) like the docker CLI. docker-modem merges those environment defaults underneath
 * explicit options, so a unix socket must also clear `host`, or a tcp DOCKER_HOST would win.
 */
export function dockerOptions(address: string | undefined, timeoutMs: number): Docker.DockerOptions {
  // docker-modem applies `timeout` as a socket idle timeout: a request that hears nothing for
  // that long fails, so a frozen engine cannot hang a cycle (or shutdown) forever. Event
  // streams, where an idle timeout would be wrong, go through a client without it.
  const timeout = { timeout: timeoutMs };
  if (address === undefined) return timeout;
  if (address.startsWith('unix://'))
    return { ...timeout, socketPath: address.slice('unix://'.length), host: undefined } as Docker.DockerOptions;
  const url = new URL(address);
  const port = url.port === '' ? 2375 : Number(url.port);
  // TLS as the docker CLI decides it: DOCKER_TLS_VERIFY=1 or the TLS port, with ca.pem,
  // cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker). Key material is read here
  // and handed to the client; it is never logged.
  const tls = process.env['DOCKER_TLS_VERIFY'] === '1' || port === 2376;
  if (!tls)
    return { ...timeout, host: url.hostname, port, protocol: 'http', socketPath: undefined } as Docker.DockerOptions;
  const dir = process.env['DOCKER_CERT_PATH'] ?? path.join(os.homedir(), '.docker');
  const read = (name: string) => readFileSync(path.join(dir, name));
  return {
    ...timeout,
    host: url.hostname,
    port,
    protocol: 'https',
    ca: read('ca.pem'),
    cert: read('cert.pem'),
    key: read('key.pem'),
    socketPath: undefined,
  } as Docker.DockerOptions;
}

/**
 * Asks the engine for its API version and pins requests to min(ours, its): without a version
 * prefix the engine applies its newest semantics, which we may not have seen yet. An engine
 * whose oldest accepted version is newer than ours is refused here, with a message that says
 * so, rather than failing every later request with its 400.
 */
export async function connect(address: string | undefined, timeoutMs = 60_000): Promise<Connection> {
  let v: Docker.DockerVersion & { MinAPIVersion?: string };
  let options: Docker.DockerOptions;
  try {
    options = dockerOptions(address, timeoutMs);
    // Unversioned, as the docker CLI asks it: every engine answers /version whatever it accepts.
    v = await engineClient(options).version();
  } catch (err) {
    throw classify(err);
  }
  const apiVersion = pinnedVersion(v.ApiVersion, v.MinAPIVersion);
  try {
    const docker = engineClient({ ...options, version: `v${apiVersion}` } as Docker.DockerOptions);
    const asked = Date.now();
    const info = (await docker.info()) as {
      ID: string;
      DriverStatus: Array<[string, string]> | null;
      DockerRootDir?: string;
      SystemTime?: string;
    };
    const engineNow = info.SystemTime ? Date.parse(info.SystemTime) : NaN;
    // Against the middle of the request: a remote engine's clock may run behind this host's.
    const clockOffsetMs = Number.isFinite(engineNow) ? engineNow - (asked + Date.now()) / 2 : 0;
    const imageStore: ImageStore = (info.DriverStatus ?? []).some(
      ([k, val]) => k === 'driver-type' && val === 'io.containerd.snapshotter.v1',
    )
      ? 'containerd'
      : 'classic';
    const { timeout: _idle, ...streamOptions } = options as Docker.DockerOptions & { timeout?: number };
    return {
      docker,
      streams: engineClient({ ...streamOptions, version: `v${apiVersion}` } as Docker.DockerOptions),
      clockOffsetMs,
      apiVersion,
      engineVersion: v.Version,
      imageStore,
      engineId: info.ID,
      ...(info.DockerRootDir ? { dataRoot: info.DockerRootDir } : {}),
    };
  } catch (err) {
    throw classify(err);
  }
}

/**
 * A dockerode client whose every request goes through StrictModem: no redirect followed,
 * bounded bodies, and each answer decoded against what reclaimd reads (answer-routes.ts).
 * reclaimd makes no engine request through any other client.
 */
export function engineClient(options: Docker.DockerOptions): Docker {
  const modem = new StrictModem(options as Record<string, unknown>);
  return new Docker({ ...options, modem } as unknown as Docker.DockerOptions);
}

/**
 * The API version to speak: the newest both sides know. Throws when the engine accepts none
 * that reclaimd knows (its minimum is above MAX_API_VERSION).
 */
export function pinnedVersion(engineApi: string, engineMin: string | undefined): string {
  const version = compareVersions(engineApi, MAX_API_VERSION) < 0 ? engineApi : MAX_API_VERSION;
  if (engineMin !== undefined && compareVersions(engineMin, version) > 0) {
    throw new EngineError(
      'failed',
      `the engine accepts Engine API ${engineMin} to ${engineApi}, and this reclaimd speaks at most ${MAX_API_VERSION}: upgrade reclaimd`,
      undefined,
    );
  }
  return version;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The address, for logs: never credentials (tcp URLs could carry them). */
export function describeAddress(address: string | undefined): string {
  const a = address ?? process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
  try {
    const url = new URL(a);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return a;
  }
}
