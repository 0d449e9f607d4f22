/**
 * Whether a network meets a network policy's `match`, condition by condition: the planner asks
 * whether, and the words of a failure are there for anyone who asks why not.
 */
import type { CompiledNetworkPolicy } from '../config/compiled-policy.js';
import type { NetworkObj } from '../model/snapshot.js';
import { formatDuration } from '../../lib/units.js';
import { age } from './miss-text.js';

type Miss = 'created-unknown' | 'too-young' | 'name' | 'labels' | 'driver';

export interface NetworkMatcher {
  /** Every condition: null when one fails, otherwise the parts of the reason it matches. */
  test(n: NetworkObj): string[] | null;
  /** The first condition that fails, in the order the planner checks them; undefined when all hold. */
  whyNot(n: NetworkObj): string | undefined;
}

/** The matcher of one policy for one plan. */
export function networkMatcher(policy: CompiledNetworkPolicy, now: number): NetworkMatcher {
  const m = policy.match;
  const check = (n: NetworkObj): Miss | undefined => {
    if (m.olderThan !== undefined) {
      if (n.created === undefined) return 'created-unknown';
      if (now - n.created < m.olderThan.ms) return 'too-young';
    }
    if (m.names && !m.names.matches(n.name)) return 'name';
    if (m.labels && !m.labels.allHold(n.labels)) return 'labels';
    if (m.drivers && !m.drivers.includes(n.driver)) return 'driver';
    return undefined;
  };
  const words = (miss: Miss, n: NetworkObj): string => {
    switch (miss) {
      case 'created-unknown':
        return 'its creation time is unknown, so olderThan cannot hold';
      case 'too-young':
        return `created ${age(now, n.created ?? now)} ago, not longer than olderThan ${m.olderThan?.text ?? ''}`;
      case 'name':
        return 'its name does not match match.names';
      case 'labels':
        return `label selector "${m.labels?.firstFailing(n.labels) ?? ''}" does not hold`;
      case 'driver':
        return `driver ${n.driver} is not one of match.drivers (${(m.drivers ?? []).join(', ')})`;
    }
  };
  return {
    test(n) {
      if (check(n) !== undefined) return null;
      const reasons: string[] = [];
      if (m.olderThan !== undefined && n.created !== undefined)
        reasons.push(`created ${formatDuration(now - n.created)} ago (olderThan ${m.olderThan.text})`);
      if (m.names) reasons.push('name matches');
      if (m.labels) reasons.push(`labels ${m.labels.texts.join(', ')} hold`);
      if (m.drivers) reasons.push(`driver ${n.driver}`);
      return reasons;
    },
    whyNot(n) {
      const miss = check(n);
      return miss === undefined ? undefined : words(miss, n);
    },
  };
}
