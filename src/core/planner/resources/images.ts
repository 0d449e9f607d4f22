/** Which images the image policies select, and which the engine's own rules force us to keep. */
import type { CompiledImagePolicy, CompiledProtect } from '../../config/compiled-policy.js';
import type { ImageObj } from '../../model/snapshot.js';
import { referencesOf } from '../../model/snapshot.js';
import type { Decision, Ledger } from '../ledger.js';
import type { AfterContainers, PlanContext } from '../context.js';
import { imageMatcher } from '../../match/images.js';
import { imageProtection, protectedReason } from '../../match/protect.js';
import { imageName, prunableParent, type ImageIndex } from '../shared/image-index.js';
import type { PressureCandidate, PressurePlanner } from '../pressure/pressure.js';

/**
 * Records the image policies' decisions. Last use comes from Snapshot.usage; when it is absent,
 * `unusedFor` selects nothing.
 *
 * @param pressure plans policies with `when`; without it such policies do nothing, since no
 *   pressure figure is known.
 */
export function planImages(ctx: AfterContainers, pressure?: PressurePlanner): void {
  const { index, now, ledger, isHeld, protect } = ctx;
  const images = ctx.snapshot.images;
  const usage = ctx.snapshot.usage;
  for (const policy of ctx.policies) {
    if (policy.resource !== 'image') continue;
    // A pressure policy whose condition does not hold (or cannot be known) does nothing at all.
    const session = policy.pressure === undefined ? undefined : pressure?.start(policy);
    if (policy.pressure !== undefined && session === undefined) continue;
    const underPressure: PressureCandidate[] = [];
    const match = imageMatcher(policy, now, usage);
    // The repository, tag and label filters, applied once: both keep.newest and the
    // selection look only at the images that pass them.
    const candidates = images.filter((image) => match.namesAndLabels(image));
    const newest = newestKept(policy, candidates, ledger);
    const keep = keepRules(policy, newest);
    for (const image of candidates) {
      if (!match.rest(image, index.children.has(image.id)) || ledger.taken('image', image.id)) continue;
      const unusedReason = match.unused(image.id);
      if (unusedReason === null) continue;
      const decision = exemption(image, index, keep, protect) ?? {
        kind: 'select' as const,
        reason: match.reason(image, unusedReason),
      };
      if (session && decision.kind === 'select') underPressure.push({ image, reason: decision.reason });
      else ledger.record('image', policy, image.id, decision, () => ({ id: image.id, name: imageName(image) }));
    }
    for (const { image, reason } of session?.choose(underPressure) ?? []) {
      ledger.record('image', policy, image.id, { kind: 'select', reason }, () => ({
        id: image.id,
        name: imageName(image),
      }));
    }
  }
  dropImagesWithStayingChildren(index, ledger, isHeld);
}

/**
 * Whether an untagged parent that a plan leaves without children must stay rather than go with
 * its last child. Once that child is gone the parent is dangling, and the next cycle would
 * decide on it as such; so the policies decide now as they would then: the first one that
 * matches it as a dangling image keeps it (a keep rule, or `action: report`) or lets it go.
 * Deciding on the parent as it is now, with its child, would miss a `dangling: true` policy,
 * and the next cycle would remove what this one kept. With no policy matching, it goes, as
 * `docker rmi` would prune it. Protected, deployed and in-use images always stay.
 */
export function orphanHold(ctx: PlanContext, index: ImageIndex): (image: ImageObj) => boolean {
  const { now, protect } = ctx;
  const usage = ctx.snapshot.usage;
  const noNewest: ReadonlySet<string> = new Set();
  // Protection, use and deployment, which hold whether or not any policy matches.
  const noKeep: KeepRules = { tag: undefined, label: () => undefined, newest: noNewest, n: undefined };
  const rules = ctx.policies.flatMap((policy) =>
    policy.resource === 'image'
      ? [{ policy, match: imageMatcher(policy, now, usage), keep: keepRules(policy, noNewest) }]
      : [],
  );
  return (image) => {
    if (exemption(image, index, noKeep, protect) !== undefined) return true;
    for (const { policy, match, keep } of rules) {
      if (!match.namesAndLabels(image) || !match.rest(image, false)) continue;
      if (match.unused(image.id) === null) continue;
      const kept = exemption(image, index, keep, protect) !== undefined;
      // A pressure policy decides only while its condition holds; its keep rules are honoured
      // whenever it might, and otherwise the next policy decides, as it would without pressure.
      if (policy.pressure !== undefined && !kept) continue;
      return kept || policy.action === 'report';
    }
    return false;
  };
}

interface KeepRules {
  readonly tag: ((tag: string) => boolean) | undefined;
  readonly label: (l: ImageObj['labels']) => string | undefined;
  readonly newest: ReadonlySet<string>;
  readonly n: number | undefined;
}

