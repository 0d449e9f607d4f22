/**
 * The long-running process: cycles on the cron schedule (never two at once), the HTTP
 * endpoint, a cheap engine ping so `reclaimd_docker_up` is current between cycles, and a
 * configuration reload before every cycle that keeps the last good policies on a bad edit.
 */
import { startSchedule, warnOfRepeatedHour, type Schedule } from './schedule.js';
import type { Config, Mode } from '../core/config/config.js';
import type { Snapshot } from '../core/model/snapshot.js';
import { formatProblem } from '../core/config/problems.js';
import { EngineError } from '../engine/errors.js';
import { EngineProvider } from './engine-provider.js';
import { startHttp, type HttpServer } from './http.js';
import { loadConfig } from './load-config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { countCycle, failureReason, recordCycle, type CycleResult } from './cycle/record.js';
import type { InDoubt } from './cycle/in-doubt.js';
import { runCycle, type CycleReport } from './cycle/sweep.js';
import { LastUseTracker } from './last-use/tracker.js';
import { usesLastUse } from './last-use/store.js';
import { VERSION } from '../lib/version.js';
import { checkPressure, PressureWatch, type Holding } from './pressure/watch.js';
import { recordDisk, recordPressure } from './pressure/metrics.js';
import { fingerprint } from './pressure/fingerprint.js';
import { snapshotNeeds } from './cycle/inputs.js';
import { createKnownSeries } from './metric-series.js';
import { PolicySetLog } from './policy-set.js';

/** How often, at most, last use recorded from events between cycles is written to state.dir. */
const STATE_FLUSH_MS = 5 * 60_000;

export interface DaemonOptions {
  readonly configPath: string;
  readonly initialConfig: Config;
  readonly modeOverride: Mode | undefined;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Overrides `metrics.listen` (tests use port 0). */
  readonly listen?: string;
}

export class Daemon {
  private config: Config;
  private provider: EngineProvider;
  private running: Promise<CycleReport | undefined> | undefined;
  /** The running cycle's own stop, and the mode it runs in: a reload to dry-run stops its removals. */
  private current: { readonly stop: AbortController; readonly mode: Mode } | undefined;
  private task: Schedule | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private http: HttpServer | undefined;
  private readonly shutdown = new AbortController();
  private dockerUp = false;
  private configOk = true;
  private lastProblems = '';
  private lastCycle: { result: CycleResult; at: string } | undefined;
  private readonly lastUse: LastUseTracker;
  private readonly pressure: PressureWatch;
  private readonly policySet: PolicySetLog;
  /** Removals started and not yet ended, fresh look and archive included. */
  private removalsInFlight = 0;
  /**
   * The last cycle's removals in doubt, and the engine they were sent to: the next cycle on the
   * same engine settles them. Kept in memory only, so they do not outlive the process.
   */
  private inDoubt: { readonly engineId: string; readonly entries: readonly InDoubt[] } | undefined;

  constructor(private readonly options: DaemonOptions) {
    this.config = options.initialConfig;
    this.provider = new EngineProvider(
      options.initialConfig.dockerHost,
      options.log,
      options.initialConfig.requestTimeoutMs,
    );
    this.lastUse = new LastUseTracker(options.log, options.metrics, { onEngineChanged: () => this.provider.reset() });
    this.pressure = new PressureWatch({
      log: options.log,
      busy: () => this.running !== undefined || this.shutdown.signal.aborted,
      check: () => this.pressureCheck(),
      trigger: (holding, because) => this.pressureCycle(holding, because),
      seen: async () => {
        const engine = await this.provider.get();
        // Services listed as a cycle lists them, so an unchanged engine gives the same digest.
        const swarmServices = snapshotNeeds(this.config).swarmServices === true;
        return fingerprint(await engine.snapshot({ containerDetails: false, swarmServices }));
      },
    });
    this.policySet = new PolicySetLog(options.log);
  }

  get mode(): Mode {
    return this.options.modeOverride ?? this.config.mode;
  }

  /** What a shutdown waits for: a running cycle, and the removals it has in flight. */
  get activity(): { readonly cycle: boolean; readonly removalsInFlight: number } {
    return { cycle: this.running !== undefined, removalsInFlight: this.removalsInFlight };
  }

  /** Starts serving and scheduling, then runs a first cycle so metrics are filled at once. */
  async start(): Promise<{ port: number }> {
    const { metrics, log } = this.options;
    metrics.configReloadOk.set(1);
    metrics.configReloadTime.set(Math.floor(Date.now() / 1000));
    metrics.info.set({ version: VERSION, mode: this.mode }, 1);
    createKnownSeries(metrics, this.config);
    this.http = await startHttp(this.options.listen ?? this.config.metrics.listen, metrics.registry, () => ({
      dockerUp: this.dockerUp,
      lastCycle: this.lastCycle,
      configOk: this.configOk,
    }));
    warnOfRepeatedHour(log);
    this.schedule();
    this.startTicker();
    this.pressure.start(this.config.pressure.intervalMs);
    log.info(
      {
        mode: this.mode,
        schedule: this.config.schedule,
        policies: this.config.policies.length,
        port: this.http.port,
        version: VERSION,
      },
      'reclaimd started',
    );
    this.policySet.note(this.config);
    void this.cycle('startup');
    return { port: this.http.port };
  }

