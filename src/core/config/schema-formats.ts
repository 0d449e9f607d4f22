/**
 * The string formats the schema names (`format: glob` and friends), as ajv checks them. One
 * object shared by the validator generator and the generated validators, so both agree.
 */
import { compileGlob } from '../../lib/glob.js';
import { parseLabelSelector } from '../../lib/labels.js';

/** Format name to check; `true` accepts any string (cron is checked in the second phase, by checkConfigText, where the message can say what is wrong). */
export const formats = {
  glob: (s: string): boolean => compileGlob(s).ok,
  'label-selector': (s: string): boolean => typeof parseLabelSelector(s) !== 'string',
  cron: true,
} as const;
