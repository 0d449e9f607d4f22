/**
 * Globs and label selectors, compiled once when the configuration is loaded. Each keeps the
 * text it was written as (for reasons and for comparing configurations) beside the compiled
 * test, which lives in a private field: two configurations read from the same files are equal
 * field by field, and the planner never parses a pattern again.
 */
import { anyGlob } from '../../lib/glob.js';
import { allLabels, firstLabel, type Labels } from '../../lib/labels.js';

/** A list of globs; a name matches when any of them does. */
export class GlobList {
  readonly patterns: readonly string[];
  readonly #test: (name: string) => boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#test = anyGlob(patterns);
  }

  /** Whether any of the globs matches `name`. */
  matches(name: string): boolean {
    return this.#test(name);
  }
}

/** A list of label selectors (`key`, `key=value`, `!key`). */
export class LabelSelectors {
  readonly texts: readonly string[];
  readonly #all: (labels: Labels) => boolean;
  readonly #first: (labels: Labels) => string | undefined;
  readonly #each: readonly ((labels: Labels) => boolean)[];

  constructor(texts: readonly string[]) {
    this.texts = texts;
    this.#all = allLabels(texts);
    this.#first = firstLabel(texts);
    this.#each = texts.map((t) => allLabels([t]));
  }

  /** Every selector holds (an empty list holds): `match.labels`. */
  allHold(labels: Labels): boolean {
    return this.#all(labels);
  }

  /** The first selector that holds, if any: `keep.labels` and `protect.labels`. */
  firstHeld(labels: Labels): string | undefined {
    return this.#first(labels);
  }

  /** The first selector that does not hold, if any: why `match.labels` fails. */
  firstFailing(labels: Labels): string | undefined {
    const i = this.#each.findIndex((holds) => !holds(labels));
    return i < 0 ? undefined : this.texts[i];
  }
}

/** A duration as written and in milliseconds. */
export interface Span {
  readonly text: string;
  readonly ms: number;
}
