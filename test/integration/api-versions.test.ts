// The API version reclaimd speaks: the newest it knows and the engine offers. Docker 29 refuses
// every version below 1.44; a proxy in front of the test engine plays that part, answering
// /version as such an engine would and refusing older requests with its 400. And an engine
// newer than every version reclaimd knows is refused at once, with a message that says so.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { MAX_API_VERSION } from '../../src/engine/client.js';
import { cleanupRun, createContainer, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { runCli, writeConfig } from '../support/cli.js';
import { VersionProxy, type Versions } from '../support/version-proxy.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let proxy: VersionProxy | undefined;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await cleanupRun(docker, run);
});

async function behind(versions: Versions): Promise<VersionProxy> {
  proxy = new VersionProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'rv-')), 'engine.sock'),
    host.slice('unix://'.length),
    versions,
  );
  await proxy.start();
  return proxy;
}

describe('API versions', () => {
  // The machine's Docker 20.10 speaks only up to 1.41, so an engine refusing that cannot stand in front of it.
  it.skipIf(inject('engineVariant') === 'docker-20.10')(
    'works with an engine that accepts only 1.44 and up, as Docker 29 does',
    async () => {
      const image = await loadImage(docker, {
        tags: [`rv${run}/app:1`],
        created: new Date('2024-01-01'),
        labels: { [TEST_LABEL]: run },
        layers: [busyboxLayer()],
      });
      await createContainer(docker, { image, runId: run, cmd: ['true'], waitExit: true });
      const p = await behind({ api: '1.52', min: '1.44' });
      const config = writeConfig(
        { docker: { host: `unix://${p.path}` } },
        {
          'p.yaml': {
            policies: [
              { name: 'c', resource: 'container', match: { labels: [`${TEST_LABEL}=${run}`] } },
              { name: 'i', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } },
            ],
          },
        },
      );
      const planned = await runCli(['plan', '--config', config, '--json']);
      expect(planned.code, planned.stderr).toBe(0);
      expect((JSON.parse(planned.stdout) as { actions: unknown[] }).actions).toHaveLength(2);
      const done = await runCli(['once', '--config', config, '--mode', 'enforce', '--json']);
      expect(done.code, done.stderr).toBe(0);
      expect(await listRunObjects(docker, run)).toEqual({ images: [], containers: [], volumes: [] });
      // Every request but the version probe spoke the newest version both know.
      const versioned = p.paths.filter((x) => x !== '/version' && x !== '/_ping');
      expect(versioned.length).toBeGreaterThan(0);
      expect(versioned.filter((x) => !x.startsWith(`/v${MAX_API_VERSION}/`))).toEqual([]);
    },
  );

  it('refuses an engine whose oldest version is newer than any it knows, and removes nothing', async () => {
    await loadImage(docker, {
      tags: [`rv${run}/app:2`],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [busyboxLayer()],
    });
    const p = await behind({ api: '1.60', min: '1.55' });
    const config = writeConfig(
      { docker: { host: `unix://${p.path}` } },
      { 'p.yaml': { policies: [{ name: 'i', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }] } },
    );
    const r = await runCli(['once', '--config', config, '--mode', 'enforce']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `reclaimd: once failed: the engine accepts Engine API 1.55 to 1.60, and this reclaimd speaks at most ${MAX_API_VERSION}: upgrade reclaimd; nothing was removed`,
    );
    expect((await listRunObjects(docker, run)).images).toHaveLength(1);
    expect(p.paths.filter((x) => /^\/v[\d.]+\/images/.test(x))).toEqual([]);
  });
});
