// reclaimd supports Node 20 (package.json `engines`), and `npm ci` must install on it without an
// EBADENGINE warning: every package in package-lock.json must admit Node 20. The runtime
// dependencies must admit the oldest Node 20 package.json allows, since they ship; the dev
// tools only the Node 20 that the toolchain needs (vite 8 and eslint 10 want 20.19), which is
// the Node 20 contributors and CI run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const installed = Object.entries(lock.packages).filter(([name]) => name !== '');

/** The packages whose `engines.node` does not admit `version`, as "name@version (range)". */
function refusing(version: string, entries: readonly (readonly [string, LockEntry])[]): string[] {
  return entries.flatMap(([name, entry]) => {
    // Old packages wrote engines as an array; npm ignores that form.
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (range === undefined || semver.satisfies(version, range)) return [];
    return [`${name.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'} (node ${range})`];
  });
}

// The oldest Node 20 the dev toolchain runs on; Node 20 LTS has been at 20.19 or later since March 2025.
const NODE_20_FOR_DEVELOPMENT = '20.19.0';

describe('package-lock.json on Node 20', () => {
  it('package.json supports Node 20', () => {
    expect(semver.minVersion(pkg.engines.node)?.major).toBe(20);
  });

  it('every runtime dependency admits the oldest Node package.json allows', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    expect(
      refusing(
        oldest,
        installed.filter(([, entry]) => entry.dev !== true),
      ),
    ).toEqual([]);
  });

  it(`every package, dev tools included, admits Node ${NODE_20_FOR_DEVELOPMENT}`, () => {
    expect(installed.length).toBeGreaterThan(100);
    expect(refusing(NODE_20_FOR_DEVELOPMENT, installed)).toEqual([]);
  });

  it('finds a package that wants a newer Node', () => {
    expect(refusing('20.19.0', [['node_modules/x', { version: '1.0.0', engines: { node: '>=22' } }]])).toEqual([
      'x@1.0.0 (node >=22)',
    ]);
  });
});
