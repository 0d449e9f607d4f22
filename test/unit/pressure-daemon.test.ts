// The daemon's single-flight guard with every trigger at once: the cron schedule (every
// second), the pressure watch (every second, its condition always holding) and manual calls
// (every 450 ms: at every 230 ms the 150 ms cycles kept the guard busy two thirds of the time,
// and once in a session a loaded machine let fewer than two scheduled cycles through in 20 s). The cycle itself is replaced by a slow stand-in that records how
// many run at the same moment; the engine address points nowhere, so no engine is touched.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Daemon } from '../../src/runtime/daemon.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { loadConfig } from '../../src/runtime/load-config.js';
import type { CycleReport } from '../../src/runtime/cycle/sweep.js';
import { writeConfig } from '../support/cli.js';

const quiet = () => createLogger('error', new Writable({ write: (_c, _e, done) => done() }));

describe('cycles never overlap', () => {
  it('with schedule, pressure and manual triggers firing together', async () => {
    const configPath = writeConfig(
      {
        schedule: '* * * * * *',
        docker: { host: 'unix:///nonexistent/reclaimd-test.sock', pingInterval: '1s' },
        pressure: { interval: '1s' },
      },
      { 'p.yaml': { policies: [{ name: 'budget', resource: 'image', match: {}, when: { totalSizeAbove: '1B' } }] } },
    );
    const loaded = await loadConfig(configPath);
    if (!loaded.ok) throw new Error('config rejected');
    const metrics = createMetrics();
    const daemon = new Daemon({
      configPath,
      initialConfig: loaded.value,
      modeOverride: undefined,
      log: quiet(),
      metrics,
      listen: '127.0.0.1:0',
    });
    let running = 0;
    let maxRunning = 0;
    const started: string[] = [];
    // Stand-ins for the parts that would reach the engine: a slow cycle and a condition that holds.
    const internals = daemon as unknown as {
      runOne(trigger: string): Promise<CycleReport | undefined>;
      pressureCheck(): Promise<unknown>;
    };
    internals.runOne = async (trigger) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      started.push(trigger);
      await new Promise((r) => setTimeout(r, 150));
      running--;
      return { removed: [{}] } as unknown as CycleReport;
    };
    internals.pressureCheck = async () => ({ policy: 'budget', figure: 100 });
    await daemon.start();
    const manual = setInterval(() => void daemon.cycle('manual'), 450);
    try {
      const deadline = Date.now() + 20_000;
      const seen = (t: string) => started.filter((s) => s === t).length;
      while (Date.now() < deadline && !(seen('schedule') >= 2 && seen('pressure') >= 2 && seen('manual') >= 2))
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearInterval(manual);
      await daemon.stop();
    }
    expect(started, started.join(' ')).toContain('startup');
    expect(started.filter((s) => s === 'schedule').length).toBeGreaterThanOrEqual(2);
    expect(started.filter((s) => s === 'pressure').length).toBeGreaterThanOrEqual(2);
    expect(started.filter((s) => s === 'manual').length).toBeGreaterThanOrEqual(2);
    expect(maxRunning).toBe(1);
    // A pressure trigger is counted only when its cycle really started.
    const triggers = (await metrics.registry.getSingleMetric('reclaimd_pressure_triggers_total')?.get())?.values[0]
      ?.value;
    expect(triggers).toBe(started.filter((s) => s === 'pressure').length);
  }, 30_000);
});
