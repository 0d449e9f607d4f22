/**
 * The string formats the schema names (`format: glob` and friends), as ajv checks them. One
 * object shared by the validator generator and the generated validators, so both agree.
 */
import { compileGlob } from '../../lib/glob.js';
import { parseLabelSelector } from '../../lib/labels.js';
import { imageSelectorReason, nameGlobReason } from './image-selector.js';

/** Format name to check; `true` accepts any string (cron is checked in the second phase, by checkConfigText, where the message can say what is wrong). */
export const formats = {
  glob: (s: string): boolean => compileGlob(s).ok,
  'name-glob': (s: string): boolean => nameGlobReason(s) === undefined,
  'image-selector': (s: string): boolean => imageSelectorReason(s) === undefined,
  'label-selector': (s: string): boolean => typeof parseLabelSelector(s) !== 'string',
  cron: true,
} as const;

/**
 * Why a string fails its format, in words, for the formats that can say more than the
 * schema's `x-expected` phrase: validation messages append it in parentheses.
 */
export const formatReasons: Readonly<Record<string, (s: string) => string | undefined>> = {
  glob: (s) => {
    const r = compileGlob(s);
    return r.ok ? undefined : r.reason;
  },
  'name-glob': nameGlobReason,
  'image-selector': imageSelectorReason,
};
