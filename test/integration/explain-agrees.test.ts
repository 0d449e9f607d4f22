// `explain` gives the plan's verdict for policies that need more than a listing: `unusedFor`
// (last use, from the state file the daemon keeps) and `when.diskUsageAbove` (the figures of
// the data-root file system). Issue 19 found explain taking a bare snapshot, so for such
// policies it said "no policy matches" and "last used: unknown" where `plan`, at the same
// moment, selected the object. Both now gather a cycle's inputs through one function.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { stateFile } from '../../src/runtime/last-use/store.js';
import { emptyRecord, encodeState } from '../../src/core/last-use/last-use.js';

const host = inject('dockerHost');
const DAY = 86_400_000;
let docker: Docker;
let run: string;
let dir: string;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
  dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-explain-agrees-'));
});
afterEach(async () => {
  await cleanupRun(docker, run);
  rmSync(dir, { recursive: true, force: true });
});

interface Planned {
  actions: Array<{ id: string; policy: string; reason: string }>;
}
interface Explained {
  id: string;
  lastUsed: string | null;
  policies: Array<{ policy: string; decision: string; decides: boolean }>;
  decidedBy: string | undefined;
  verdict: { outcome: string; policy: string | undefined; reason: string };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await runCli([...args, '--json'], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/**
 * Two runs a moment apart see the same objects but not the same clock or disk: durations in a
 * reason ("unused for 30d 2s") and the disk figure move between them; the rest must not.
 */
const steady = (reason: string | undefined) =>
  (reason ?? '').replace(/disk [0-9.]+% full/g, 'disk N% full').replace(/\b\d+[dhms]( \d+[dhms])?\b/g, 'T');

describe('explain and plan at the same moment', () => {
  it('name the same deciding policy, last use and verdict for unusedFor and diskUsageAbove policies', async () => {
    const load = (name: string) =>
      loadImage(docker, {
        tags: [`xa${run}/${name}:1`],
        created: new Date(Date.now() - 730 * DAY),
        labels: { [TEST_LABEL]: run },
        layers: [{ files: [{ path: `${name}-${run}`, size: 1000 }] }],
      });
    const idle = await load('idle');
    const full = await load('full');

    // The state file a daemon that follows events would have written: `idle` last used 30 days ago.
    const engineId = ((await docker.info()) as { ID: string }).ID;
    const stateDir = path.join(dir, 'state');
    const usedAt = Date.now() - 30 * DAY;
    const record = emptyRecord();
    record.images.set(idle, { at: usedAt, used: true });
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(stateFile(stateDir, engineId), encodeState(engineId, record, Date.now()));

    const labels = [`${TEST_LABEL}=${run}`];
    const configPath = writeConfig(
      { mode: 'dry-run', state: { dir: stateDir }, pressure: { path: dir } },
      {
        'p.yaml': {
          policies: [
            { name: 'idle', resource: 'image', match: { labels, repositories: [`xa${run}/idle`], unusedFor: '7d' } },
            // Any file system in use is more than 0% full, so this condition always holds.
            {
              name: 'disk-full',
              resource: 'image',
              match: { labels, repositories: [`xa${run}/full`] },
              when: { diskUsageAbove: '0%' },
            },
          ],
        },
      },
    );

    const plan = await json<Planned>(['plan', '--config', configPath]);
    const planned = new Map(plan.actions.map((a) => [a.id, a]));
    expect(planned.get(idle)?.policy).toBe('idle');
    expect(planned.get(full)?.policy).toBe('disk-full');

    const ofIdle = await json<Explained>(['explain', '--config', configPath, idle]);
    expect(ofIdle.decidedBy).toBe('idle');
    expect(ofIdle.policies.map((p) => [p.policy, p.decision, p.decides])).toEqual([
      ['idle', 'select', true],
      ['disk-full', 'no-match', false],
    ]);
    expect(ofIdle.verdict).toMatchObject({ outcome: 'remove', policy: 'idle' });
    expect(steady(ofIdle.verdict.reason)).toBe(steady(planned.get(idle)?.reason));
    expect(ofIdle.verdict.reason).toMatch(/30d/);
    expect(ofIdle.lastUsed).toBe(new Date(usedAt).toISOString());

    const ofFull = await json<Explained>(['explain', '--config', configPath, full]);
    expect(ofFull.decidedBy).toBe('disk-full');
    expect(ofFull.policies.map((p) => [p.policy, p.decision, p.decides])).toEqual([
      ['idle', 'no-match', false],
      ['disk-full', 'select', true],
    ]);
    expect(ofFull.verdict.outcome).toBe('remove');
    expect(ofFull.verdict.policy).toBe('disk-full');
    expect(steady(ofFull.verdict.reason)).toBe(steady(planned.get(full)?.reason));
    // Never used, so first seen by the listing: a time, not "unknown".
    expect(ofFull.lastUsed).not.toBeNull();

    // The text people read says the same.
    const text = await runCli(['explain', '--config', configPath, `xa${run}/idle:1`], host);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(` ago (${new Date(usedAt).toISOString()})\n`);
    expect(text.stdout).toMatch(/\n {2}last used: 30d( \d+[hms])? ago \(/);
    expect(text.stdout).toMatch(/\nVerdict: would be removed in enforce mode \(mode: dry-run\) by idle: /);
  });
});
