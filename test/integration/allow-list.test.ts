// reclaimd behind a filtering socket proxy that allows exactly the Engine API requests the
// "Socket proxy" table of docs/deploy/container.md lists: a dry-run cycle, the daemon's
// cycles and an enforce cycle that removes a container, an image and a volume all succeed,
// and not one request was refused. If reclaimd starts using an endpoint the table does not
// list, this fails.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { AllowListProxy, allowListFromReadme } from '../support/allow-list-proxy.js';
import { runCli, writeConfig } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import {
  cleanupRun,
  createContainer,
  createNetwork,
  createVolume,
  dockerFor,
  listRunObjects,
  newRunId,
  TEST_LABEL,
} from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';
import { REPO_ROOT } from '../support/image-build.js';

const host = inject('dockerHost');
const allowList = allowListFromReadme(readFileSync(path.join(REPO_ROOT, 'docs/deploy/container.md'), 'utf8'));
let docker: Docker;
let run: string;
let proxy: AllowListProxy;
let daemon: DaemonProcess | undefined;

beforeEach(async () => {
  docker = dockerFor(host);
  run = newRunId();
  proxy = new AllowListProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'ra-')), 'proxy.sock'),
    host.slice('unix://'.length),
    allowList,
  );
  await proxy.start();
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy.stop();
  await cleanupRun(docker, run);
});

describe('the published allow-list', () => {
  it('is read from docs/deploy/container.md and refuses what is not on it', () => {
    expect(allowList.length).toBeGreaterThanOrEqual(13);
    expect(proxy.allows('GET', '/v1.41/images/rt1/app:1/json')).toBe(true);
    expect(proxy.allows('DELETE', '/v1.41/images/rt1/app:1?force=false&noprune=true')).toBe(true);
    expect(proxy.allows('POST', '/v1.41/containers/create')).toBe(false);
    expect(proxy.allows('POST', '/v1.41/containers/abc/start')).toBe(false);
    expect(proxy.allows('GET', '/v1.41/containers/abc/archive')).toBe(false);
  });

  it('is all reclaimd needs: dry-run, daemon and enforce cycles through a proxy allowing only it', async () => {
    const image = await loadImage(docker, {
      tags: [`rt${run}/old:1`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [busyboxLayer()],
    });
    await createContainer(docker, { image, runId: run, cmd: ['true'], waitExit: true });
    await createVolume(docker, { runId: run, name: `rt${run}-vol` });
    await createNetwork(docker, { runId: run });
    const selector = [`${TEST_LABEL}=${run}`];
    // Every kind of policy, so every endpoint in the table is used: the event stream (state.dir),
    // networks, the build-cache listing, and an image save (archive: the image has no digest).
    const work = mkdtempSync(path.join(tmpdir(), 'ra-state-'));
    const configPath = writeConfig(
      {
        mode: 'dry-run',
        schedule: '* * * * * *',
        docker: { host: `unix://${proxy.path}`, pingInterval: '1s' },
        state: { dir: work },
      },
      {
        'p.yaml': {
          policies: [
            { name: 'c', resource: 'container', match: { labels: selector } },
            { name: 'i', resource: 'image', match: { labels: selector }, archive: { dir: work } },
            { name: 'v', resource: 'volume', match: { labels: selector } },
            { name: 'n', resource: 'network', match: { labels: selector } },
            { name: 'b', resource: 'buildCache', match: { unusedFor: '520w' } },
          ],
        },
      },
    );

    const dry = await runCli(['once', '--config', configPath, '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(
      (JSON.parse(dry.stdout) as { actions: Array<{ resource: string }> }).actions.map((a) => a.resource).sort(),
    ).toEqual(['container', 'image', 'network', 'volume']);

    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForMetric('reclaimd_cycles_total', { result: 'success' }, (v) => v !== undefined && v >= 1);
    expect(await daemon.metric('reclaimd_docker_up')).toBe(1);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    daemon = undefined;

    const enforce = await runCli(['once', '--config', configPath, '--mode', 'enforce', '--json']);
    expect(enforce.code, enforce.stderr).toBe(0);
    const report = JSON.parse(enforce.stdout) as { removed: Array<{ resource: string }>; skipped: unknown[] };
    expect(report.removed.map((r) => r.resource).sort()).toEqual(['container', 'image', 'network', 'volume']);
    expect(report.skipped).toEqual([]);
    expect(await listRunObjects(docker, run)).toMatchObject({ containers: [], images: [], volumes: [] });

    expect(proxy.seen.filter((r) => !r.allowed)).toEqual([]);
    const used = (method: string, re: RegExp) => proxy.seen.some((r) => r.method === method && re.test(r.path));
    for (const [method, re] of [
      ['DELETE', /\/images\//],
      ['DELETE', /\/networks\//],
      ['GET', /\/events/],
      ['GET', /\/images\/get$/],
      ['GET', /\/system\/df/],
      ['GET', /\/networks/],
    ] as const) {
      expect(used(method, re), `${method} ${re}`).toBe(true);
    }
  });
});
