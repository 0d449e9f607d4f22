// Names put into request paths: what an engine (or something posing as one) lists must not be
// able to change which request reclaimd makes.
import { describe, expect, it } from 'vitest';
import { inPath } from '../../src/engine/request-path.js';

describe('inPath', () => {
  it('leaves IDs and image references as they are', () => {
    for (const name of [
      `sha256:${'a'.repeat(64)}`,
      'a'.repeat(64),
      'registry.example.com:5000/team/app:1.2',
      'app@sha256:' + 'b'.repeat(64),
      'my_volume-1.0',
    ]) {
      expect(inPath(name)).toBe(name);
    }
  });

  it.each([
    ['x?force=1', 'x%3Fforce%3D1'],
    ['x#frag', 'x%23frag'],
    ['100%', '100%25'],
    ['a b', 'a%20b'],
    ['x/json?', 'x/json%3F'],
  ])('encodes what would change the request: %j', (name, sent) => {
    expect(inPath(name)).toBe(sent);
  });

  it.each(['', '.', '..', '../containers/x', 'a/../../b'])('refuses %j, which no engine names anything', (name) => {
    expect(() => inPath(name)).toThrow(/not a name reclaimd puts into a request path/);
  });
});