  /** Runs a cycle unless one is already running; then it says so and returns undefined. */
  cycle(trigger: string): Promise<CycleReport | undefined> {
    if (this.shutdown.signal.aborted) return Promise.resolve(undefined);
    if (this.running) {
      this.options.log.info({ trigger }, 'a cycle is still running; this trigger is skipped');
      return Promise.resolve(undefined);
    }
    this.running = this.runOne(trigger).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops scheduling, lets the removal in flight finish, starts no new one, closes the endpoint. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    this.task?.stop();
    if (this.pinger) clearInterval(this.pinger);
    this.pressure.stop();
    await this.running;
    // What the event stream recorded since the last cycle must survive the restart.
    await this.lastUse.detach();
    await this.http?.close();
    this.options.log.info({}, 'reclaimd stopped');
  }

  private schedule(): void {
    this.task?.stop();
    // The configuration was checked when it was loaded, so this cannot throw.
    this.task = startSchedule(this.config.schedule, () => void this.cycle('schedule'), this.options.log);
  }

  private async runOne(trigger: string): Promise<CycleReport | undefined> {
    const { metrics } = this.options;
    await this.reload();
    const log = this.options.log.child({ trigger, mode: this.mode });
    const started = Date.now();
    const finish = (result: CycleResult) => {
      this.lastCycle = { result, at: new Date().toISOString() };
    };
    try {
      const engine = await this.provider.get();
      this.setDockerUp(true);
      const config = this.config;
      await this.lastUse.attach(
        {
          address: config.dockerHost,
          engineId: engine.cache.engineId,
          apiVersion: engine.apiVersion,
          timeoutMs: config.requestTimeoutMs,
        },
        config.stateDir,
        usesLastUse(config),
      );
      const usage = (snapshot: Snapshot) => this.lastUse.observe(snapshot, started);
      // Stopped by shutdown, or by a reload that turns the mode to dry-run: either way the
      // removal in flight finishes and no other starts.
      const stop = new AbortController();
      this.current = { stop, mode: this.mode };
      const signal = AbortSignal.any([this.shutdown.signal, stop.signal]);
      const inDoubt = this.carriedTo(engine.cache.engineId, log);
      const inFlight = (change: 1 | -1) => {
        this.removalsInFlight += change;
      };
      const report = await runCycle(
        engine,
        config,
        { mode: this.mode, now: started, signal, usage, inDoubt, inFlight },
        log,
      ).finally(() => {
        this.current = undefined;
      });
      this.pressure.settle(report);
      // Settled by this cycle's snapshot; what this cycle left in doubt goes to the next. A
      // cycle that threw before reporting settled nothing, so the old ones stay.
      this.inDoubt =
        report.inDoubt.length > 0 ? { engineId: engine.cache.engineId, entries: report.inDoubt } : undefined;
      await this.lastUse.flush();
      const seconds = (Date.now() - started) / 1000;
      const result = recordCycle(metrics, report, seconds);
      const failure = failureReason(report);
      recordPressure(metrics, report);
      if (report.interrupted?.startsWith('engine unreachable')) this.lostEngine();
      finish(result);
      log.info(
        {
          result,
          seconds,
          planned: report.plan.totals.count,
          plannedBytes: report.plan.totals.bytes,
          ...(report.plan.totals.unknown !== undefined ? { plannedWithUnknownBytes: report.plan.totals.unknown } : {}),
          removed: report.removed.length,
          reclaimedBytes: report.reclaimedBytes,
          skipped: report.skipped.length,
          ...(report.inDoubt.length > 0 ? { inDoubt: report.inDoubt.length } : {}),
          ...(report.earlier.length > 0
            ? {
                removedEarlier: report.earlier.length,
                reclaimedEarlierBytes: report.earlier.reduce((s, r) => s + (r.bytes ?? 0), 0),
              }
            : {}),
          kept: report.plan.kept.length,
          blocked: report.plan.blocked,
          ...(report.interrupted ? { interrupted: report.interrupted } : {}),
          ...(failure !== undefined ? { failure } : {}),
          timings: report.timings,
        },
        'cycle finished',
      );
      return report;
    } catch (err) {
      const seconds = (Date.now() - started) / 1000;
      countCycle(metrics, 'failure', seconds);
      finish('failure');
      if (err instanceof EngineError && err.kind === 'unreachable') {
        this.lostEngine();
        log.error(
          { err: err.message, seconds },
          'cycle failed: the Docker engine is unreachable; nothing was removed, will retry',
        );
      } else {
        log.error({ err: (err as Error).message, code: (err as EngineError).code, seconds }, 'cycle failed');
      }
      return undefined;
    }
  }

  /**
   * The removals in doubt the next cycle settles: none if it talks to another engine (a new
   * ID behind the same address), whose snapshot says nothing about them.
   */
  private carriedTo(engineId: string, log: Logger): readonly InDoubt[] {
    const carried = this.inDoubt;
    if (carried === undefined) return [];
    if (engineId !== '' && carried.engineId === engineId) return carried.entries;
    log.warn(
      { removals: carried.entries.length },
      'the engine is not the one the removals in doubt were sent to; they are not counted',
    );
    this.inDoubt = undefined;
    return [];
  }

