/**
 * Why a policy's `match` does not hold for an object, in words, for `reclaimd explain`. This
 * never decides anything: the planner does (explain.ts runs it). It only names the first
 * condition that fails, checking the conditions it knows in the planner's order; a condition
 * it does not know (one added later) falls through to a plain "does not match".
 */
import type { ContainerPolicy, ImagePolicy, Policy, VolumePolicy } from '../config/schema.js';
import type { ContainerObj, ImageObj, Snapshot, VolumeObj } from '../model/snapshot.js';
import { isAnonymousVolume, referencesOf } from '../model/snapshot.js';
import { anyGlob } from '../../lib/glob.js';
import { allLabels } from '../../lib/labels.js';
import { formatDuration, parseDuration } from '../../lib/units.js';
import { REMOVABLE_STATES } from '../planner/resources/containers.js';

/** One of the objects `explain` looks at. */
export type Target =
  | { readonly resource: 'image'; readonly image: ImageObj }
  | { readonly resource: 'container'; readonly container: ContainerObj }
  | { readonly resource: 'volume'; readonly volume: VolumeObj };

const FALLBACK = 'does not match (a match condition fails)';

/** The first failing match condition of `policy` for `target`, as a sentence fragment. */
export function whyNoMatch(policy: Policy, target: Target, snapshot: Snapshot, now: number): string {
  if (target.resource === 'image' && policy.resource === 'image')
    return imageMiss(policy, target.image, snapshot, now) ?? FALLBACK;
  if (target.resource === 'container' && policy.resource === 'container')
    return containerMiss(policy, target.container, now) ?? FALLBACK;
  if (target.resource === 'volume' && policy.resource === 'volume')
    return volumeMiss(policy, target.volume, now) ?? FALLBACK;
  if (target.resource === 'volume' && policy.resource === 'container') {
    return isAnonymousVolume(target.volume)
      ? 'no container this policy removes mounts it (removeAnonymousVolumes)'
      : 'not anonymous (removeAnonymousVolumes takes only anonymous volumes)';
  }
  return FALLBACK;
}

/** The first label selector of `selectors` that does not hold, if any. */
function failingLabel(selectors: readonly string[] | undefined, labels: ImageObj['labels']): string | undefined {
  return selectors?.find((s) => !allLabels([s])(labels));
}

function age(now: number, since: number): string {
  return formatDuration(Math.max(0, now - since));
}

function imageMiss(policy: ImagePolicy, image: ImageObj, snapshot: Snapshot, now: number): string | undefined {
  const m = policy.match;
  if (m.repositories || m.tags) {
    if (image.tags.length === 0) return 'has no tags (match.repositories and match.tags need every tag to match)';
    const repoOk = m.repositories ? anyGlob(m.repositories) : undefined;
    const tagOk = m.tags ? anyGlob(m.tags) : undefined;
    for (const [i, { repository, tag }] of referencesOf(image).entries()) {
      if (repoOk && !repoOk(repository))
        return `tag ${image.tags[i]} is not in a repository matching match.repositories`;
      if (tagOk && !tagOk(tag)) return `tag ${image.tags[i]} does not match match.tags`;
    }
  }
  const label = failingLabel(m.labels, image.labels);
  if (label !== undefined) return `label selector "${label}" does not hold`;
  if (m.dangling !== undefined) {
    const tagged = image.tags.length > 0;
    const hasChildren = snapshot.images.some((i) => i.parentId === image.id);
    if (m.dangling && tagged) return 'is tagged (dangling: true wants untagged images with no children)';
    if (m.dangling && hasChildren) return 'has child images, so it is not dangling';
    if (!m.dangling && !tagged) return 'is untagged (dangling: false wants tagged images)';
  }
  const min = m.olderThan === undefined ? undefined : parseDuration(m.olderThan);
  if (min !== undefined && image.created === undefined)
    return 'its build time is unknown (its config has none, or a placeholder before 2013), so olderThan cannot hold';
  if (min !== undefined && image.created !== undefined && now - image.created < min)
    return `created ${age(now, image.created)} ago, not longer than olderThan ${m.olderThan}`;
  return undefined;
}

function containerMiss(policy: ContainerPolicy, c: ContainerObj, now: number): string | undefined {
  const m = policy.match;
  if (!REMOVABLE_STATES.has(c.state)) return `is ${c.state}; only exited, dead or created containers are ever removed`;
  if (m.status && !(m.status as readonly string[]).includes(c.state))
    return `is ${c.state}, not one of match.status (${m.status.join(', ')})`;
  const min = m.stoppedFor === undefined ? undefined : parseDuration(m.stoppedFor);
  if (min !== undefined) {
    const since = c.state === 'created' ? c.created : c.finishedAt;
    if (since === undefined) return 'its finish time is unknown, so stoppedFor cannot hold';
    if (now - since < min) return `stopped ${age(now, since)} ago, not longer than stoppedFor ${m.stoppedFor}`;
  }
  if (m.exitCode && c.state !== 'created' && (c.exitCode === undefined || !m.exitCode.includes(c.exitCode))) {
    return `exit code ${c.exitCode ?? 'unknown'} is not one of match.exitCode (${m.exitCode.join(', ')})`;
  }
  if (m.names && !anyGlob(m.names)(c.name)) return `name ${c.name} does not match match.names`;
  if (m.images && !anyGlob(m.images)(c.image)) return `image ${c.image} does not match match.images`;
  const label = failingLabel(m.labels, c.labels);
  if (label !== undefined) return `label selector "${label}" does not hold`;
  return undefined;
}

function volumeMiss(policy: VolumePolicy, v: VolumeObj, now: number): string | undefined {
  const m = policy.match;
  if (m.anonymous !== undefined && isAnonymousVolume(v) !== m.anonymous)
    return m.anonymous ? 'is a named volume (match.anonymous: true)' : 'is anonymous (match.anonymous: false)';
  const min = m.olderThan === undefined ? undefined : parseDuration(m.olderThan);
  if (min !== undefined) {
    if (v.created === undefined) return 'its creation time is unknown, so olderThan cannot hold';
    if (now - v.created < min) return `created ${age(now, v.created)} ago, not longer than olderThan ${m.olderThan}`;
  }
  if (m.names && !anyGlob(m.names)(v.name)) return 'its name does not match match.names';
  const label = failingLabel(m.labels, v.labels);
  if (label !== undefined) return `label selector "${label}" does not hold`;
  return undefined;
}
