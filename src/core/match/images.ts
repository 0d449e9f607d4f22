/**
 * Whether an image meets an image policy's `match`, condition by condition: each condition
 * either passes or names why not. The planner asks only whether (cheaply: a failure is a code,
 * and its words are built only when explain asks for them); explain asks why not. Both read the
 * same checks, so they cannot disagree.
 */
import type { CompiledImagePolicy } from '../config/compiled-policy.js';
import type { ImageObj, Usage } from '../model/snapshot.js';
import { referencesOf } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';
import { unusedForMatch } from '../last-use/rule.js';
import { age, unusedMiss } from './miss-text.js';

/** A failed condition, as a code; `whyNot` turns it into words. */
type Miss =
  | 'labels'
  | 'untagged'
  | 'names'
  | 'dangling-tagged'
  | 'dangling-children'
  | 'not-tagged'
  | 'created-unknown'
  | 'too-young';

export interface ImageMatcher {
  /**
   * `repositories`, `tags` and `labels`: the filters that also decide what keep.newest counts.
   * Every tag of the image must match: removing an image removes all its names, so a policy
   * about `ci/**` must not take an image also tagged `prod/app`.
   */
  namesAndLabels(image: ImageObj): boolean;
  /** `dangling` and `olderThan`, for an image that passed namesAndLabels. */
  rest(image: ImageObj, hasChildren: boolean): boolean;
  /** `unusedFor`: undefined when the policy has none; else the reason it holds, or null when it does not. */
  unused(id: string): string | null | undefined;
  /** Why a matching image is selected. */
  reason(image: ImageObj, unusedReason: string | undefined): string;
  /** The first condition that fails, in the order the planner checks them; undefined when all hold. */
  whyNot(image: ImageObj, hasChildren: boolean): string | undefined;
}

/** The matcher of one policy for one plan (`now`, last use). */
export function imageMatcher(policy: CompiledImagePolicy, now: number, usage: Usage | undefined): ImageMatcher {
  const m = policy.match;
  const { repositories, tags, labels } = m;
  const repoOk = repositories ? remembered((name) => repositories.matches(name)) : undefined;

  // Labels are looked at first: one property lookup, and often the filter that rejects most.
  const names = (image: ImageObj): Miss | undefined => {
    if (labels && !labels.allHold(image.labels)) return 'labels';
    if (repoOk || tags) {
      if (image.tags.length === 0) return 'untagged';
      const refs = referencesOf(image);
      for (let i = 0; i < refs.length; i++) {
        const r = refs[i] as (typeof refs)[number];
        if (repoOk && !repoOk(r.repository)) return 'names';
        if (tags && !tags.matches(r.tag)) return 'names';
      }
    }
    return undefined;
  };

  const rest = (image: ImageObj, hasChildren: boolean): Miss | undefined => {
    if (m.dangling !== undefined) {
      // Untagged parents (classic builder) are neither: not dangling, because they have children,
      // and not tagged. They go with their last child, or when a policy without `dangling` takes them.
      const tagged = image.tags.length > 0;
      if (m.dangling && tagged) return 'dangling-tagged';
      if (m.dangling && hasChildren) return 'dangling-children';
      if (!m.dangling && !tagged) return 'not-tagged';
    }
    // An unknown build time is no age: no olderThan holds for it.
    if (m.olderThan === undefined) return undefined;
    if (image.created === undefined) return 'created-unknown';
    return now - image.created >= m.olderThan.ms ? undefined : 'too-young';
  };

  const unusedFor = m.unusedFor;
  const unused = (id: string): string | null | undefined =>
    unusedFor === undefined
      ? undefined
      : (unusedForMatch(usage, 'images', id, unusedFor.text, unusedFor.ms, now) ?? null);

  const words = (miss: Miss, image: ImageObj): string => {
    switch (miss) {
      case 'labels':
        return `label selector "${labels?.firstFailing(image.labels) ?? ''}" does not hold`;
      case 'untagged':
        return 'has no tags (match.repositories and match.tags need every tag to match)';
      case 'names':
        return namesMiss(image, repoOk, tags === undefined ? undefined : (t) => tags.matches(t));
      case 'dangling-tagged':
        return 'is tagged (dangling: true wants untagged images with no children)';
      case 'dangling-children':
        return 'has child images, so it is not dangling';
      case 'not-tagged':
        return 'is untagged (dangling: false wants tagged images)';
      case 'created-unknown':
        return 'its build time is unknown (its config has none, or a placeholder before 2013), so olderThan cannot hold';
      case 'too-young':
        return `created ${age(now, image.created ?? now)} ago, not longer than olderThan ${m.olderThan?.text ?? ''}`;
    }
  };

  return {
    namesAndLabels: (image) => names(image) === undefined,
    rest: (image, hasChildren) => rest(image, hasChildren) === undefined,
    unused,
    reason(image, unusedReason) {
      const reasons: string[] = [];
      if (m.dangling !== undefined) reasons.push(m.dangling ? 'dangling' : 'tagged');
      if (repoOk || tags) reasons.push(`tags ${image.tags.join(', ')} match`);
      if (m.olderThan !== undefined && image.created !== undefined)
        reasons.push(`created ${formatDuration(now - image.created)} ago (olderThan ${m.olderThan.text})`);
      if (labels) reasons.push(`labels ${labels.texts.join(', ')} hold`);
      if (unusedReason !== undefined) reasons.push(unusedReason);
      return reasons.length > 0 ? reasons.join(', ') : 'matches every image';
    },
    whyNot(image, hasChildren) {
      const miss = names(image) ?? rest(image, hasChildren);
      if (miss !== undefined) return words(miss, image);
      if (unusedFor !== undefined && unused(image.id) === null)
        return unusedMiss(usage, 'images', image.id, unusedFor.text, now);
      return undefined;
    },
  };
}

/** The first tag whose repository or tag fails, in words. */
function namesMiss(
  image: ImageObj,
  repoOk: ((name: string) => boolean) | undefined,
  tagOk: ((tag: string) => boolean) | undefined,
): string {
  const refs = referencesOf(image);
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i] as (typeof refs)[number];
    if (repoOk && !repoOk(r.repository))
      return `tag ${image.tags[i]} is not in a repository matching match.repositories`;
    if (tagOk && !tagOk(r.tag)) return `tag ${image.tags[i]} does not match match.tags`;
  }
  return 'a tag does not match';
}

/**
 * A glob's answers remembered per name, for one policy: a host has far fewer repositories than
 * images (every build of an app shares its repository), so each is matched once.
 */
function remembered(match: (name: string) => boolean): (name: string) => boolean {
  const answers = new Map<string, boolean>();
  return (name) => {
    let answer = answers.get(name);
    if (answer === undefined) {
      answer = match(name);
      answers.set(name, answer);
    }
    return answer;
  };
}