/** A policy's keep rules, compiled once per policy rather than once per image. */
function keepRules(policy: CompiledImagePolicy, newest: ReadonlySet<string>): KeepRules {
  const { tags, labels } = policy.keep;
  return {
    tag: tags ? (tag) => tags.matches(tag) : undefined,
    label: (l) => labels.firstHeld(l),
    newest,
    n: policy.keep.newest,
  };
}

function exemption(
  image: ImageObj,
  index: ImageIndex,
  keep: KeepRules,
  protect: CompiledProtect,
): Decision | undefined {
  // Protection first: it beats every other reason, and the reason names the entry that holds.
  const by = imageProtection(protect, image);
  if (by !== undefined) return { kind: 'keep', reason: protectedReason(by) };
  const user = index.usedBy.get(image.id);
  if (user) return { kind: 'keep', reason: `in use by container ${user.name} (${user.state})` };
  const deployed = index.deployed?.get(image.id);
  if (deployed !== undefined) return { kind: 'keep', reason: deployed };
  if (keep.tag) {
    const refs = referencesOf(image);
    for (let i = 0; i < refs.length; i++)
      if (keep.tag((refs[i] as (typeof refs)[number]).tag))
        return { kind: 'keep', reason: `keep.tags matches ${image.tags[i]}` };
  }
  const kl = keep.label(image.labels);
  if (kl) return { kind: 'keep', reason: `keep.labels "${kl}"` };
  if (keep.newest.has(image.id))
    return { kind: 'keep', reason: `among the ${keep.n} newest of its repository (keep.newest)` };
  return undefined;
}

/**
 * keep.newest: per repository, the N newest images that the policy's repository, tag and label
 * filters match, whatever their age, so that at least N always remain. Newer first; equal
 * creation times are ordered by ID so the choice never depends on listing order.
 */
function newestKept(policy: CompiledImagePolicy, candidates: readonly ImageObj[], ledger: Ledger): ReadonlySet<string> {
  const n = policy.keep.newest;
  const kept = new Set<string>();
  if (n === undefined || n === 0) return kept;
  const byRepo = new Map<string, ImageObj[]>();
  for (const image of candidates) {
    // An image an earlier policy removes will not remain, so it cannot count towards N.
    if (ledger.isSelected('image', image.id)) continue;
    const refs = referencesOf(image);
    for (let i = 0; i < refs.length; i++) {
      const repo = (refs[i] as (typeof refs)[number]).repository;
      // Once per repository, however many of its tags the image has.
      if (refs.findIndex((r) => r.repository === repo) < i) continue;
      const list = byRepo.get(repo);
      if (list) list.push(image);
      else byRepo.set(repo, [image]);
    }
  }
  for (const list of byRepo.values()) {
    // An image of unknown build time counts as the newest: keeping it is the safe side.
    list.sort((a, b) => (b.created ?? Infinity) - (a.created ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const image of list.slice(0, n)) kept.add(image.id);
  }
  return kept;
}

/**
 * The engine refuses to delete an image that still has a child (409, even with force), so a
 * selected image whose children do not all go stays. A child goes when it is selected, or when
 * it is an untagged parent that the plan removes with its own children (see image-bytes.ts):
 * a tagged image above an untagged one above a selected image can go with them. Keeping one
 * image can keep its parent too, so the set that stays is found first, to a fixed point; only
 * then is each one given its reason, so the child a reason names never depends on the order
 * images were listed.
 */
function dropImagesWithStayingChildren(index: ImageIndex, ledger: Ledger, isHeld: (image: ImageObj) => boolean): void {
  const dropped = new Set<string>();
  const childrenOf = (id: string): string[] => [...(index.children.get(id) ?? [])].sort();
  // What goes, given what has been dropped so far; recomputed after each round of drops.
  const goesNow = (): ((id: string) => boolean) => {
    const memo = new Map<string, boolean>();
    const goes = (id: string): boolean => {
      let answer = memo.get(id);
      if (answer !== undefined) return answer;
      const image = index.byId.get(id);
      const kids = index.children.get(id) ?? [];
      // An unselected child goes as a prunable parent once all its own children go.
      answer = ledger.isSelected('image', id)
        ? !dropped.has(id)
        : image !== undefined && kids.length > 0 && prunableParent(image, index.usedBy, isHeld) && kids.every(goes);
      memo.set(id, answer);
      return answer;
    };
    return goes;
  };
  const selected = ledger.selectedOf('image').map((draft) => draft.id);
  for (let changed = true; changed;) {
    changed = false;
    const goes = goesNow();
    for (const id of selected) {
      if (dropped.has(id) || childrenOf(id).every(goes)) continue;
      dropped.add(id);
      changed = true;
    }
  }
  const goes = goesNow();
  for (const id of [...dropped].sort()) {
    const staying = childrenOf(id).find((c) => !goes(c)) as string;
    const child = index.byId.get(staying);
    ledger.unselect('image', id, `has a dependent child image ${child ? imageName(child) : staying} that stays`);
  }
}
