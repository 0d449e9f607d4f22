/** How plans and cycle reports look: JSON for programs, aligned text for people. */
import type { Action, ByteRange, Plan } from '../core/model/plan.js';
import { formatBytes } from '../lib/units.js';
import type { CycleReport } from '../runtime/cycle/sweep.js';
import { pressureLines } from './render-pressure.js';

// Said once under a plan with estimated bytes: why they are estimates and how close.
const ESTIMATE_NOTE =
  '  ~: an estimate (containerd image store: the engine does not size layer blobs shared between images); the true figure lies in the range shown, and `once` measures it';

/** The `plan --json` contract. */
export function planJson(plan: Plan, mode: string): unknown {
  return {
    mode,
    actions: plan.actions.map(actionJson),
    reported: plan.reported.map(actionJson),
    kept: plan.kept.map((k) => ({ resource: k.resource, id: k.id, name: k.name, policy: k.policy, reason: k.reason })),
    totals: plan.totals,
    blocked: plan.blocked ?? null,
    ...(plan.pressure ? { pressure: plan.pressure } : {}),
  };
}

/** The `once --json` report: the plan plus what the engine did. */
export function reportJson(report: CycleReport): unknown {
  const plan = planJson(report.plan, report.mode) as Record<string, unknown>;
  return {
    ...plan,
    removed: report.removed,
    skipped: report.skipped,
    inDoubt: report.inDoubt.map(({ resource, id, name, policy, message }) => ({ resource, id, name, policy, message })),
    reclaimed: {
      count: report.removed.length,
      bytes: report.reclaimedBytes,
      ...(report.unknownBytes > 0 ? { unknown: report.unknownBytes } : {}),
    },
    ...(report.imageMeasurement ? { imageMeasurement: report.imageMeasurement } : {}),
    interrupted: report.interrupted ?? null,
  };
}

function actionJson(a: Action): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resource: a.resource,
    id: a.id,
    name: a.name,
    policy: a.policy,
    reason: a.reason,
    bytes: a.bytes,
  };
  if (a.resource === 'image') {
    if (a.bytesRange) out['bytesRange'] = a.bytesRange;
    if (a.tags && a.tags.length > 1) out['tags'] = a.tags;
    if (a.dependsOn) out['dependsOn'] = a.dependsOn;
    if (a.archive) out['archive'] = a.archive;
  } else if (a.resource === 'buildCache') {
    if (a.bytesRange) out['bytesRange'] = a.bytesRange;
    out['prune'] = a.prune;
  }
  return out;
}

/** The span an estimate lies in: only images and build-cache prunes have one. */
function rangeOf(a: Action): ByteRange | undefined {
  return a.resource === 'image' || a.resource === 'buildCache' ? a.bytesRange : undefined;
}

function bytes(b: number | null, range?: ByteRange): string {
  if (b === null) return 'unknown';
  // An estimate shows the span the true figure is certain to lie in.
  return range ? `~${formatBytes(b)} (${formatBytes(range.low)}-${formatBytes(range.high)})` : formatBytes(b);
}

/** A plan's total: known bytes, the span where estimates are involved, how many are unknown. */
function totalText(totals: Plan['totals']): string {
  const unknown = totals.unknown ? ` (and ${totals.unknown} of unknown size)` : '';
  return `${bytes(totals.bytes, totals.range)}${unknown}`;
}

function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
}

export function planText(plan: Plan, mode: string): string {
  const lines: string[] = [];
  const verb = mode === 'enforce' ? 'Will remove' : 'Would remove';
  lines.push(`${verb} ${plan.totals.count} object(s), freeing ${totalText(plan.totals)} (mode: ${mode})`);
  if (plan.blocked) lines.push(`BLOCKED: ${plan.blocked}`);
  lines.push(...table(plan.actions.map((a) => [a.resource, a.policy, a.name, bytes(a.bytes, rangeOf(a)), a.reason])));
  if (plan.totals.range) lines.push(ESTIMATE_NOTE);
  const archived = plan.actions.flatMap((a) =>
    a.resource === 'image' && a.archive !== undefined ? [{ ...a, archive: a.archive }] : [],
  );
  if (archived.length > 0) {
    const about = archived.reduce((sum, a) => sum + a.archive.estimatedBytes, 0);
    lines.push(
      `${mode === 'enforce' ? 'Will archive' : 'Would archive'} ${archived.length} image(s) first (docker save), about ${formatBytes(about)} (estimate: image sizes):`,
    );
    lines.push(
      ...table(
        archived.map((a) => [a.policy, a.name, `~${formatBytes(a.archive.estimatedBytes)}`, `to ${a.archive.dir}`]),
      ),
    );
  }
  if (plan.reported.length > 0) {
    lines.push(`Reported only (action: report), ${plan.reported.length}:`);
    lines.push(...table(plan.reported.map((a) => [a.resource, a.policy, a.name, bytes(a.bytes), a.reason])));
  }
  if (plan.kept.length > 0) {
    lines.push(`Kept ${plan.kept.length} object(s) that a policy matched:`);
    lines.push(...table(plan.kept.map((k) => [k.resource, k.policy, k.name, k.reason])));
  }
  if (plan.pressure) lines.push('Pressure:', ...pressureLines(plan.pressure));
  return lines.join('\n');
}

export function reportText(report: CycleReport): string {
  if (report.mode === 'dry-run') return planText(report.plan, report.mode);
  const unknown = report.unknownBytes > 0 ? ` and ${report.unknownBytes} of unknown size` : '';
  const lines = [
    `Removed ${report.removed.length} object(s), freed ${formatBytes(report.reclaimedBytes)}${unknown} (predicted ${totalText(report.plan.totals)})`,
  ];
  const m = report.imageMeasurement;
  if (m)
    lines.push(
      `The engine's image disk usage fell by ${formatBytes(m.before - m.after)}${m.settled ? ', which settled the estimated image bytes' : `, outside what the image removals can free (${formatBytes(m.range.low)}-${formatBytes(m.range.high)}): their bytes are unknown`}`,
    );
  if (report.plan.blocked) lines.push(`BLOCKED: ${report.plan.blocked}`);
  lines.push(
    ...table(
      report.removed.map((r) => [
        r.resource,
        r.policy,
        r.name,
        bytes(r.bytes),
        ...(r.archived ? [`archived to ${r.archived.path} (${formatBytes(r.archived.bytes)})`] : []),
      ]),
    ),
  );
  if (report.skipped.length > 0) {
    lines.push(`Skipped ${report.skipped.length}:`);
    lines.push(...table(report.skipped.map((s) => [s.resource, s.policy, s.name, s.reason, s.message])));
  }
  if (report.interrupted) lines.push(`Stopped early: ${report.interrupted}`);
  if (report.plan.pressure) lines.push('Pressure (as planned):', ...pressureLines(report.plan.pressure));
  return lines.join('\n');
}
