/**
 * The `when` / `until` fields of a pressure policy, read into numbers, and the meaning checks
 * the schema cannot express. Pure: shared by config checks and the planner.
 */
import type { ImagePolicy } from './schema.js';
import { parseSize } from '../../lib/units.js';

/** What a pressure condition measures. */
export type PressureMeasure = 'diskUsage' | 'totalSize';

/**
 * A policy's pressure condition, resolved. For `diskUsage` the thresholds are fractions of
 * the file system (0..1); for `totalSize` they are bytes.
 */
export interface PressureRule {
  readonly measure: PressureMeasure;
  /** The policy runs only while the figure is strictly above this. */
  readonly above: number;
  /** It removes until the figure is predicted at or below this (default: `above`). */
  readonly below: number;
  /** The thresholds as written, for reasons and summaries. */
  readonly aboveText: string;
  readonly belowText: string;
}

/** Parses `85%` into 0.85, or undefined when it is not a percentage from 0% to 100%. */
export function parsePercent(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  return value <= 100 ? value / 100 : undefined;
}

type PressureFields = Pick<ImagePolicy, 'when' | 'until'>;

/** The resolved rule of a policy that passed the meaning checks; undefined without `when`. */
export function pressureRule(policy: PressureFields): PressureRule | undefined {
  const when = policy.when;
  if (when === undefined) return undefined;
  if (when.diskUsageAbove !== undefined) {
    const belowText = policy.until?.diskUsageBelow ?? when.diskUsageAbove;
    return {
      measure: 'diskUsage',
      above: parsePercent(when.diskUsageAbove) ?? 1,
      below: parsePercent(belowText) ?? 1,
      aboveText: when.diskUsageAbove,
      belowText,
    };
  }
  if (when.totalSizeAbove !== undefined) {
    const belowText = policy.until?.totalSizeBelow ?? when.totalSizeAbove;
    return {
      measure: 'totalSize',
      above: parseSize(when.totalSizeAbove) ?? Infinity,
      below: parseSize(belowText) ?? Infinity,
      aboveText: when.totalSizeAbove,
      belowText,
    };
  }
  return undefined;
}

/** Combinations the schema allows but that make no sense, with the path they are at. */
export function pressureProblems(policy: PressureFields): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const { when, until } = policy;
  if (when === undefined) {
    if (until !== undefined)
      out.push({
        path: ['until'],
        message: 'until needs a when: it says where a pressure policy stops, and only a policy with when is one',
      });
    return out;
  }
  const whenKeys = Object.keys(when);
  if (whenKeys.length !== 1) {
    out.push({
      path: ['when'],
      message: `expected exactly one of diskUsageAbove or totalSizeAbove, got ${whenKeys.length === 0 ? 'none' : whenKeys.join(' and ')}`,
    });
    return out;
  }
  if (until === undefined) return out;
  const untilKeys = Object.keys(until);
  const partner = when.diskUsageAbove !== undefined ? 'diskUsageBelow' : 'totalSizeBelow';
  if (untilKeys.length !== 1 || untilKeys[0] !== partner) {
    out.push({
      path: ['until'],
      message: `expected only ${partner}, to go with when.${whenKeys[0]}; got ${untilKeys.length === 0 ? 'nothing' : untilKeys.join(' and ')}`,
    });
    return out;
  }
  const rule = pressureRule(policy);
  if (rule && rule.below >= rule.above) {
    out.push({
      path: ['until', partner],
      message: `until.${partner} (${rule.belowText}) must be below when.${whenKeys[0]} (${rule.aboveText}), or the policy could never stop short of its trigger`,
    });
  }
  return out;
}
