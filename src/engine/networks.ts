/** Networks: listing them into our own type, reading which networks containers refer to, and deleting one. */
import type Docker from 'dockerode';
import type { NetworkObj } from '../core/model/snapshot.js';
import type { RemovalOutcome } from './engine.js';
import { classify } from './errors.js';
import { inPath } from './request-path.js';

/** A `GET /networks` entry → NetworkObj, keeping only what the planner reads. */
export function mapNetwork(raw: Docker.NetworkInspectInfo): NetworkObj {
  const created = raw.Created ? Date.parse(raw.Created) : NaN;
  return {
    id: raw.Id,
    name: raw.Name,
    driver: raw.Driver,
    scope: raw.Scope,
    // The engine writes 0001-01-01 for networks it never timestamped (predefined ones on some versions).
    created: Number.isFinite(created) && created > 0 ? created : undefined,
    labels: (raw.Labels as Record<string, string> | null | undefined) ?? {},
    ingress: raw.Ingress === true,
    configOnly: raw.ConfigOnly === true,
  };
}

/**
 * Every way a listed container refers to a network, whatever its state. The network list's
 * `Containers` (and inspect's) shows only running endpoints, so the containers are the source:
 * `NetworkSettings.Networks` is keyed by name and carries the ID once the container has run;
 * `HostConfig.NetworkMode` is whatever it was created with (a name, an ID or an ID prefix).
 */
export function containerNetworks(raw: Docker.ContainerInfo): string[] {
  const refs = new Set<string>();
  for (const [name, settings] of Object.entries(raw.NetworkSettings?.Networks ?? {})) {
    refs.add(name);
    if (settings?.NetworkID) refs.add(settings.NetworkID);
  }
  const mode = raw.HostConfig?.NetworkMode;
  // "container:<id>" shares another container's stack and names no network of its own.
  if (mode && !mode.startsWith('container:')) refs.add(mode);
  return [...refs];
}

/**
 * DELETE /networks/{id}. The engine answers 403 (not 409) for a network with running
 * endpoints; that is a conflict like any other "in use": skip, look again next cycle.
 */
export async function removeNetwork(docker: Docker, id: string): Promise<RemovalOutcome> {
  try {
    await docker.getNetwork(inPath(id)).remove();
    return { ok: true, deleted: [id] };
  } catch (err) {
    const e = classify(err);
    if (e.statusCode === 403 && /active endpoints/.test(e.message))
      return { ok: false, kind: 'conflict', message: e.message };
    return { ok: false, kind: e.kind, message: e.message };
  }
}
