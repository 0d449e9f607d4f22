/**
 * What is deployed counts as in use, beyond the containers that exist now: an image a swarm
 * service names (a service scaled to 0, or between tasks, has no container, yet scaling it up
 * needs the image), and every image of a Compose project that still has a container (`docker
 * compose up` recreates a project's containers from the images its containers were made from).
 */
import type { Config } from '../../config/config.js';
import type { ContainerObj, ImageObj, Snapshot } from '../../model/snapshot.js';
import { COMPOSE_PROJECT_LABEL } from './newest-containers.js';
import { IMAGE_ID, parseReference } from '../../../lib/reference.js';

/** Finds the images a reference names: by tag, by digest (`repo@sha256:…`), or by image ID. */
export function referenceMatcher(images: readonly ImageObj[]): (ref: string) => string[] {
  const byName = new Map<string, string[]>();
  const add = (key: string, id: string) => {
    const list = byName.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    byName.set(key, list);
  };
  for (const image of images) {
    for (const t of image.tags) {
      const p = parseReference(t);
      add(`${p.repository}:${p.tag ?? 'latest'}`, image.id);
    }
    for (const d of image.digests) {
      const p = parseReference(d);
      if (p.digest !== undefined) add(`${p.repository}@${p.digest}`, image.id);
    }
    add(image.id, image.id);
  }
  return (ref) => {
    const id = IMAGE_ID.exec(ref);
    if (id) return byName.get(`sha256:${id[2]}`) ?? [];
    const p = parseReference(ref);
    // A reference with both tag and digest names the image either way: the engine runs the
    // digest when it has it, and the tag is what a redeploy would resolve again. Both count.
    const ids = [
      ...(p.tag !== undefined ? (byName.get(`${p.repository}:${p.tag}`) ?? []) : []),
      ...(p.digest !== undefined ? (byName.get(`${p.repository}@${p.digest}`) ?? []) : []),
    ];
    return [...new Set(ids)];
  };
}

/**
 * Image ID → why it is in use by something deployed, for the images no policy may take.
 *
 * The Compose rule is deliberately simple: a project that has at least one container in the
 * snapshot (any state) is deployed, and every image any of its containers uses — by image ID,
 * and any image that carries the reference the container was created from — is in use, even
 * when this very plan removes that container. Only when a project has no container left at all
 * do its images become free, in the next cycle.
 */
export function deployedImages(config: Config, snapshot: Snapshot): ReadonlyMap<string, string> {
  const reasons = new Map<string, string>();
  // The index of every image reference is built only when a service or a Compose project
  // asks for one: most hosts have neither, and it costs a parse and a string per tag.
  let matcher: ((ref: string) => string[]) | undefined;
  const named = (ref: string): string[] => (matcher ??= referenceMatcher(snapshot.images))(ref);
  if (config.inUse.swarmServices) {
    const services = [...(snapshot.serviceImages ?? [])].sort(
      (a, b) => cmp(a.service, b.service) || cmp(a.reference, b.reference),
    );
    for (const s of services) {
      for (const id of named(s.reference))
        if (!reasons.has(id)) reasons.set(id, `in use by swarm service ${s.service}`);
    }
  }
  if (config.inUse.composeProjects) {
    const projects = new Map<string, ContainerObj[]>();
    for (const c of snapshot.containers) {
      const p = c.labels[COMPOSE_PROJECT_LABEL];
      if (p === undefined) continue;
      projects.set(p, [...(projects.get(p) ?? []), c]);
    }
    for (const p of [...projects.keys()].sort(cmp)) {
      const members = (projects.get(p) ?? []).sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
      for (const c of members) {
        const refs = c.createdFrom !== undefined && c.createdFrom !== c.image ? [c.image, c.createdFrom] : [c.image];
        for (const id of [c.imageId, ...refs.flatMap(named)])
          if (!reasons.has(id)) reasons.set(id, `in use by compose project ${p} (container ${c.name})`);
      }
    }
  }
  return reasons;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
