/** How `reclaimd explain` looks: JSON for programs, a short report for people. */
import type { Explanation } from '../core/explain/explain.js';
import { formatBytes, formatDuration } from '../lib/units.js';

/** The `explain --json` contract: the explanation as it is, plus the mode and the time of asking. */
export function explainJson(e: Explanation, mode: string, now: number): unknown {
  // lastUsed: an ISO time, or null when unknown (no last-use data, or none recorded for it).
  return {
    mode,
    now: new Date(now).toISOString(),
    ...e,
    lastUsed: typeof e.lastUsed === 'number' ? new Date(e.lastUsed).toISOString() : null,
  };
}

const DECISION: Record<string, string> = {
  select: 'selects',
  report: 'reports',
  keep: 'keeps',
  'no-match': 'no match',
};

/** The text report: the object, the facts the policies look at, each policy's view, the verdict. */
export function explainText(e: Explanation, mode: string, now: number): string {
  const lines = [`${e.resource} ${e.name} (${e.id})`, `  ${e.summary}`];
  lines.push(`  protected: ${e.protectedBy ?? 'no'}`);
  if (e.resource !== 'container') {
    const users = e.usedBy.map((u) => `${u.container} (${u.state}${u.removedByPlan ? ', removed by this plan' : ''})`);
    lines.push(
      `  ${e.resource === 'image' ? 'used by' : 'mounted by'}: ${users.length > 0 ? users.join(', ') : 'no container'}`,
    );
    const last =
      e.lastUsed === null
        ? 'unknown (no last-use data)'
        : e.lastUsed === undefined
          ? 'never seen in use'
          : `${formatDuration(Math.max(0, now - e.lastUsed))} ago (${new Date(e.lastUsed).toISOString()})`;
    lines.push(`  last used: ${last}`);
  }
  if (e.policies.length === 0) {
    lines.push(`No ${e.resource} policy looks at it.`);
  } else {
    lines.push('Policies, in evaluation order (the first that matches decides):');
    const rows = e.policies.map((p) => [
      p.policy,
      `${p.file}:${p.line}`,
      DECISION[p.decision] ?? p.decision,
      `${p.reason}${p.decides ? '   <- decides' : ''}`,
    ]);
    const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
    lines.push(
      ...rows.map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')),
    );
  }
  lines.push(verdictLine(e, mode));
  if (e.blocked !== undefined && e.verdict.outcome === 'remove') lines.push(`  but the plan is blocked: ${e.blocked}`);
  return lines.join('\n');
}

function verdictLine(e: Explanation, mode: string): string {
  const v = e.verdict;
  const by = v.policy ? ` by ${v.policy}` : '';
  switch (v.outcome) {
    case 'remove': {
      const verb = mode === 'enforce' ? 'will be removed' : `would be removed in enforce mode (mode: ${mode})`;
      const archive = v.archive
        ? `; archived first to ${v.archive.dir} (about ${formatBytes(v.archive.estimatedBytes)}, estimate)`
        : '';
      return `Verdict: ${verb}${by}: ${v.reason}${archive}`;
    }
    case 'report':
      return `Verdict: reported only${by} (action: report), never removed: ${v.reason}`;
    case 'keep':
      return `Verdict: kept${by}: ${v.reason}`;
    case 'none':
      return `Verdict: kept: ${v.reason}`;
  }
}
