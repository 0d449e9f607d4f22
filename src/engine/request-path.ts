/**
 * Names and IDs put into request paths. dockerode joins them into the path as they are, so a
 * name holding `?`, `#`, `%`, `..` or a space would change which request is made. IDs the
 * engine lists are held to their exact form by answer-schemas.ts; everything else (a volume
 * name, a reference from an event, a tag) goes through here.
 */

/**
 * `value` as one path element: percent-encoded, except the `/`, `:` and `@` of image
 * references, which the engine's router takes as they are (its image routes match `{name:.*}`).
 * A reference made of reference characters only thus goes out unchanged.
 */
export function inPath(value: string): string {
  if (
    value === '' ||
    value === '.' ||
    value === '..' ||
    value.split('/').some((part) => part === '.' || part === '..')
  ) {
    throw new Error(`not a name reclaimd puts into a request path: ${JSON.stringify(value)}`);
  }
  return encodeURIComponent(value).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@');
}
