/** Connecting to the engine: address parsing, API version pinning. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Must come before dockerode: it defers dockerode's SSH and gRPC parts (see the file).
import './lazy-deps.js';
import Docker from 'dockerode';
import { classify } from './errors.js';
import { failCutAnswers } from './cut-answers.js';

/** The newest Engine API whose responses we have checked the shape of. */
export const MAX_API_VERSION = '1.47';

export interface Connection {
  readonly docker: Docker;
  readonly apiVersion: string;
  readonly engineVersion: string;
  /**
   * The containerd image store (default on fresh Engine 29+) reports no layer IDs when it
   * deletes an image, so freed bytes cannot be read from its answers.
   */
  readonly containerdStore: boolean;
  /** The engine's own ID (`/info` ID): caches survive a reconnect only to the same engine. */
  readonly engineId: string;
  /** The engine's data root (`/info` DockerRootDir), where disk pressure is measured by default. */
  readonly dataRoot?: string;
}

/**
 * Options for dockerode. With no address, docker-modem reads DOCKER_HOST (and the TLS
 * variables) like the docker CLI. docker-modem merges those environment defaults underneath
 * explicit options, so a unix socket must also clear `host`, or a tcp DOCKER_HOST would win.
 */
export function dockerOptions(address: string | undefined, timeoutMs: number): Docker.DockerOptions {
  // docker-modem applies `timeout` as a socket idle timeout: a request that hears nothing for
  // that long fails, so a frozen engine cannot hang a cycle (or shutdown) forever. This client
  // never follows event streams, where an idle timeout would be wrong.
  const timeout = { timeout: timeoutMs };
  if (address === undefined) return timeout;
  if (address.startsWith('unix://')) return { ...timeout, socketPath: address.slice('unix://'.length), host: undefined } as Docker.DockerOptions;
  const url = new URL(address);
  const port = url.port === '' ? 2375 : Number(url.port);
  // TLS as the docker CLI decides it: DOCKER_TLS_VERIFY=1 or the TLS port, with ca.pem,
  // cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker). Key material is read here
  // and handed to the client; it is never logged.
  const tls = process.env['DOCKER_TLS_VERIFY'] === '1' || port === 2376;
  if (!tls) return { ...timeout, host: url.hostname, port, protocol: 'http', socketPath: undefined } as Docker.DockerOptions;
  const dir = process.env['DOCKER_CERT_PATH'] ?? path.join(os.homedir(), '.docker');
  const read = (name: string) => readFileSync(path.join(dir, name));
  return { ...timeout, host: url.hostname, port, protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem'), socketPath: undefined } as Docker.DockerOptions;
}

/**
 * Asks the engine for its API version and pins requests to min(ours, its): without a version
 * prefix the engine applies its newest semantics, which we may not have seen yet.
 */
export async function connect(address: string | undefined, timeoutMs = 60_000): Promise<Connection> {
  failCutAnswers();
  try {
    const options = dockerOptions(address, timeoutMs);
    const probe = new Docker(options);
    const v = await probe.version();
    const apiVersion = compareVersions(v.ApiVersion, MAX_API_VERSION) < 0 ? v.ApiVersion : MAX_API_VERSION;
    const docker = new Docker({ ...options, version: `v${apiVersion}` } as Docker.DockerOptions);
    const info = (await docker.info()) as { ID?: string; DriverStatus?: Array<[string, string]> | null; DockerRootDir?: string };
    const containerdStore = (info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v === 'io.containerd.snapshotter.v1');
    return { docker, apiVersion, engineVersion: v.Version, containerdStore, engineId: info.ID ?? '', ...(info.DockerRootDir ? { dataRoot: info.DockerRootDir } : {}) };
  } catch (err) {
    throw classify(err);
  }
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
