// What ends the daemon's wait after a pressure cycle that could do nothing more. The wait
// held back a cycle that could now remove things: a reload that changed only `mode` (the
// path the dry-run wait message points to), `limits`, `protect` or `inUse` kept it waiting,
// since only a change of `policies` ended it; and the digest of the images and containers
// missed a container that exits (a container policy can take it, then its image) and a swarm
// service removed (it frees the image it named). Under disk pressure with a daily schedule,
// that held removals back for up to a day. The daemon here runs its real cycle and reload
// on the fake engine; only the engine connection and the pressure check are stand-ins.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Daemon } from '../../src/runtime/daemon.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { loadConfig } from '../../src/runtime/load-config.js';
import type { PressureWatch, Holding } from '../../src/runtime/pressure/watch.js';
import { fingerprint } from '../../src/runtime/pressure/fingerprint.js';
import { FakeEngine } from '../support/fake-engine.js';
import { container, image, snapshot } from '../support/builders.js';
import { writeConfig } from '../support/cli.js';
import { captureLog } from '../support/capture-log.js';

const settings = {
  schedule: '0 0 1 1 *',
  mode: 'dry-run',
  docker: { host: 'unix:///nonexistent/reclaimd-test.sock', pingInterval: '1h' },
};
// Always holds: every image is more than one byte.
const budget = { name: 'budget', resource: 'image', match: {}, when: { totalSizeAbove: '1B' } };
const stopped = { name: 'stopped', resource: 'container', match: {} };

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

interface Internals {
  provider: unknown;
  readonly pressure: PressureWatch;
  pressureCheck(): Promise<Holding | undefined>;
}

/**
 * A daemon on `engine` whose pressure condition holds, after one real cycle (which the wait
 * begins after); `pressureCycles` lists the cycles the watch starts from then on.
 */
async function waiting(engine: FakeEngine, settingsOverride: Record<string, unknown> = {}) {
  const configPath = writeConfig({ ...settings, ...settingsOverride }, { 'p.yaml': { policies: [budget, stopped] } });
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) throw new Error('config rejected');
  const { log, lines } = captureLog();
  daemon = new Daemon({
    configPath,
    initialConfig: loaded.value,
    modeOverride: undefined,
    log,
    metrics: createMetrics(),
    listen: '127.0.0.1:0',
  });
  const internals = daemon as unknown as Internals;
  const adapter = Object.assign(engine, { cache: { engineId: 'fake' } });
  internals.provider = { get: async () => adapter, reset: () => undefined, ping: async () => true };
  internals.pressureCheck = async () => ({ policy: 'budget', figure: 1000, step: 10 });
  const report = await daemon.cycle('startup');
  expect(report?.plan.pressure?.[0]?.state).toBe('active');
  const before = lines.length;
  const pressureCycles = () =>
    lines.slice(before).filter((l) => l['msg'] === 'pressure condition holds; starting a cycle');
  // Two checks that see no change: the first takes the figure growth is counted from.
  await internals.pressure.tick();
  await internals.pressure.tick();
  expect(pressureCycles()).toEqual([]);
  return { configPath, lines, pressureCycles, tick: () => internals.pressure.tick() };
}

const app = image({ id: 'sha256:app', tags: ['app:1'], layers: [['L1', 1000]] });

describe('the wait after a pressure cycle that could do nothing more ends', () => {
  it('on a reload that changes only the mode, from dry-run to enforce', async () => {
    const engine = new FakeEngine({
      images: [app],
      containers: [container({ name: 'web', image: app, state: 'running' })],
    });
    const w = await waiting(engine);
    // Reloaded unchanged: still waiting.
    await daemon?.reloadNow();
    await w.tick();
    expect(w.pressureCycles()).toEqual([]);
    writeFileSync(w.configPath, stringify({ policies: ['policies/*.yaml'], ...settings, mode: 'enforce' }));
    await daemon?.reloadNow();
    await w.tick();
    expect(w.pressureCycles()).toHaveLength(1);
  });

  it('when a container that held an image stops', async () => {
    const engine = new FakeEngine({
      images: [app],
      containers: [container({ name: 'web', image: app, state: 'running' })],
    });
    const w = await waiting(engine, { mode: 'enforce' });
    const web = engine.containers.get('ctr-web');
    if (web === undefined) throw new Error('no container');
    web.state = 'exited';
    await w.tick();
    expect(w.pressureCycles()).toMatchObject([{ because: 'the images or containers changed' }]);
  });

  it('when a swarm service that named an image is removed', async () => {
    const engine = new FakeEngine({ images: [app], serviceImages: [{ service: 'api', reference: 'app:1' }] });
    const w = await waiting(engine, { mode: 'enforce' });
    engine.serviceImages.length = 0;
    await w.tick();
    expect(w.pressureCycles()).toMatchObject([{ because: 'the images or containers changed' }]);
  });
});

describe('fingerprint', () => {
  const base = { images: [app], containers: [container({ name: 'web', image: app, state: 'running' })] };
  const of = (parts: Parameters<typeof snapshot>[0]) => fingerprint(snapshot(parts));

  it('changes when a container changes between running and a state a container policy takes', () => {
    const exited = { ...base, containers: [container({ name: 'web', image: app, state: 'exited' })] };
    expect(of(exited)).not.toBe(of(base));
  });

  it('stays the same while a container only restarts, pauses or runs: none of them is removable', () => {
    for (const state of ['restarting', 'paused'])
      expect(of({ ...base, containers: [container({ name: 'web', image: app, state })] })).toBe(of(base));
  });

  it('changes when the images swarm services name change, whatever order they are listed in', () => {
    const two = [
      { service: 'api', reference: 'app:1' },
      { service: 'worker', reference: 'app:1' },
    ];
    expect(of({ ...base, serviceImages: two })).not.toBe(of(base));
    expect(of({ ...base, serviceImages: two })).toBe(of({ ...base, serviceImages: [...two].reverse() }));
  });
});
