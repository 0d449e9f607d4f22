/**
 * Globs and label selectors, compiled once when the configuration is loaded. Each keeps the
 * text it was written as (for reasons and for comparing configurations) beside the compiled
 * test, which lives in a private field: two configurations read from the same files are equal
 * field by field, and the planner never parses a pattern again.
 */
import { anyGlob } from '../../lib/glob.js';
import { allLabels, firstLabel, type Labels } from '../../lib/labels.js';
import { canonicalReference } from '../../lib/reference.js';
import { parseImageSelector, type ImageSelector } from './image-selector.js';

/** A list of globs; a name matches when any of them does. */
export class GlobList {
  readonly patterns: readonly string[];
  readonly #test: (name: string) => boolean;
  // One test per pattern, made on the first call of firstMatching: only reasons need them.
  #each: ReadonlyArray<(name: string) => boolean> | undefined;

  readonly #written: readonly string[];

  /** `written`: the entries as the operator wrote them, when `patterns` is a rewriting of them. */
  constructor(patterns: readonly string[], written: readonly string[] = patterns) {
    this.patterns = patterns;
    this.#written = written;
    this.#test = anyGlob(patterns);
  }

  /** Whether any of the globs matches `name`. */
  matches(name: string): boolean {
    return this.#test(name);
  }

  /** The first glob, in the order written, that matches `name`: what a reason names. */
  firstMatching(name: string): string | undefined {
    if (this.patterns.length === 0 || !this.#test(name)) return undefined;
    this.#each ??= this.patterns.map((p) => anyGlob([p]));
    const i = this.#each.findIndex((test) => test(name));
    return i < 0 ? undefined : this.#written[i];
  }
}

/** What `protect.images` looks at in an image (src/core/match/protect.ts fills it from an ImageObj). */
export interface ImageNames {
  readonly id: string;
  /** Its tags as written (`repo:tag`) and split into repository and tag, in the same order. */
  readonly tags: readonly string[];
  readonly references: ReadonlyArray<{ readonly repository: string; readonly tag: string }>;
  /** Repository digests, `repo@sha256:…`. */
  readonly digests: readonly string[];
}

/** `protect.images`, compiled: the entries as written, and which of them an image meets. */
export class ImageSelectors {
  readonly texts: readonly string[];
  readonly #selectors: readonly ImageSelector[];

  constructor(texts: readonly string[]) {
    this.texts = texts;
    this.#selectors = texts.map((text) => {
      const r = parseImageSelector(text);
      if (!r.ok) throw new Error(`invalid protect.images entry "${text}": ${r.reason}`);
      return r.selector;
    });
  }

  /**
   * The first entry, in the order written, that the image meets, and the name of the image it
   * met (a tag, a digest or the ID); undefined when none does.
   */
  firstMatching(image: ImageNames): { readonly entry: string; readonly matched: string } | undefined {
    for (const s of this.#selectors) {
      const matched = selectorMatch(s, image);
      if (matched !== undefined) return { entry: s.text, matched };
    }
    return undefined;
  }
}

/** `sha256:` and 64 hex digits. */
const FULL_DIGEST = 'sha256:'.length + 64;

function selectorMatch(s: ImageSelector, image: ImageNames): string | undefined {
  switch (s.kind) {
    case 'id':
      if (image.id.startsWith(s.prefix)) return image.id;
      // A full digest may be pasted from RepoDigests or `docker pull`: on the classic store that
      // is not the image ID, and the entry would protect nothing. Reading it as a repository
      // digest too only ever protects more.
      return s.prefix.length === FULL_DIGEST ? image.digests.find((d) => d.endsWith(`@${s.prefix}`)) : undefined;
    case 'digest':
      return image.digests.find((d) => canonicalReference(d) === s.reference);
    case 'tag': {
      const i = image.references.findIndex((r) => s.repository(r.repository) && s.tag(r.tag));
      return i < 0 ? undefined : image.tags[i];
    }
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
