/**
 * Bookkeeping shared by the per-resource planners: which policy selected, reported or kept each
 * object. The first policy (file order, then list order) that matches an object decides its
 * fate — remove, report or keep — and later policies do not look at it again.
 * Entries are kept per resource and keyed by ID alone: this is the planner's hottest path.
 */
import type { Kept, ResourceKind } from '../model/plan.js';

export type Decision = { kind: 'no-match' } | { kind: 'keep'; reason: string } | { kind: 'select'; reason: string };

export const noMatch: Decision = { kind: 'no-match' };

export interface Subject {
  readonly id: string;
  readonly name: string;
}

/** A selection or report before the plan adds what it frees, and for images what they carry. */
export interface Draft<R extends ResourceKind = ResourceKind> {
  readonly resource: R;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  readonly reason: string;
}

/**
 * Everything decided about one kind of resource. One object per kind, reached through a
 * switch on the kind: field loads the engine can inline, where indexing a record by a
 * variable key was the most expensive step of the hottest check.
 */
class Book {
  readonly selected = new Map<string, Draft>();
  readonly reported = new Map<string, Draft>();
  readonly kept = new Map<string, Kept>();
  /** Decided by some policy: one lookup for the hot `taken` check. */
  readonly taken = new Set<string>();
}

const RESOURCES: readonly ResourceKind[] = ['container', 'image', 'volume', 'network', 'buildCache'];

export class Ledger {
  private readonly containers = new Book();
  private readonly images = new Book();
  private readonly volumes = new Book();
  private readonly networks = new Book();
  private readonly buildCache = new Book();

  private book(resource: ResourceKind): Book {
    switch (resource) {
      case 'container':
        return this.containers;
      case 'image':
        return this.images;
      case 'volume':
        return this.volumes;
      case 'network':
        return this.networks;
      case 'buildCache':
        return this.buildCache;
    }
  }

  /** True when an earlier policy already decided about the object; later ones skip it. */
  taken(resource: ResourceKind, id: string): boolean {
    return this.book(resource).taken.has(id);
  }

  /**
   * Applies one policy's decision about one object, unless an earlier policy already took it.
   * `subject` is called only for a match, so names are built only for objects that need one.
   */
  record(
    resource: ResourceKind,
    policy: { name: string; action?: 'remove' | 'report' },
    id: string,
    decision: Decision,
    subject: () => Subject,
  ): void {
    const d = decision;
    if (d.kind === 'no-match') return;
    const book = this.book(resource);
    if (book.taken.has(id)) return;
    const { name } = subject();
    const base = { resource, id, name, policy: policy.name, reason: d.reason };
    // The first policy that matches decides; a keep shields the object from later policies.
    if (d.kind === 'keep') book.kept.set(id, base);
    else if (policy.action === 'report') book.reported.set(id, base);
    else book.selected.set(id, base);
    book.taken.add(id);
  }

  isSelected(resource: ResourceKind, id: string): boolean {
    return this.book(resource).selected.has(id);
  }

  /** The policy that selected the object for removal, if any. */
  selectedBy(resource: ResourceKind, id: string): string | undefined {
    return this.book(resource).selected.get(id)?.policy;
  }

  /** Takes a selected object back (the engine would refuse it) and records why it stays. */
  unselect(resource: ResourceKind, id: string, reason: string): void {
    const book = this.book(resource);
    const draft = book.selected.get(id);
    if (!draft) return;
    book.selected.delete(id);
    book.taken.delete(id);
    book.kept.set(id, { resource, id, name: draft.name, policy: draft.policy, reason });
  }

  /**
   * Forgets what a policy recorded about an object the plan removes after all: an untagged
   * parent that goes with its last child, which a later policy had reported or kept as it was
   * while it still had that child. The plan must not both remove and report it.
   */
  supersede(resource: ResourceKind, id: string): void {
    const book = this.book(resource);
    book.reported.delete(id);
    book.kept.delete(id);
  }

  // Every entry of a book was recorded with the book's own resource (see record), so the
  // drafts of `resource` are Draft<R>; the books themselves stay untyped by kind because
  // `book` is the hottest call of the planner.
  selectedOf<R extends ResourceKind>(resource: R): Draft<R>[] {
    return [...this.book(resource).selected.values()] as Draft<R>[];
  }

  reportedOf<R extends ResourceKind>(resource: R): Draft<R>[] {
    return [...this.book(resource).reported.values()] as Draft<R>[];
  }

  /**
   * Kept objects, leaving out any that another policy selected or reported after all. Ordered
   * by resource, then ID, so the output never depends on the order the engine listed things.
   */
  kept(): Kept[] {
    return RESOURCES.flatMap((r) => {
      const book = this.book(r);
      return [...book.kept.values()]
        .filter((k) => !book.selected.has(k.id) && !book.reported.has(k.id))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }
}
