/**
 * Which policy files the daemon loaded and which policies they hold, logged at start and
 * whenever that changes, so a policy nobody meant to load (a stray file a glob picked up, a
 * copy left beside the original) shows in the log the moment it takes effect.
 */
import type { Config } from '../core/config/config.js';
import type { Logger } from './logger.js';

export interface PolicySet {
  /** The files that hold the policies, in evaluation order. */
  readonly files: readonly string[];
  /** The policy names, in evaluation order. */
  readonly policies: readonly string[];
}

export function policySet(config: Config): PolicySet {
  return {
    files: [...new Set(config.policies.map((p) => p.source.file))],
    policies: config.policies.map((p) => p.name),
  };
}

/** Logs the policy set when it differs from the one it logged last. */
export class PolicySetLog {
  private last = '';

  constructor(private readonly log: Logger) {}

  note(config: Config): void {
    const set = policySet(config);
    const key = JSON.stringify(set);
    if (key === this.last) return;
    this.last = key;
    this.log.info({ files: set.files, policies: set.policies, count: set.policies.length }, 'policies loaded');
  }
}
