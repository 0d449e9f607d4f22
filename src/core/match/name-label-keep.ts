/** `keep` by name glob or label, as containers and volumes have it. */
import type { Labels } from '../../lib/labels.js';
import { firstLabel } from '../../lib/labels.js';
import { anyGlob } from '../../lib/glob.js';
import type { Decision } from '../planner/ledger.js';

/** Compiles a policy's `keep: { names, labels }` once; the result says whether, and why, it keeps. */
export function nameLabelKeep(
  keep: { names?: string[]; labels?: string[] } | undefined,
): (name: string, labels: Labels) => Decision | undefined {
  const keepName = keep?.names ? anyGlob(keep.names) : undefined;
  const keepLabel = firstLabel(keep?.labels ?? []);
  return (name, labels) => {
    if (keepName?.(name)) return { kind: 'keep', reason: 'keep.names matches its name' };
    const kl = keepLabel(labels);
    return kl ? { kind: 'keep', reason: `keep.labels "${kl}"` } : undefined;
  };
}
