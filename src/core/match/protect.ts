/**
 * Which `protect` entry protects an object, in words: `protect.images "postgres:16"`. The
 * planners keep such an object whatever a policy says (their reason is "protected by" and this
 * text), and explain shows the same text, so the two cannot disagree. Keys are asked in a fixed
 * order (labels first, then the names of the resource) and entries in the order written, so
 * the entry named never depends on the order the engine listed anything.
 */
import type { CompiledProtect } from '../config/compiled-policy.js';
import type { GlobList } from '../config/matchers.js';
import type { ContainerObj, ImageObj, NetworkObj, VolumeObj } from '../model/snapshot.js';
import { referencesOf, repositoriesOf } from '../model/snapshot.js';
import type { Labels } from '../../lib/labels.js';

/** The entry that protects the image, if any: by label, repository or `protect.images`. */
export function imageProtection(protect: CompiledProtect, image: ImageObj): string | undefined {
  const label = byLabel(protect, image.labels);
  if (label !== undefined) return label;
  // Digests count too: a pulled-by-digest image of a protected repository has no tag.
  if (protect.repositories.patterns.length > 0) {
    for (const repository of repositoriesOf(image)) {
      const glob = protect.repositories.firstMatching(repository);
      if (glob !== undefined) return named('repositories', glob, repository);
    }
  }
  if (protect.images.texts.length === 0) return undefined;
  const hit = protect.images.firstMatching({
    id: image.id,
    tags: image.tags,
    references: referencesOf(image),
    digests: image.digests,
  });
  return hit === undefined ? undefined : named('images', hit.entry, hit.matched);
}

/** The entry that protects the container, if any: by label or `protect.containers`. */
export function containerProtection(protect: CompiledProtect, c: ContainerObj): string | undefined {
  return byLabel(protect, c.labels) ?? byName('containers', protect.containers, c.name);
}

/** The entry that protects the volume, if any: by label or `protect.volumes`. */
export function volumeProtection(protect: CompiledProtect, v: VolumeObj): string | undefined {
  return byLabel(protect, v.labels) ?? byName('volumes', protect.volumes, v.name);
}

/** The entry that protects the network, if any: by label or `protect.networks`. */
export function networkProtection(protect: CompiledProtect, n: NetworkObj): string | undefined {
  return byLabel(protect, n.labels) ?? byName('networks', protect.networks, n.name);
}

/** The reason a planner gives for keeping a protected object. */
export function protectedReason(by: string): string {
  return `protected by ${by}`;
}

function byLabel(protect: CompiledProtect, labels: Labels): string | undefined {
  const selector = protect.labels.firstHeld(labels);
  return selector === undefined ? undefined : named('labels', selector, selector);
}

function byName(key: string, globs: GlobList, name: string): string | undefined {
  const glob = globs.firstMatching(name);
  return glob === undefined ? undefined : named(key, glob, name);
}

/** `protect.images "registry.example.com/base/*:*" (registry.example.com/base/alpine:3.20)`: what matched, when the entry does not say it. */
function named(key: string, entry: string, matched: string): string {
  return `protect.${key} "${entry}"${matched === entry ? '' : ` (${matched})`}`;
}
