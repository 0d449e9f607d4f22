/**
 * Whether a volume meets a volume policy's `match`, condition by condition: the planner asks
 * whether, explain asks why not, and both read the same checks.
 */
import type { CompiledVolumePolicy } from '../config/compiled-policy.js';
import type { Usage, VolumeObj } from '../model/snapshot.js';
import { isAnonymousVolume } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';
import { unusedForMatch } from '../last-use/rule.js';
import { age, unusedMiss } from './miss-text.js';

type Miss = 'anonymous' | 'created-unknown' | 'too-young' | 'name' | 'labels' | 'unused';

export interface VolumeMatcher {
  /**
   * Every condition: null when one fails, otherwise why the volume matches (the reason of a
   * selection, built only when asked for).
   */
  test(v: VolumeObj): (() => string) | null;
  /** The first condition that fails, in the order the planner checks them; undefined when all hold. */
  whyNot(v: VolumeObj): string | undefined;
}

/** The matcher of one policy for one plan (`now`, last use). */
export function volumeMatcher(policy: CompiledVolumePolicy, now: number, usage: Usage | undefined): VolumeMatcher {
  const m = policy.match;
  const check = (v: VolumeObj): Miss | undefined => {
    if (m.anonymous !== undefined && isAnonymousVolume(v) !== m.anonymous) return 'anonymous';
    if (m.olderThan !== undefined) {
      if (v.created === undefined) return 'created-unknown';
      if (now - v.created < m.olderThan.ms) return 'too-young';
    }
    if (m.names && !m.names.matches(v.name)) return 'name';
    if (m.labels && !m.labels.allHold(v.labels)) return 'labels';
    return undefined;
  };
  const unused = (v: VolumeObj): string | undefined =>
    m.unusedFor === undefined
      ? undefined
      : unusedForMatch(usage, 'volumes', v.name, m.unusedFor.text, m.unusedFor.ms, now);

  const words = (miss: Miss, v: VolumeObj): string => {
    switch (miss) {
      case 'anonymous':
        return m.anonymous ? 'is a named volume (match.anonymous: true)' : 'is anonymous (match.anonymous: false)';
      case 'created-unknown':
        return 'its creation time is unknown, so olderThan cannot hold';
      case 'too-young':
        return `created ${age(now, v.created ?? now)} ago, not longer than olderThan ${m.olderThan?.text ?? ''}`;
      case 'name':
        return 'its name does not match match.names';
      case 'labels':
        return `label selector "${m.labels?.firstFailing(v.labels) ?? ''}" does not hold`;
      case 'unused':
        return unusedMiss(usage, 'volumes', v.name, m.unusedFor?.text ?? '', now);
    }
  };

  return {
    test(v) {
      if (check(v) !== undefined) return null;
      const unusedReason = unused(v);
      if (m.unusedFor !== undefined && unusedReason === undefined) return null;
      return () => {
        const reasons: string[] = [];
        if (m.anonymous !== undefined) reasons.push(m.anonymous ? 'anonymous' : 'named');
        if (m.olderThan !== undefined && v.created !== undefined)
          reasons.push(`created ${formatDuration(now - v.created)} ago (olderThan ${m.olderThan.text})`);
        if (m.names) reasons.push('name matches');
        if (m.labels) reasons.push(`labels ${m.labels.texts.join(', ')} hold`);
        if (unusedReason !== undefined) reasons.push(unusedReason);
        return reasons.length > 0 ? reasons.join(', ') : 'unused';
      };
    },
    whyNot(v) {
      const miss = check(v) ?? (m.unusedFor !== undefined && unused(v) === undefined ? 'unused' : undefined);
      return miss === undefined ? undefined : words(miss, v);
    },
  };
}
