// Counter series exist at 0 from the moment their policies load. A series that first appears
// at 1 has no earlier sample, so PromQL's increase() never counts that first step: the
// dashboard's "reclaimed in range" (increase of reclaimd_reclaimed_bytes_total) missed the
// first removal of every policy, and ReclaimdCyclesFailing (increase of
// reclaimd_cycles_total{result="failure"}) the first failure. Here the daemon runs against an
// engine that is not there, so nothing is ever removed: every series below is one it created.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Daemon } from '../../src/runtime/daemon.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { loadConfig } from '../../src/runtime/load-config.js';
import { writeConfig } from '../support/cli.js';

const quiet = () => createLogger('error', new Writable({ write: (_c, _e, done) => done() }));

const settings = {
  schedule: '0 0 1 1 *',
  docker: { host: 'unix:///nonexistent/reclaimd-test.sock', pingInterval: '1h' },
  pressure: { interval: '1h' },
};
const images = {
  policies: [
    { name: 'old-ci', resource: 'image', match: { repositories: ['ci/**'] }, archive: { dir: '/tmp' } },
    { name: 'lru', resource: 'image', match: {}, when: { diskUsageAbove: '90%' } },
    { name: 'only-look', resource: 'image', match: { dangling: true }, action: 'report' },
  ],
};
const containers = {
  policies: [{ name: 'exited', resource: 'container', match: { status: ['exited'] }, removeAnonymousVolumes: true }],
};

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function started(configPath: string): Promise<Metrics> {
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) throw new Error('config rejected');
  const metrics = createMetrics();
  daemon = new Daemon({
    configPath,
    initialConfig: loaded.value,
    modeOverride: undefined,
    log: quiet(),
    metrics,
    listen: '127.0.0.1:0',
  });
  await daemon.start();
  return metrics;
}

/** The exposition's sample lines of these metrics, without HELP and TYPE. */
async function samples(metrics: Metrics, ...names: string[]): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((l) => names.some((n) => l.startsWith(`${n}{`) || l.startsWith(`${n} `)));
}

describe('counter series at start', () => {
  it('exist at 0 for every policy that removes, and for every cycle result', async () => {
    const metrics = await started(writeConfig(settings, { 'a.yaml': images, 'b.yaml': containers }));
    const removal = await samples(
      metrics,
      'reclaimd_removed_total',
      'reclaimd_reclaimed_bytes_total',
      'reclaimd_reclaimed_unknown_total',
    );
    for (const name of ['reclaimd_removed_total', 'reclaimd_reclaimed_bytes_total', 'reclaimd_reclaimed_unknown_total'])
      for (const labels of [
        'resource="image",policy="old-ci"',
        'resource="image",policy="lru"',
        'resource="container",policy="exited"',
        // A container policy with removeAnonymousVolumes removes volumes too, counted under its name.
        'resource="volume",policy="exited"',
      ])
        expect(removal).toContain(`${name}{${labels}} 0`);
    // A report-only policy never removes: it has no removal series.
    expect(removal.filter((l) => l.includes('only-look'))).toEqual([]);
    const cycles = await samples(metrics, 'reclaimd_cycles_total');
    expect(cycles).toContain('reclaimd_cycles_total{result="success"} 0');
    expect(cycles).toContain('reclaimd_cycles_total{result="blocked"} 0');
    // The startup cycle may already have failed on the missing engine: 0 or 1, but there.
    expect(cycles.some((l) => /^reclaimd_cycles_total\{result="failure"\} [01]$/.test(l))).toBe(true);
    const rest = await samples(
      metrics,
      'reclaimd_skipped_total',
      'reclaimd_archived_total',
      'reclaimd_archived_bytes_total',
      'reclaimd_pressure_triggers_total',
      'reclaimd_policy_skipped_total',
    );
    expect(rest).toEqual(
      expect.arrayContaining([
        'reclaimd_skipped_total{resource="image",reason="conflict"} 0',
        'reclaimd_skipped_total{resource="image",reason="archive-failed"} 0',
        'reclaimd_skipped_total{resource="container",reason="error"} 0',
        'reclaimd_skipped_total{resource="volume",reason="gone"} 0',
        'reclaimd_archived_total{policy="old-ci"} 0',
        'reclaimd_archived_bytes_total{policy="old-ci"} 0',
        'reclaimd_pressure_triggers_total{policy="lru"} 0',
        'reclaimd_policy_skipped_total{policy="lru",reason="disk_unknown"} 0',
      ]),
    );
  });

  it('a policy a reload adds has its series at 0 as soon as it loads; a removed one keeps its own', async () => {
    const configPath = writeConfig(settings, { 'a.yaml': images });
    const metrics = await started(configPath);
    expect(await samples(metrics, 'reclaimd_removed_total')).not.toContain(
      'reclaimd_removed_total{resource="container",policy="exited"} 0',
    );
    writeFileSync(path.join(path.dirname(configPath), 'policies', 'a.yaml'), stringify(containers));
    await daemon?.reloadNow();
    const after = await samples(metrics, 'reclaimd_removed_total');
    expect(after).toContain('reclaimd_removed_total{resource="container",policy="exited"} 0');
    // A counter never goes away while the process lives: old-ci's stays, at what it counted.
    expect(after).toContain('reclaimd_removed_total{resource="image",policy="old-ci"} 0');
  });
});
