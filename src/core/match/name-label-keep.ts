/** `keep` by name glob or label, as containers, volumes and networks have it. */
import type { Labels } from '../../lib/labels.js';
import type { NameLabelKeep } from '../config/compiled-policy.js';
import type { Decision } from '../planner/ledger.js';

/** Whether, and why, a policy's compiled `keep: { names, labels }` keeps an object. */
export function nameLabelKeep(keep: NameLabelKeep): (name: string, labels: Labels) => Decision | undefined {
  return (name, labels) => {
    if (keep.names?.matches(name)) return { kind: 'keep', reason: 'keep.names matches its name' };
    const kl = keep.labels.firstHeld(labels);
    return kl ? { kind: 'keep', reason: `keep.labels "${kl}"` } : undefined;
  };
}
