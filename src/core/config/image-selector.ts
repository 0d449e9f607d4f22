/**
 * The entries of `protect.images`: an image pinned by reference (`postgres:16`), by a glob over
 * repository and tag (`registry.example.com/base/*:*`), by repository digest
 * (`postgres@sha256:…`) or by image ID or ID prefix (`sha256:4f1c2a9b0e7d`). Parsed when the
 * configuration is checked (the schema's `image-selector` format, which reports the reason) and
 * once more when it is compiled; the planner only runs the compiled tests.
 */
import { compileGlob } from '../../lib/glob.js';
import { parseReference } from '../../lib/reference.js';

/**
 * The shortest ID prefix accepted: the 12 hex digits `docker images` prints. Fewer could match
 * images nobody meant to pin, and nobody would notice that they are never removed.
 */
export const MIN_ID_PREFIX = 12;

export type ImageSelector =
  /** `sha256:` and 12 to 64 hex digits: every image whose ID starts with it; with all 64, also the image carrying it as a repository digest. */
  | { readonly kind: 'id'; readonly text: string; readonly prefix: string }
  /** `repo@sha256:…`: the image carrying that repository digest; `reference` is in the engine's short form. */
  | { readonly kind: 'digest'; readonly text: string; readonly reference: string }
  /** `repo:tag`, either part a glob: every image with a tag that both parts match. */
  | {
      readonly kind: 'tag';
      readonly text: string;
      readonly repository: (repository: string) => boolean;
      readonly tag: (tag: string) => boolean;
    };

export type ParsedImageSelector =
  { readonly ok: true; readonly selector: ImageSelector } | { readonly ok: false; readonly reason: string };

const HEX = /^[0-9a-f]*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses one `protect.images` entry, or says in words why it is not one. */
export function parseImageSelector(text: string): ParsedImageSelector {
  const fail = (reason: string): ParsedImageSelector => ({ ok: false, reason });
  if (text === '') return fail('the entry is empty');
  if (text.startsWith('sha256:')) {
    const hex = text.slice('sha256:'.length);
    if (!HEX.test(hex)) return fail('"sha256:" starts an image ID, which continues with lowercase hex digits only');
    if (hex.length < MIN_ID_PREFIX)
      return fail(
        `an image ID prefix needs at least ${MIN_ID_PREFIX} hex digits, as docker images shows it, got ${hex.length}: a shorter one could pin images it was not meant for`,
      );
    if (hex.length > 64) return fail(`an image ID has 64 hex digits, got ${hex.length}`);
    return { ok: true, selector: { kind: 'id', text, prefix: text } };
  }
  // `docker images -q` prints bare short IDs; as a reference the same text would name a
  // repository, so the entry must say which it means.
  if (text.length >= MIN_ID_PREFIX && text.length <= 64 && HEX.test(text))
    return fail(`it looks like an image ID: write it as "sha256:${text}", or "${text}:latest" for a repository`);
  const at = text.indexOf('@');
  if (at >= 0) {
    const name = text.slice(0, at);
    const digest = text.slice(at + 1);
    if (name === '') return fail('the repository before "@" is empty');
    if (!DIGEST.test(digest)) return fail('a digest after "@" is "sha256:" and 64 lowercase hex digits');
    if (/[*?[\\]/.test(name)) return fail('an entry with a digest names one repository: no glob before "@"');
    // A tag beside the digest is ignored, as `docker pull` ignores it: the digest decides.
    return { ok: true, selector: { kind: 'digest', text, reference: `${parseReference(name).repository}@${digest}` } };
  }
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  if (colon <= slash)
    return fail(
      `it names no tag: write "${text}:latest" for that tag, or "${text}:*" for every tag; protect.repositories also covers its untagged, pulled-by-digest images`,
    );
  if (colon === 0) return fail('the repository before ":" is empty');
  if (colon === text.length - 1) return fail('the tag after ":" is empty');
  // The engine lists `docker.io/library/postgres` as `postgres`; entries are read the same way.
  const { repository, tag } = parseReference(text);
  const repo = compileGlob(repository);
  if (!repo.ok) return fail(`the repository "${repository}" is not a glob: ${repo.reason}`);
  const tagGlob = compileGlob(tag ?? '');
  if (!tagGlob.ok) return fail(`the tag "${tag ?? ''}" is not a glob: ${tagGlob.reason}`);
  return { ok: true, selector: { kind: 'tag', text, repository: repo.match, tag: tagGlob.match } };
}

/** The reason `parseImageSelector` gives, or undefined for a valid entry: for validation messages. */
export function imageSelectorReason(text: string): string | undefined {
  const r = parseImageSelector(text);
  return r.ok ? undefined : r.reason;
}

/**
 * A name glob for containers and volumes, whose names never hold a `/`: the Engine API writes
 * container names with a leading `/`, which is not part of the name `docker ps` shows and that
 * reclaimd matches, so an entry with a `/` would silently never match.
 */
export function nameGlobReason(text: string): string | undefined {
  const glob = compileGlob(text);
  if (!glob.ok) return glob.reason;
  if (text.includes('/'))
    return 'names never contain "/": the "/" the Engine API puts before a container\'s name is not part of it';
  return undefined;
}
