/** Image references as people and the engine write them, taken apart and put in one form. */

/** A reference taken apart: repository in the docker CLI's short form, and tag and/or digest. */
export interface ParsedReference {
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** An image ID, with or without the `sha256:` prefix. */
export const IMAGE_ID = /^(sha256:)?([0-9a-f]{64})$/;

/**
 * Parses `registry:5000/ci/app:1@sha256:…`. The repository is put in the short form the engine
 * uses in RepoTags and RepoDigests (`docker.io/library/busybox` → `busybox`), since a service
 * spec may carry the long form. With neither tag nor digest, the tag is `latest`, as for `docker run`.
 */
export function parseReference(ref: string): ParsedReference {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = shortForm(hasTag ? name.slice(0, colon) : name);
  const tag = hasTag ? name.slice(colon + 1) : digest === undefined ? 'latest' : undefined;
  return { repository, tag, digest };
}

/** A repository (or a glob over them) in the engine's short form: `docker.io/library/x` → `x`. */
export function shortForm(repository: string): string {
  const r = repository.replace(/^(docker\.io|index\.docker\.io)\//, '');
  return r.startsWith('library/') && r.indexOf('/', 'library/'.length) < 0 ? r.slice('library/'.length) : r;
}

/**
 * One spelling for references that name the same thing: `busybox`, `busybox:latest` and
 * `docker.io/library/busybox:latest` all become `busybox:latest`. Image IDs stay as they are.
 */
export function canonicalReference(ref: string): string {
  if (IMAGE_ID.test(ref)) return ref;
  const p = parseReference(ref);
  return `${p.repository}${p.tag !== undefined ? `:${p.tag}` : ''}${p.digest !== undefined ? `@${p.digest}` : ''}`;
}
