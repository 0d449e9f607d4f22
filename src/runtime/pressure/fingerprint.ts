/**
 * A digest of what a pressure policy can act on, and of what decides whether it may: the
 * images (with their tags), which container holds which image and whether a container policy
 * could take it, and the images swarm services name. After a pressure cycle that could do
 * nothing more, the watch compares it with a fresh listing: the same digest means the next
 * plan would choose the same nothing, so no new cycle is started for it.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../core/config/config.js';
import type { ContainerObj, Snapshot } from '../../core/model/snapshot.js';
import { REMOVABLE_STATES } from '../../core/config/compiled-policy.js';

/** What a digest is made from: the listing the cycle and the watch both take. */
export type Listed = Pick<Snapshot, 'images' | 'containers' | 'serviceImages'>;

/** True when some image policy has `when`, so the pressure watch runs. */
export function hasPressurePolicies(config: Config): boolean {
  return config.policies.some((p) => p.resource === 'image' && p.when !== undefined);
}

/** The digest of a listing's images, containers and service images. */
export function fingerprint(snapshot: Listed): string {
  return leftAfter(snapshot, []);
}

/** The digest of what a cycle's snapshot holds once its removals are done. */
export function leftAfter(
  snapshot: Listed,
  removed: ReadonlyArray<{ readonly resource: string; readonly id: string }>,
): string {
  const gone = new Set(removed.map((r) => `${r.resource}:${r.id}`));
  const lines = [
    ...snapshot.images
      .filter((i) => !gone.has(`image:${i.id}`))
      .map((i) => `i ${i.id} ${[...i.tags].sort().join(' ')}`),
    ...snapshot.containers
      .filter((c) => !gone.has(`container:${c.id}`))
      .map((c) => `c ${c.id} ${c.imageId} ${stateClass(c)} ${c.image}`),
    // A service removed, or pointed at another image, frees the image it named.
    ...(snapshot.serviceImages ?? []).map((s) => `s ${s.service} ${s.reference}`),
  ].sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}

/**
 * A container's state as far as a plan can tell it apart: each state a container policy may
 * take (a container that exits can be taken, and then its image), and one class for the rest.
 * A container that restarts in a loop flips between running and restarting at every check;
 * neither makes anything removable, so that alone must not start a cycle.
 */
function stateClass(c: ContainerObj): string {
  return REMOVABLE_STATES.has(c.state) ? c.state : 'live';
}
