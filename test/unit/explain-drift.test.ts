// Where `reclaimd explain` used to word a policy's miss differently from what the planner
// checks (its own copy of the match rules had drifted). Explain now reads the planner's
// matchers (src/core/match); each case shows its words agree with what the plan does.
import { describe, expect, it } from 'vitest';
import { explain, findObject, type Explanation } from '../../src/core/explain/explain.js';
import type { Snapshot } from '../../src/core/model/snapshot.js';
import type { Policy } from '../../src/core/config/schema.js';
import { ago, config, container, image, NOW, planAt, snapshot, volume, type ConfigSpec } from '../support/builders.js';

const HEX = (c: string) => `sha256:${c.repeat(64)}`;

function explainOf(spec: ConfigSpec, s: Snapshot, query: string): Explanation {
  const found = findObject(s, query);
  if (!found.ok) throw new Error(`not found: ${query}`);
  return explain(config(spec), s, NOW, found.target);
}

const view = (e: Explanation) => e.policies.map((p) => [p.policy, p.decision, p.reason]);

describe('explain agrees with the planner', () => {
  const app = image({ id: HEX('a'), tags: ['ci/app:1'], layers: [['L1', 1000]], created: ago(60) });
  const unusedImages: Policy = { name: 'unused', resource: 'image', match: { unusedFor: '30d' } };

  it('image unusedFor: names the last use instead of "a match condition fails"', () => {
    const recent: Snapshot = {
      ...snapshot({ images: [app] }),
      usage: { images: new Map([[app.id, ago(3)]]), volumes: new Map() },
    };
    expect(planAt(config({ policies: [unusedImages] }), recent).actions).toEqual([]);
    expect(view(explainOf({ policies: [unusedImages] }, recent, app.id))).toEqual([
      ['unused', 'no-match', 'last used 3d ago, not longer than unusedFor 30d'],
    ]);
    // Without last-use data the planner selects nothing, and explain says why.
    const none = snapshot({ images: [app] });
    expect(planAt(config({ policies: [unusedImages] }), none).actions).toEqual([]);
    expect(view(explainOf({ policies: [unusedImages] }, none, app.id))[0]?.[2]).toMatch(/last use is unknown/);
  });

  it('volume unusedFor: names the last use instead of "a match condition fails"', () => {
    const data = volume({ name: 'data', created: ago(90) });
    const policy: Policy = { name: 'stale-volumes', resource: 'volume', match: { unusedFor: '30d' } };
    const s: Snapshot = {
      ...snapshot({ volumes: [data] }),
      usage: { images: new Map(), volumes: new Map([['data', ago(2)]]) },
    };
    expect(planAt(config({ policies: [policy] }), s).actions).toEqual([]);
    expect(view(explainOf({ policies: [policy] }, s, 'data'))).toEqual([
      ['stale-volumes', 'no-match', 'last used 2d ago, not longer than unusedFor 30d'],
    ]);
  });

  it('a pressure policy whose condition does not hold says so', () => {
    const policy: Policy = {
      name: 'budget',
      resource: 'image',
      match: { olderThan: '1d' },
      when: { totalSizeAbove: '1GB' },
    };
    const s = snapshot({ images: [app] });
    const p = planAt(config({ policies: [policy] }), s);
    expect(p.actions).toEqual([]);
    expect(p.pressure?.[0]?.state).toBe('idle');
    expect(view(explainOf({ policies: [policy] }, s, app.id))).toEqual([
      ['budget', 'no-match', 'matches, but its pressure condition (1GB) does not hold, so the policy does nothing'],
    ]);
  });

  it('names the failing label before the tags, in the order the planner checks them', () => {
    const policy: Policy = {
      name: 'team',
      resource: 'image',
      match: { repositories: ['prod/**'], labels: ['team=ci'] },
    };
    const s = snapshot({ images: [app] });
    expect(planAt(config({ policies: [policy] }), s).actions).toEqual([]);
    expect(view(explainOf({ policies: [policy] }, s, app.id))).toEqual([
      ['team', 'no-match', 'label selector "team=ci" does not hold'],
    ]);
  });

  it('names a container filter (name, image, labels) before its state, as the planner does', () => {
    const web = container({ id: 'c1', name: 'web', state: 'running', created: ago(10) });
    const policy: Policy = { name: 'jobs', resource: 'container', match: { names: ['job-*'] } };
    const s = snapshot({ containers: [web] });
    expect(planAt(config({ policies: [policy] }), s).actions).toEqual([]);
    expect(view(explainOf({ policies: [policy] }, s, 'web'))).toEqual([
      ['jobs', 'no-match', 'name web does not match match.names'],
    ]);
  });
});
