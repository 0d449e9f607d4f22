// `reclaimd explain` on protected objects: it names the protect entry that holds (key and
// entry, and what it met), every policy that would take the object keeps it for that reason,
// and the text report says so in the same words as the plan.
import { describe, expect, it } from 'vitest';
import { explain, findObject, type Explanation } from '../../src/core/explain/explain.js';
import { explainText } from '../../src/cli/render-explain.js';
import type { Snapshot } from '../../src/core/model/snapshot.js';
import type { Policy } from '../../src/core/config/schema.js';
import { ago, config, container, image, NOW, snapshot, volume, type ConfigSpec } from '../support/builders.js';

const id = `sha256:4f1c2a9b0e7d${'5'.repeat(52)}`;
const pg = image({ id, tags: ['postgres:16', 'postgres:latest'], created: ago(90) });
const db = container({ name: 'db-main', image: 'postgres:16', imageId: 'sha256:other', volumes: ['pgdata'] });

const POLICIES: Policy[] = [
  { name: 'old-images', resource: 'image', match: { olderThan: '30d' } },
  { name: 'all-images', resource: 'image', match: {} },
  { name: 'exited', resource: 'container', match: {} },
  { name: 'volumes', resource: 'volume', match: {} },
];

function explainOf(spec: ConfigSpec, snap: Partial<Snapshot>, query: string): Explanation {
  const s = snapshot(snap);
  const found = findObject(s, query);
  if (!found.ok) throw new Error(`not found: ${query} (${found.reason})`);
  return explain(config(spec), s, NOW, found.target);
}

const views = (e: Explanation) => e.policies.map((p) => [p.policy, p.decision, p.reason, p.decides]);

describe('explain names the protect entry', () => {
  it('an image protected by tag: every policy keeps it, the first decides', () => {
    const e = explainOf({ policies: POLICIES, protect: { images: ['postgres:16'] } }, { images: [pg] }, 'postgres');
    expect(e.protectedBy).toBe('protect.images "postgres:16"');
    expect(views(e)).toEqual([
      ['old-images', 'keep', 'protected by protect.images "postgres:16"', true],
      ['all-images', 'keep', 'protected by protect.images "postgres:16"', false],
    ]);
    expect(e.verdict).toEqual({
      outcome: 'keep',
      policy: 'old-images',
      reason: 'protected by protect.images "postgres:16"',
    });
    const text = explainText(e, 'enforce', NOW);
    expect(text.split('\n')).toContain('  protected: protect.images "postgres:16"');
    expect(text).toMatch(/^Verdict: kept by old-images: protected by protect.images "postgres:16"$/m);
  });

  it('an image protected by ID prefix: the entry and the full ID it met', () => {
    const e = explainOf(
      { policies: POLICIES, protect: { images: ['sha256:4f1c2a9b0e7d'] } },
      { images: [pg] },
      'postgres:latest',
    );
    expect(e.protectedBy).toBe(`protect.images "sha256:4f1c2a9b0e7d" (${id})`);
    expect(e.verdict.reason).toBe(`protected by protect.images "sha256:4f1c2a9b0e7d" (${id})`);
  });

  it('a container protected by name glob, and the volume it mounts', () => {
    const spec: ConfigSpec = { policies: POLICIES, protect: { containers: ['db-*'] } };
    const snap = { containers: [db], volumes: [volume({ name: 'pgdata' })] };
    const c = explainOf(spec, snap, 'db-main');
    expect(c.protectedBy).toBe('protect.containers "db-*" (db-main)');
    expect(views(c)).toEqual([['exited', 'keep', 'protected by protect.containers "db-*" (db-main)', true]]);
    // The volume is not protected itself; the protected container that stays mounts it.
    const v = explainOf(spec, snap, 'pgdata');
    expect(v.protectedBy).toBeUndefined();
    expect(v.verdict).toMatchObject({ outcome: 'keep', reason: 'mounted by container db-main (exited)' });
  });

  it('a volume protected by name', () => {
    const e = explainOf(
      { policies: POLICIES, protect: { volumes: ['pgdata'] } },
      { volumes: [volume({ name: 'pgdata' })] },
      'pgdata',
    );
    expect(e.protectedBy).toBe('protect.volumes "pgdata"');
    expect(e.verdict).toEqual({ outcome: 'keep', policy: 'volumes', reason: 'protected by protect.volumes "pgdata"' });
  });

  it('protected, and no policy matches: the verdict says both', () => {
    const young = image({ id, tags: ['postgres:16'], created: ago(1) });
    const only: Policy[] = [{ name: 'old-images', resource: 'image', match: { olderThan: '30d' } }];
    const e = explainOf({ policies: only, protect: { images: ['postgres:*'] } }, { images: [young] }, 'postgres:16');
    expect(e.verdict).toEqual({
      outcome: 'none',
      policy: undefined,
      reason: 'protected by protect.images "postgres:*" (postgres:16), and no policy matches it, so it stays',
    });
    expect(explainText(e, 'enforce', NOW)).toMatch(
      /^Verdict: kept: protected by protect.images "postgres:\*" \(postgres:16\), and no policy matches it, so it stays$/m,
    );
  });

  it('not protected: protected says no', () => {
    const e = explainOf({ policies: POLICIES, protect: { images: ['redis:*'] } }, { images: [pg] }, 'postgres:16');
    expect(e.protectedBy).toBeUndefined();
    expect(explainText(e, 'enforce', NOW).split('\n')).toContain('  protected: no');
    expect(e.verdict.outcome).toBe('remove');
  });
});
