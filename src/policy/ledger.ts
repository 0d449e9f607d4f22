/**
 * Bookkeeping shared by the per-resource planners: which policy selected, reported or kept each
 * object. The first policy (file order, then list order) that selects an object is credited.
 */
import type { Action, Kept, ResourceKind } from './plan-types.js';

export type Decision = { kind: 'no-match' } | { kind: 'keep'; reason: string } | { kind: 'select'; reason: string };

export const noMatch: Decision = { kind: 'no-match' };

export interface Subject {
  readonly id: string;
  readonly name: string;
}

type Draft = Omit<Action, 'bytes'>;

export class Ledger {
  readonly selected = new Map<string, Draft>();
  readonly reported = new Map<string, Draft>();
  private readonly keptByKey = new Map<string, Kept>();

  /** Applies one policy's decision about one object, unless an earlier policy already took it. */
  record(resource: ResourceKind, policy: { name: string; action?: 'remove' | 'report' }, subject: Subject, decide: () => Decision): void {
    const key = `${resource}:${subject.id}`;
    if (this.selected.has(key) || this.reported.has(key)) return;
    const d = decide();
    if (d.kind === 'no-match') return;
    const base = { resource, id: subject.id, name: subject.name, policy: policy.name, reason: d.reason };
    if (d.kind === 'keep') {
      if (!this.keptByKey.has(key)) this.keptByKey.set(key, base);
    } else if (policy.action === 'report') {
      this.reported.set(key, base);
    } else {
      this.selected.set(key, base);
    }
  }

  isSelected(resource: ResourceKind, id: string): boolean {
    return this.selected.has(`${resource}:${id}`);
  }

  /** Takes a selected object back (the engine would refuse it) and records why it stays. */
  unselect(resource: ResourceKind, id: string, reason: string): void {
    const key = `${resource}:${id}`;
    const draft = this.selected.get(key);
    if (!draft) return;
    this.selected.delete(key);
    this.keptByKey.set(key, { resource, id, name: draft.name, policy: draft.policy, reason });
  }

  selectedOf(resource: ResourceKind): Draft[] {
    return [...this.selected.values()].filter((d) => d.resource === resource);
  }

  reportedOf(resource: ResourceKind): Draft[] {
    return [...this.reported.values()].filter((d) => d.resource === resource);
  }

  /**
   * Kept objects, leaving out any that another policy selected or reported after all. Ordered
   * by resource, then ID, so the output never depends on the order the engine listed things.
   */
  kept(): Kept[] {
    const rank: Record<ResourceKind, number> = { container: 0, image: 1, volume: 2 };
    return [...this.keptByKey.entries()]
      .filter(([k]) => !this.selected.has(k) && !this.reported.has(k))
      .map(([, v]) => v)
      .sort((a, b) => rank[a.resource] - rank[b.resource] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** IDs of a resource that some policy kept or only reported: never to be auto-pruned. */
  heldBack(resource: ResourceKind): Set<string> {
    const ids = new Set<string>();
    for (const k of this.keptByKey.values()) if (k.resource === resource && !this.selected.has(`${resource}:${k.id}`)) ids.add(k.id);
    for (const r of this.reported.values()) if (r.resource === resource) ids.add(r.id);
    return ids;
  }
}
