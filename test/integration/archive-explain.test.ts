// The archive step and `reclaimd explain` on the real engine, through the built CLI.
// Archive: an image its registry does not have is saved (docker save) before it is removed,
// and the file really is an archive `docker load` restores with the same ID; one pushed to a
// registry of the test's own and pulled back is not archived, and the plan says why; a
// directory that is not there means the image is not removed. Explain: one real image and
// container, by short ID and name.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, createContainer, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage, type LayerSpec } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { dockerCli } from '../support/image-build.js';
import { startRegistry } from '../support/registry.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let dir: string;

const layer = (n: number): LayerSpec => ({ files: [{ path: `arch/${n}`, size: 300_000 + n, fill: 40 + n }] });

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
  dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-archive-it-'));
});
afterEach(async () => {
  await cleanupRun(docker, run);
  rmSync(dir, { recursive: true, force: true });
});

async function exists(id: string): Promise<boolean> {
  try {
    await docker.getImage(id).inspect();
    return true;
  } catch {
    return false;
  }
}

/** `docker load` of a file; the engine reports failures inside a 200 answer, so read it all. */
async function dockerLoad(file: string): Promise<string> {
  const response = await docker.loadImage(Readable.from([readFileSync(file)]), { quiet: true });
  let text = '';
  for await (const chunk of response as AsyncIterable<Buffer>) text += chunk.toString();
  expect(text).not.toMatch(/"error/);
  return text;
}

function archivePolicyConfig(archiveDir: string, mode = 'enforce'): string {
  return writeConfig(
    { mode },
    {
      'a.yaml': {
        policies: [
          {
            name: 'built-here',
            resource: 'image',
            match: { repositories: [`ra${run}/**`], labels: [`${TEST_LABEL}=${run}`], olderThan: '1d' },
            archive: { dir: archiveDir },
          },
        ],
      },
    },
  );
}

interface Report {
  actions: Array<{ id: string; reason: string; archive?: { dir: string; estimatedBytes: number } }>;
  removed?: Array<{ id: string; archived?: { path: string; bytes: number } }>;
  skipped?: Array<{ id: string; reason: string; message: string }>;
}

async function cli(args: string[]): Promise<Report> {
  const r = await runCli([...args, '--json'], host);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe('archive before removal', () => {
  it('saves an image built here, removes it, and docker load brings it back with the same ID', async () => {
    const tag = `ra${run}/app:1`;
    const id = await loadImage(docker, {
      tags: [tag],
      created: new Date(Date.UTC(2024, 0, 1)),
      labels: { [TEST_LABEL]: run },
      layers: [layer(1)],
    });
    const config = archivePolicyConfig(dir);

    const plan = await cli(['plan', '--config', config]);
    expect(plan.actions).toEqual([
      expect.objectContaining({ id, archive: { dir, estimatedBytes: expect.any(Number) } }),
    ]);
    expect(readdirSync(dir)).toEqual([]);
    const dry = await cli(['once', '--config', config, '--mode', 'dry-run']);
    expect(dry.actions.map((a) => a.id)).toEqual([id]);
    expect(readdirSync(dir)).toEqual([]);

    const report = await cli(['once', '--config', config]);
    const file = path.join(dir, `ra${run}_app_1--${id.replace('sha256:', '')}.tar`);
    expect(report.skipped).toEqual([]);
    expect(report.removed).toEqual([
      expect.objectContaining({ id, archived: { path: file, bytes: readFileSync(file).length } }),
    ]);
    expect(readdirSync(dir)).toEqual([path.basename(file)]);
    expect(await exists(id)).toBe(false);

    await dockerLoad(file);
    const back = await docker.getImage(id).inspect();
    expect(back.Id).toBe(id);
    expect(back.RepoTags).toEqual([tag]);
  });

  it('archives an image built here but not one its registry has, and says why, with a registry of our own', async () => {
    const registry = await startRegistry();
    try {
      // Pushed, removed here, pulled back: its repository digest is the registry's.
      const pushedTag = `${registry.address}/ra${run}/pushed:1`;
      await loadImage(docker, {
        tags: [pushedTag],
        created: new Date(Date.UTC(2024, 0, 4)),
        labels: { [TEST_LABEL]: run },
        layers: [layer(5)],
      });
      await dockerCli(host, ['push', '-q', pushedTag]);
      await docker.getImage(pushedTag).remove();
      await dockerCli(host, ['pull', '-q', pushedTag]);
      const pulled = await docker.getImage(pushedTag).inspect();
      const digest = pulled.RepoDigests.find((d) => d.startsWith(`${registry.address}/`)) as string;
      expect(digest).toMatch(/@sha256:[0-9a-f]{64}$/);
      // Tagged for the registry but never pushed: on the containerd image store it has a
      // repository digest all the same, which proves nothing.
      const localTag = `${registry.address}/ra${run}/local:1`;
      const local = await loadImage(docker, {
        tags: [localTag],
        created: new Date(Date.UTC(2024, 0, 5)),
        labels: { [TEST_LABEL]: run },
        layers: [layer(6)],
      });
      if (inject('containerdStore')) expect((await docker.getImage(local).inspect()).RepoDigests).toHaveLength(1);

      const config = writeConfig(
        { mode: 'enforce' },
        {
          'a.yaml': {
            policies: [
              {
                name: 'built-here',
                resource: 'image',
                match: { repositories: [`${registry.address}/ra${run}/**`], olderThan: '1d' },
                archive: { dir },
              },
            ],
          },
        },
      );
      const plan = await cli(['plan', '--config', config]);
      const byId = new Map(plan.actions.map((a) => [a.id, a]));
      expect(byId.get(pulled.Id)?.archive).toBeUndefined();
      expect(byId.get(pulled.Id)?.reason).toMatch(
        new RegExp(`; not archived: its registry has ${digest.replace(/[.]/g, '\\.')}, so it can be pulled again$`),
      );
      expect(byId.get(local)?.archive).toEqual({ dir, estimatedBytes: expect.any(Number) });
      if (inject('containerdStore'))
        expect(byId.get(local)?.reason).toMatch(
          /; archived first: .*\/local@sha256:[0-9a-f]{64} is not confirmed in its registry \(.*manifest unknown.*\)$/,
        );

      const report = await cli(['once', '--config', config]);
      expect(report.skipped).toEqual([]);
      const file = path.join(dir, `${localTag.replace(/[^A-Za-z0-9._-]/g, '_')}--${local.replace('sha256:', '')}.tar`);
      expect(report.removed?.map((r) => [r.id, r.archived?.path]).sort()).toEqual(
        [
          [pulled.Id, undefined],
          [local, file],
        ].sort(),
      );
      expect(readdirSync(dir)).toEqual([path.basename(file)]);
      expect(await exists(local)).toBe(false);
      expect(await exists(pulled.Id)).toBe(false);
      await dockerLoad(file);
      expect((await docker.getImage(local).inspect()).RepoTags).toEqual([localTag]);
    } finally {
      await registry.stop();
    }
  });

  it('a missing archive directory removes nothing of that image: a counted archive-failed skip', async () => {
    const id = await loadImage(docker, {
      tags: [`ra${run}/app:2`],
      created: new Date(Date.UTC(2024, 0, 2)),
      labels: { [TEST_LABEL]: run },
      layers: [layer(2)],
    });
    const missing = path.join(dir, 'not-mounted');
    const dry = await runCli(['plan', '--config', archivePolicyConfig(missing)], host);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(
      /warning: archive directory .*not-mounted is not usable \(ENOENT.*a real run would skip/,
    );
    const report = await cli(['once', '--config', archivePolicyConfig(missing)]);
    expect(report.removed).toEqual([]);
    expect(report.skipped).toEqual([
      expect.objectContaining({
        id,
        reason: 'archive-failed',
        message: expect.stringMatching(/could not archive to .*not-mounted.*ENOENT/),
      }),
    ]);
    expect((await docker.getImage(id).inspect()).RepoTags).toEqual([`ra${run}/app:2`]);
    expect(existsSync(missing)).toBe(false);
  });

  it('a path that is not a directory fails the same way, and leaves no temporary file', async () => {
    const id = await loadImage(docker, {
      tags: [`ra${run}/app:3`],
      created: new Date(Date.UTC(2024, 0, 3)),
      labels: { [TEST_LABEL]: run },
      layers: [layer(3)],
    });
    const notDir = path.join(dir, 'a-file');
    writeFileSync(notDir, 'x');
    const report = await cli(['once', '--config', archivePolicyConfig(notDir)]);
    expect(report.skipped?.map((s) => [s.id, s.reason])).toEqual([[id, 'archive-failed']]);
    expect(await exists(id)).toBe(true);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });
});

describe('reclaimd explain', () => {
  it('explains a real image by short ID and a container by name; an unknown object exits 3', async () => {
    const tag = `rx${run}/app:1`;
    const id = await loadImage(docker, {
      tags: [tag],
      created: new Date(Date.UTC(2024, 0, 1)),
      labels: { [TEST_LABEL]: run },
      layers: [busyboxLayer(), layer(4)],
    });
    const ctr = await createContainer(docker, {
      image: id,
      runId: run,
      name: `rx${run}-old`,
      cmd: ['true'],
      waitExit: true,
    });
    const config = writeConfig(
      { mode: 'dry-run' },
      {
        'x.yaml': {
          policies: [
            { name: 'prod-only', resource: 'image', match: { repositories: ['prod/**'] } },
            { name: 'stale', resource: 'image', match: { repositories: [`rx${run}/**`], olderThan: '1d' } },
            { name: 'old-containers', resource: 'container', match: { names: [`rx${run}-*`], stoppedFor: '1h' } },
          ],
        },
      },
    );
    const shortId = id.replace('sha256:', '').slice(0, 12);
    const r = await runCli(['explain', '--config', config, shortId, '--json'], host);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as {
      id: string;
      usedBy: unknown[];
      policies: Array<{ policy: string; decision: string; reason: string; decides: boolean }>;
      verdict: { outcome: string; policy: string };
    };
    expect(e.id).toBe(id);
    // The container has not been stopped an hour, so it stays, and keeps its image in use.
    expect(e.usedBy).toEqual([
      expect.objectContaining({ id: ctr, container: `rx${run}-old`, state: 'exited', removedByPlan: false }),
    ]);
    expect(e.policies.map((p) => [p.policy, p.decision, p.decides])).toEqual([
      ['prod-only', 'no-match', false],
      ['stale', 'keep', true],
    ]);
    expect(e.policies[0]?.reason).toBe(`tag ${tag} is not in a repository matching match.repositories`);
    expect(e.policies[1]?.reason).toBe(`in use by container rx${run}-old (exited)`);
    expect(e.verdict).toMatchObject({ outcome: 'keep', policy: 'stale' });

    const text = await runCli(['explain', '--config', config, `rx${run}-old`], host);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `^container rx${run}-old \\(${ctr}\\)\n  exited; image ${id}; created \\d+s ago; finished \\d+s ago, exit code 0\n`,
      ),
    );
    expect(text.stdout).toMatch(/old-containers .* no match +stopped \d+s ago, not longer than stoppedFor 1h/);
    expect(text.stdout).toMatch(/Verdict: kept: no policy matches it, so it stays/);

    const missing = await runCli(['explain', '--config', config, `rx${run}-nothing`], host);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/no image, container or volume/);
  });
});
