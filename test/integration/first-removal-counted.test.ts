// The first removal of a policy counts in PromQL's increase(), as the dashboard's "reclaimed in
// range" and "removed objects by policy" panels read it: a real Prometheus scrapes a real daemon
// (enforce, against the throwaway engine) before and after the one removal. Issue 19 found the
// series appearing only at 1, with no earlier sample, so increase() never counted that step.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { cleanupRun, dockerFor, listRunObjects, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess, waitFor } from '../support/daemon-process.js';
import { PrometheusServer } from '../support/prometheus-server.js';

const host = inject('dockerHost');
let docker: Docker;
let run: string;
let daemon: DaemonProcess | undefined;
let prometheus: PrometheusServer | undefined;

beforeEach(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await cleanupRun(docker, run);
});

describe('the first removal of a policy', () => {
  it('shows in increase() of reclaimd_removed_total and of its bytes (or of its unknown size)', async () => {
    const configPath = writeConfig(
      { mode: 'enforce', schedule: '* * * * * *', docker: { host, pingInterval: '1s' } },
      {
        'p.yaml': {
          policies: [{ name: 'old', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`], olderThan: '30d' } }],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    const d = daemon;
    await d.started();
    const server = await PrometheusServer.start(`127.0.0.1:${d.port}`, []);
    prometheus = server;
    await waitFor(
      () => server.ready(),
      60_000,
      () => `prometheus to be ready:\n${server.log()}`,
    );
    const has = async (expr: string) => ((await server.query(expr)).data?.result.length ?? 0) > 0 || undefined;
    // The daemon scraped at least twice before anything is removed.
    await waitFor(
      () => has('count_over_time(reclaimd_docker_up[5m]) >= 2'),
      60_000,
      () => `two scrapes of reclaimd:\n${server.log()}`,
    );

    await loadImage(docker, {
      tags: [`fr${run}/old:1`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: `fr-${run}`, size: 50_000 }] }],
    });
    await d.waitForMetric('reclaimd_removed_total', { resource: 'image', policy: 'old' }, (v) => v === 1, 60_000);
    expect((await listRunObjects(docker, run)).images).toEqual([]);
    // The dashboard's expressions, over a window that holds the scrapes before and after.
    await waitFor(
      () => has('sum by (resource, policy) (increase(reclaimd_removed_total{policy="old"}[5m])) > 0'),
      30_000,
      () => 'increase() of reclaimd_removed_total to count the first removal',
    );
    // Its bytes are counted in one of two counters: known bytes, or one removal of unknown size.
    // Whichever it is, its first increase shows.
    const bytes = (await d.metric('reclaimd_reclaimed_bytes_total', { resource: 'image', policy: 'old' })) ?? 0;
    const unknown = (await d.metric('reclaimd_reclaimed_unknown_total', { resource: 'image', policy: 'old' })) ?? 0;
    expect(bytes > 0 || unknown === 1, `bytes ${bytes}, unknown ${unknown}`).toBe(true);
    const counter = bytes > 0 ? 'reclaimd_reclaimed_bytes_total' : 'reclaimd_reclaimed_unknown_total';
    await waitFor(
      () => has(`sum(increase(${counter}{policy="old"}[5m])) > 0`),
      30_000,
      () => `increase() of ${counter} to count the first removal`,
    );
  });
});
