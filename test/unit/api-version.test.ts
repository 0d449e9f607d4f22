// Which Engine API version reclaimd speaks: the newest both sides know, and a clear refusal of
// an engine that accepts none reclaimd knows.
import { describe, expect, it } from 'vitest';
import { compareVersions, MAX_API_VERSION, pinnedVersion } from '../../src/engine/client.js';
import { EngineError } from '../../src/engine/errors.js';

describe('pinnedVersion', () => {
  it('speaks the engine version when it is older than ours, ours when it is newer', () => {
    expect(pinnedVersion('1.41', '1.12')).toBe('1.41');
    expect(pinnedVersion('1.52', '1.44')).toBe(MAX_API_VERSION);
    expect(pinnedVersion(MAX_API_VERSION, undefined)).toBe(MAX_API_VERSION);
  });

  it('refuses an engine whose oldest version is newer than ours, saying what to do', () => {
    expect(() => pinnedVersion('1.60', '1.55')).toThrow(EngineError);
    expect(() => pinnedVersion('1.60', '1.55')).toThrow(
      `the engine accepts Engine API 1.55 to 1.60, and this reclaimd speaks at most ${MAX_API_VERSION}: upgrade reclaimd`,
    );
  });

  it('compares versions by number, not as text', () => {
    expect(compareVersions('1.9', '1.10')).toBeLessThan(0);
    expect(compareVersions('1.51', '1.51.0')).toBe(0);
  });
});