  /** Whether a `when` condition holds now; only policies with `when` are looked at. */
  private async pressureCheck(): Promise<Holding | undefined> {
    if (!this.config.policies.some((p) => p.resource === 'image' && p.when !== undefined)) return undefined;
    const engine = await this.provider.get();
    const { holding, disk } = await checkPressure(this.config, engine);
    if (disk !== undefined) recordDisk(this.options.metrics, disk);
    return holding;
  }

  /** A cycle started by pressure, counted only when it really starts. */
  private pressureCycle(holding: Holding, because: string | undefined): Promise<CycleReport | undefined> {
    if (this.running || this.shutdown.signal.aborted) return Promise.resolve(undefined);
    this.options.metrics.pressureTriggers.inc({ policy: holding.policy });
    this.options.log.info(
      { policy: holding.policy, figure: holding.figure, ...(because !== undefined ? { because } : {}) },
      'pressure condition holds; starting a cycle',
    );
    return this.cycle('pressure');
  }

  private lostEngine(): void {
    this.provider.reset();
    this.setDockerUp(false);
  }

  /**
   * Every pingInterval: ping the engine (also during a cycle, so a frozen engine shows as
   * down at once) and re-read the configuration, so a schedule edit or a broken file is
   * noticed within seconds rather than at the next cycle.
   */
  private startTicker(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = setInterval(() => void this.tick(), this.config.pingIntervalMs);
  }

  private async tick(): Promise<void> {
    this.setDockerUp(await this.provider.ping(this.running !== undefined));
    if (!this.running) await this.reload();
    if (!this.running) await this.lastUse.flushEvery(STATE_FLUSH_MS);
  }

  /** SIGHUP: re-read the configuration now. */
  async reloadNow(): Promise<void> {
    this.options.log.info({}, 'reloading the configuration (SIGHUP)');
    await this.reload();
  }

  private setDockerUp(up: boolean): void {
    if (up !== this.dockerUp) {
      if (up) this.options.log.info({}, 'the Docker engine is reachable');
      else this.options.log.error({}, 'the Docker engine is unreachable');
    }
    this.dockerUp = up;
    this.options.metrics.dockerUp.set(up ? 1 : 0);
  }

  /** Re-reads the configuration; a bad edit keeps the last good one and flips a metric. */
  private async reload(): Promise<void> {
    const { metrics, log } = this.options;
    const result = await loadConfig(this.options.configPath);
    if (!result.ok) {
      const problems = result.problems.map(formatProblem);
      const key = problems.join('\n');
      if (key !== this.lastProblems) log.error({ problems }, 'configuration is invalid; keeping the last good one');
      this.lastProblems = key;
      this.configOk = false;
      metrics.configReloadOk.set(0);
      return;
    }
    this.lastProblems = '';
    // A bad edit fixed: said even when the configuration is the one kept meanwhile.
    if (!this.configOk) log.info({ policies: result.value.policies.length }, 'configuration is valid again');
    this.configOk = true;
    metrics.configReloadOk.set(1);
    metrics.configReloadTime.set(Math.floor(Date.now() / 1000));
    const before = this.config;
    this.config = result.value;
    if (this.current?.mode === 'enforce' && this.mode === 'dry-run' && !this.current.stop.signal.aborted) {
      log.warn(
        { removalsInFlight: this.removalsInFlight },
        'the mode changed to dry-run: the running cycle starts no further removal',
      );
      this.current.stop.abort('the mode changed to dry-run');
    }
    if (JSON.stringify(before) !== JSON.stringify(result.value)) {
      log.info({ policies: result.value.policies.length }, 'configuration reloaded');
      this.policySet.note(result.value);
      createKnownSeries(metrics, result.value);
      // Any change may let a cycle do what the last pressure cycle could not: not only other
      // policies, but enforce after dry-run, higher limits, less protect or inUse. A change
      // that cannot (a log level) costs one cycle that finds the same nothing.
      this.pressure.reset();
      if (before.schedule !== result.value.schedule) this.schedule();
      if (before.dockerHost !== result.value.dockerHost || before.requestTimeoutMs !== result.value.requestTimeoutMs) {
        this.provider = new EngineProvider(result.value.dockerHost, this.options.log, result.value.requestTimeoutMs);
      }
      if (before.pingIntervalMs !== result.value.pingIntervalMs) this.startTicker();
      if (before.pressure.intervalMs !== result.value.pressure.intervalMs)
        this.pressure.start(result.value.pressure.intervalMs);
      if (before.log.level !== result.value.log.level) this.options.log.level = result.value.log.level;
      if (before.metrics.listen !== result.value.metrics.listen && this.options.listen === undefined) {
        log.warn({ listen: result.value.metrics.listen }, 'metrics.listen changed; restart reclaimd to apply it');
      }
      metrics.info.reset();
      metrics.info.set({ version: VERSION, mode: this.mode }, 1);
    }
  }
}
