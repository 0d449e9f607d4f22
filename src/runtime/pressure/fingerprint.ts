/**
 * A digest of what a pressure policy can act on: the images (with their tags) and which
 * container holds which image. After a pressure cycle that could do nothing more, the watch
 * compares it with a fresh listing: the same digest means the next plan would choose the same
 * nothing, so no new cycle is started for it.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../core/config/config.js';
import type { Snapshot } from '../../core/model/snapshot.js';

/** True when some image policy has `when`, so the pressure watch runs. */
export function hasPressurePolicies(config: Config): boolean {
  return config.policies.some((p) => p.resource === 'image' && p.when !== undefined);
}

/** The digest of a listing's images and containers. */
export function fingerprint(snapshot: Pick<Snapshot, 'images' | 'containers'>): string {
  return leftAfter(snapshot, []);
}

/** The digest of what a cycle's snapshot holds once its removals are done. */
export function leftAfter(
  snapshot: Pick<Snapshot, 'images' | 'containers'>,
  removed: ReadonlyArray<{ readonly resource: string; readonly id: string }>,
): string {
  const gone = new Set(removed.map((r) => `${r.resource}:${r.id}`));
  const lines = [
    ...snapshot.images
      .filter((i) => !gone.has(`image:${i.id}`))
      .map((i) => `i ${i.id} ${[...i.tags].sort().join(' ')}`),
    ...snapshot.containers.filter((c) => !gone.has(`container:${c.id}`)).map((c) => `c ${c.id} ${c.imageId}`),
  ].sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}
