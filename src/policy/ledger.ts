/**
 * Bookkeeping shared by the per-resource planners: which policy selected, reported or kept each
 * object. The first policy (file order, then list order) that matches an object decides its
 * fate — remove, report or keep — and later policies do not look at it again.
 * Entries are kept per resource and keyed by ID alone: this is the planner's hottest path.
 */
import type { Action, Kept, ResourceKind } from './plan-types.js';

export type Decision = { kind: 'no-match' } | { kind: 'keep'; reason: string } | { kind: 'select'; reason: string };

export const noMatch: Decision = { kind: 'no-match' };

export interface Subject {
  readonly id: string;
  readonly name: string;
}

export type Draft = Omit<Action, 'bytes'>;

type ByResource<T> = Record<ResourceKind, Map<string, T>>;
const byResource = <T>(): ByResource<T> => ({ container: new Map(), image: new Map(), volume: new Map(), network: new Map(), buildCache: new Map() });
const RESOURCES: readonly ResourceKind[] = ['container', 'image', 'volume', 'network', 'buildCache'];

export class Ledger {
  private readonly selected = byResource<Draft>();
  private readonly reported = byResource<Draft>();
  private readonly keptById = byResource<Kept>();
  /** Decided by some policy: one lookup for the hot `taken` check. */
  private readonly takenIds: Record<ResourceKind, Set<string>> = { container: new Set(), image: new Set(), volume: new Set(), network: new Set(), buildCache: new Set() };

  /** True when an earlier policy already decided about the object; later ones skip it. */
  taken(resource: ResourceKind, id: string): boolean {
    return this.takenIds[resource].has(id);
  }

  /**
   * Applies one policy's decision about one object, unless an earlier policy already took it.
   * `subject` is called only for a match, so names are built only for objects that need one.
   */
  record(resource: ResourceKind, policy: { name: string; action?: 'remove' | 'report' }, id: string, decision: Decision, subject: () => Subject): void {
    const d = decision;
    if (d.kind === 'no-match' || this.taken(resource, id)) return;
    const { name } = subject();
    const base = { resource, id, name, policy: policy.name, reason: d.reason };
    if (d.kind === 'keep') {
      // The first policy that matches decides; a keep shields the object from later policies.
      this.keptById[resource].set(id, base);
      this.takenIds[resource].add(id);
    } else if (policy.action === 'report') {
      this.reported[resource].set(id, base);
      this.takenIds[resource].add(id);
    } else {
      this.selected[resource].set(id, base);
      this.takenIds[resource].add(id);
    }
  }

  isSelected(resource: ResourceKind, id: string): boolean {
    return this.selected[resource].has(id);
  }

  /** The policy that selected the object for removal, if any. */
  selectedBy(resource: ResourceKind, id: string): string | undefined {
    return this.selected[resource].get(id)?.policy;
  }

  /** Takes a selected object back (the engine would refuse it) and records why it stays. */
  unselect(resource: ResourceKind, id: string, reason: string): void {
    const draft = this.selected[resource].get(id);
    if (!draft) return;
    this.selected[resource].delete(id);
    this.takenIds[resource].delete(id);
    this.keptById[resource].set(id, { resource, id, name: draft.name, policy: draft.policy, reason });
  }

  selectedOf(resource: ResourceKind): Draft[] {
    return [...this.selected[resource].values()];
  }

  reportedOf(resource: ResourceKind): Draft[] {
    return [...this.reported[resource].values()];
  }

  /**
   * Kept objects, leaving out any that another policy selected or reported after all. Ordered
   * by resource, then ID, so the output never depends on the order the engine listed things.
   */
  kept(): Kept[] {
    return RESOURCES.flatMap((r) =>
      [...this.keptById[r].values()]
        .filter((k) => !this.selected[r].has(k.id) && !this.reported[r].has(k.id))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
  }

  /** IDs of a resource that some policy kept or only reported: never to be auto-pruned. */
  heldBack(resource: ResourceKind): Set<string> {
    const ids = new Set<string>();
    for (const id of this.keptById[resource].keys()) if (!this.selected[resource].has(id)) ids.add(id);
    for (const id of this.reported[resource].keys()) ids.add(id);
    return ids;
  }
}
