/**
 * Engine API JSON → our own narrow types. Keeps only the fields the planner uses and smooths
 * over version differences (`<none>:<none>` tags up to API 1.42, `null` labels, `""` parents).
 */
import type Docker from 'dockerode';
import type { ContainerObj, ImageLayer, ImageObj, VolumeObj } from '../core/model/snapshot.js';
import { containerNetworks } from './networks.js';

export function mapImage(raw: Docker.ImageInfo, layers: readonly ImageLayer[]): ImageObj {
  const tags = (raw.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  const digests = (raw.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
  return {
    id: raw.Id,
    parentId: raw.ParentId ? raw.ParentId : undefined,
    tags,
    digests,
    created: buildTime(raw.Created),
    labels: (raw.Labels as Record<string, string> | null) ?? {},
    size: raw.Size,
    layers,
  };
}

/**
 * Docker's first release: an image config that says it was made before then has no real build
 * time. The engine lists 0 for a config without one, reproducible builds (ko, Bazel, Nix,
 * jib) write the epoch or a second after it on purpose, and a config may carry Go's zero time
 * (a large negative number). Read as dates they make an image look 55 years old to every
 * `olderThan`; they are unknown instead, which no age condition matches.
 */
const FIRST_DOCKER_RELEASE_S = Date.UTC(2013, 2, 13) / 1000;

/** An image's build time in epoch milliseconds, or undefined when its config has none. */
export function buildTime(createdSeconds: number): number | undefined {
  return createdSeconds >= FIRST_DOCKER_RELEASE_S ? createdSeconds * 1000 : undefined;
}

export interface ContainerDetails {
  readonly finishedAt: number | undefined;
  readonly exitCode: number | undefined;
  /** Inspect's `Config.Image`: the reference as given at creation. */
  readonly createdFrom?: string | undefined;
}

export function mapContainer(raw: Docker.ContainerInfo, details: ContainerDetails | undefined): ContainerObj {
  return {
    id: raw.Id,
    name: containerName(raw),
    image: raw.Image,
    imageId: raw.ImageID,
    state: raw.State,
    created: raw.Created * 1000,
    finishedAt: details?.finishedAt,
    exitCode: details?.exitCode,
    labels: raw.Labels ?? {},
    sizeRw: undefined,
    volumes: volumeNames(raw.Mounts),
    ...(details?.createdFrom ? { createdFrom: details.createdFrom } : {}),
    networks: containerNetworks(raw),
  };
}

// The helpers below run once per listed object every cycle, so they avoid the intermediate
// arrays and regular expressions the obvious one-liners would make.

/**
 * The name `docker ps` shows. With legacy `--link`, `Names` also lists one alias per linking
 * container (`/app/zdb` for `zdb` linked into `app`), in no promised order; an alias read as
 * the name would slip past `protect.containers: [zdb]`. The docker CLI skips every name with a
 * `/` after the leading one, and so does this; the first name stays the fallback.
 */
function containerName(raw: Docker.ContainerInfo): string {
  const names = raw.Names ?? [];
  let name = names[0] ?? raw.Id.slice(0, 12);
  for (const n of names) {
    if (n.indexOf('/', 1) < 0) {
      name = n;
      break;
    }
  }
  return name.startsWith('/') ? name.slice(1) : name;
}

function volumeNames(mounts: Docker.ContainerInfo['Mounts'] | null | undefined): string[] {
  const names: string[] = [];
  for (const m of mounts ?? []) if (m.Type === 'volume' && m.Name) names.push(m.Name);
  return names;
}

function hasKeys(o: Record<string, string> | null | undefined): boolean {
  for (const _ in o ?? {}) return true;
  return false;
}

/** Inspect's `State`: a container that never ran has FinishedAt 0001-01-01. */
export function mapDetails(
  state: { FinishedAt?: string; ExitCode?: number } | undefined,
  config?: { Image?: string } | null,
): ContainerDetails {
  const finished = state?.FinishedAt ? Date.parse(state.FinishedAt) : NaN;
  return {
    finishedAt: Number.isFinite(finished) && finished > 0 ? finished : undefined,
    exitCode: state?.ExitCode,
    createdFrom: config?.Image || undefined,
  };
}

export function mapVolume(raw: Docker.VolumeInspectInfo & { CreatedAt?: string }): VolumeObj {
  const created = raw.CreatedAt ? Date.parse(raw.CreatedAt) : NaN;
  return {
    name: raw.Name,
    driver: raw.Driver,
    created: Number.isFinite(created) ? created : undefined,
    labels: (raw.Labels as Record<string, string> | null) ?? {},
    size: undefined,
    driverOptions: hasKeys(raw.Options as Record<string, string> | null),
  };
}
