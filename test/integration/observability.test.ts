// The monitoring files as operators use them: promtool checks and unit-tests the alert rules,
// then a real reclaimd daemon (dry-run, against the throwaway engine) is scraped by a real
// Prometheus, which evaluates every expression of the Grafana dashboard and of the rules.
// A typo in a metric name, a label or a template variable fails here, not on a dashboard.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { cleanupRun, createVolume, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { writeConfig } from '../support/cli.js';
import { DaemonProcess, waitFor } from '../support/daemon-process.js';
import { PrometheusServer, runTool, type QueryData } from '../support/prometheus-server.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const RULES = path.join(DEPLOY, 'prometheus/rules/reclaimd.rules.yml');
const RULE_TESTS = path.join(DEPLOY, 'prometheus/tests');

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  includeAll?: boolean;
  allValue?: string;
  definition?: string;
  current?: { value?: string | string[] };
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Rule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}

const dashboard = JSON.parse(readFileSync(path.join(DEPLOY, 'grafana/reclaimd.json'), 'utf8')) as Dashboard;
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

/**
 * The values Grafana would put in for the dashboard's variables: its own interval variables,
 * then "All" (the allValue regex) for multi-value variables and the default of the others.
 */
function variableValues(): Map<string, string> {
  const values = new Map([
    ['__rate_interval', '1m'],
    ['__interval', '15s'],
    ['__range', '1h'],
    ['__range_s', '3600'],
    ['__range_ms', '3600000'],
  ]);
  for (const v of dashboard.templating.list) {
    if (v.type === 'datasource') continue;
    if (v.includeAll === true && v.allValue !== undefined) values.set(v.name, v.allValue);
    else if (typeof v.current?.value === 'string') values.set(v.name, v.current.value);
  }
  return values;
}

/** Replaces $name and ${name}; an unknown variable is an error, as it is a broken panel. */
function substitute(expr: string, values: Map<string, string>): string {
  return expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const value = values.get(braced ?? bare ?? '');
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

/** Every reclaimd_* metric name an expression mentions. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\breclaimd_[a-z_]+/g)].map((m) => m[0]);
}

describe('prometheus rules under promtool', () => {
  it('the rules and the example configuration pass promtool check', async () => {
    const rulesCheck = await runTool('promtool', ['check', 'rules', RULES]);
    expect(rulesCheck.code, rulesCheck.stdout + rulesCheck.stderr).toBe(0);
    expect(rulesCheck.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    const configCheck = await runTool('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus/prometheus.yml')]);
    expect(configCheck.code, configCheck.stdout + configCheck.stderr).toBe(0);
  });

  it('promtool test rules passes, and its tests cover every alert', async () => {
    const files = readdirSync(RULE_TESTS)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => path.join(RULE_TESTS, f));
    const result = await runTool('promtool', ['test', 'rules', ...files]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const tested = new Set(
      files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1])),
    );
    expect([...tested].sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('the rule tests fail when a rule is broken', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-rules-'));
    const broken = readFileSync(RULES, 'utf8').replace('reclaimd_docker_up == 0', 'reclaimd_docker_up == 2');
    expect(broken).not.toBe(readFileSync(RULES, 'utf8'));
    writeFileSync(path.join(dir, 'broken.rules.yml'), broken);
    const test = readFileSync(path.join(RULE_TESTS, 'reclaimd.rules.test.yml'), 'utf8').replace(
      '../rules/reclaimd.rules.yml',
      'broken.rules.yml',
    );
    writeFileSync(path.join(dir, 'test.yml'), test);
    const result = await runTool('promtool', ['test', 'rules', path.join(dir, 'test.yml')]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/alertname: ReclaimdEngineUnreachable/);
  });

  it('every alert has a summary, a description and a runbook hint', () => {
    for (const rule of rules)
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(['description', 'runbook', 'summary']);
  });
});

describe('the dashboard and the alerts against a real Prometheus scraping reclaimd', () => {
  const host = inject('dockerHost');
  const run = newRunId();
  let docker: Docker;
  let daemon: DaemonProcess | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    docker = dockerFor(host);
    // One image a dry-run policy would remove, one a report-only policy sees, one volume:
    // enough for the reclaimable, report-only and per-resource series to exist.
    const layer = { files: [{ path: 'x', size: 120_000 }] };
    await loadImage(docker, {
      tags: [`rt${run}/old:1`],
      created: new Date('2023-01-01'),
      labels: { [TEST_LABEL]: run, obs: 'remove' },
      layers: [layer],
    });
    await loadImage(docker, {
      tags: [`rt${run}/seen:1`],
      created: new Date('2023-01-02'),
      labels: { [TEST_LABEL]: run, obs: 'report' },
      layers: [{ files: [{ path: 'y', size: 80_000 }] }],
    });
    await createVolume(docker, { runId: run });
    const mine = `${TEST_LABEL}=${run}`;
    const configPath = writeConfig(
      { mode: 'dry-run', schedule: '* * * * * *', docker: { host, pingInterval: '1s' } },
      {
        'p.yaml': {
          policies: [
            { name: 'obs-remove', resource: 'image', match: { olderThan: '30d', labels: [mine, 'obs=remove'] } },
            { name: 'obs-report', resource: 'image', action: 'report', match: { labels: [mine, 'obs=report'] } },
            { name: 'obs-volumes', resource: 'volume', match: { labels: [mine] } },
          ],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    const server = await PrometheusServer.start(`127.0.0.1:${daemon.port}`, [RULES]);
    prometheus = server;
    await waitFor(
      () => server.ready(),
      60_000,
      () => `prometheus to be ready:\n${server.log()}`,
    );
    // Enough scrapes for increase(), rate() and histogram_quantile() to have two samples or more.
    await waitFor(
      async () => {
        const answer = await server.query(
          'min(count_over_time(reclaimd_reclaimable_bytes{policy="obs-remove"}[1h])) >= 3',
        );
        return (answer.data?.result.length ?? 0) > 0 ? true : undefined;
      },
      60_000,
      () => `three scrapes of reclaimd by prometheus:\n${server.log()}`,
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    daemon?.kill('SIGKILL');
    await cleanupRun(docker, run);
  });

  async function evaluate(expr: string): Promise<QueryData> {
    const answer = await prometheus!.query(expr);
    expect(answer, expr).toMatchObject({ status: 'success' });
    return answer.data!;
  }

  it('every dashboard expression evaluates, and all but the enforce-only panels have data', async () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const values = variableValues();
    // In dry-run nothing is removed or skipped: these counters exist at 0 from the start, but
    // may not yet have the two samples increase() needs.
    const emptyInDryRun = new Set([
      'Reclaimed bytes by policy',
      'Removed objects by policy',
      'Skipped removals by reason',
    ]);
    // Series that exist only with policies this configuration does not have (when.diskUsageAbove,
    // pressure policies, archive): "panel refId".
    const emptyWithoutSuchPolicies = new Set([
      'Data-root disk usage A',
      'Pressure policies A',
      'Pressure policies B',
      'Pressure policies C',
      'Last use and archives C',
    ]);
    const series = new Map<string, number>();
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const data = await evaluate(substitute(target.expr, values));
        if (!emptyInDryRun.has(panel.title) && !emptyWithoutSuchPolicies.has(`${panel.title} ${target.refId}`))
          series.set(`${panel.title} ${target.refId}`, data.result.length);
      }
    }
    expect([...series].filter(([, n]) => n === 0)).toEqual([]);
    for (const core of [
      'Reclaimable now A',
      'Reclaimable bytes A',
      'Engine up A',
      'Cycles by result A',
      'Report-only bytes A',
    ]) {
      expect(series.get(core), core).toBeGreaterThan(0);
    }
  });

  it('the variables find the scraped daemon', async () => {
    const values = variableValues();
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      // label_values(metric, label) is Grafana's; count by (label) (metric) is the same question in PromQL.
      const m = /^label_values\((.+), (\w+)\)$/.exec(v.definition ?? '');
      expect(m, v.name).not.toBeNull();
      const data = await evaluate(`count by (${m![2]}) (${substitute(m![1]!, values)})`);
      expect(data.result.length, v.name).toBeGreaterThan(0);
    }
  });

  it('every alert expression evaluates, and Prometheus evaluates the loaded rules without error', async () => {
    for (const rule of rules) await evaluate(rule.expr);
    type RulesData = { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    const loaded = await waitFor(
      async () => {
        const answer = await prometheus!.api<RulesData>('rules');
        const all = answer.data?.groups.flatMap((g) => g.rules) ?? [];
        return all.length === rules.length && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      30_000,
      () => 'every rule to be evaluated once',
    );
    expect(loaded.filter((r) => r.health !== 'ok')).toEqual([]);
  });

  it('every metric the dashboard and the rules name is one reclaimd exports', async () => {
    const { body } = await daemon!.get('/metrics');
    const exported = new Set(
      [...body.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) =>
        m[2] === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m[1]! + s) : [m[1]!],
      ),
    );
    const named = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...rules.map((r) => r.expr)].flatMap(
      metricNames,
    );
    expect(named.filter((n) => !exported.has(n))).toEqual([]);
  });

  it('/metrics has no naming problems under promtool check metrics, except prom-client’s own gauges', async () => {
    const { body } = await daemon!.get('/metrics');
    const result = await runTool('promtool', ['check', 'metrics'], body);
    // prom-client's default process metrics include three gauges named *_total
    // (nodejs_active_handles_total and friends); they are not ours to rename.
    const problems = (result.stdout + result.stderr).split('\n').filter((l) => l.trim() !== '');
    expect(
      problems.filter(
        (l) => !/^reclaimd_nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(l),
      ),
    ).toEqual([]);
    // The check does find problems: a counter without _total is reported.
    const bad = await runTool(
      'promtool',
      ['check', 'metrics'],
      '# HELP reclaimd_bad_bytes x\n# TYPE reclaimd_bad_bytes counter\nreclaimd_bad_bytes 1\n',
    );
    expect(bad.stdout + bad.stderr).toMatch(/reclaimd_bad_bytes counter metrics should have "_total" suffix/);
  });

  it('the dashboard is well-formed: unique ids, the datasource variable everywhere', () => {
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource' });
    for (const p of panels) expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });
});

describe('"Reclaimable now", evaluated by promtool on made-up series', () => {
  // The panel falls back to 0 only where a cycle has run and nothing is reclaimable. Where the
  // plan would remove objects whose bytes are unknown, it must not say 0: it shows the known
  // bytes, or nothing when none are known (the unknown count has its own panel).
  const panel = panels.find((p) => p.title === 'Reclaimable now')!;
  const expr = substitute(
    panel.targets![0]!.expr,
    new Map([
      ['job', '.*'],
      ['instance', '.*'],
      ['window', '1h'],
    ]),
  );
  const engine = `reclaimd_engine_objects{job="r", instance="a:9476", resource="image"}`;
  const unknown = `reclaimd_reclaimable_unknown_objects{job="r", instance="a:9476", resource="volume", policy="v"}`;
  const bytes = `reclaimd_reclaimable_bytes{job="r", instance="a:9476", resource="image", policy="i"}`;
  const cases: Array<{ name: string; series: string[]; expect: string[] }> = [
    { name: 'nothing reclaimable after a cycle: 0', series: [engine], expect: ['0'] },
    { name: 'only objects of unknown size: no value, never 0', series: [engine, unknown], expect: [] },
    { name: 'known bytes beside unknown ones: the known bytes', series: [engine, unknown, bytes], expect: ['100'] },
    { name: 'no cycle yet: no value', series: [], expect: [] },
  ];

  it.each(cases)('$name', async ({ series, expect: values }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-panel-'));
    const input = series.map((name) => ({
      series: name,
      values: name === engine ? '5x10' : name === unknown ? '2x10' : '100x10',
    }));
    const test = {
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: input,
          promql_expr_test: [
            { expr, eval_time: '5m', exp_samples: values.map((value) => ({ labels: '{}', value: Number(value) })) },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, 'panel.test.yml'), JSON.stringify(test));
    const result = await runTool('promtool', ['test', 'rules', path.join(dir, 'panel.test.yml')]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});

describe('the dashboard when nothing is reclaimable', () => {
  const host = inject('dockerHost');
  // No fixture carries this run's label, so the one policy selects nothing on the engine.
  const run = newRunId();
  let daemon: DaemonProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  const reclaimableNow = panels.find((p) => p.title === 'Reclaimable now')!;

  beforeAll(async () => {
    const configPath = writeConfig(
      { mode: 'dry-run', schedule: '* * * * * *', docker: { host, pingInterval: '1s' } },
      {
        'p.yaml': {
          policies: [{ name: 'obs-nothing', resource: 'image', match: { labels: [`${TEST_LABEL}=${run}`] } }],
        },
      },
    );
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    const server = await PrometheusServer.start(`127.0.0.1:${daemon.port}`, []);
    prometheus = server;
    await waitFor(
      () => server.ready(),
      60_000,
      () => `prometheus to be ready:\n${server.log()}`,
    );
    // A cycle has been recorded and scraped: the engine's object counts are there.
    await waitFor(
      async () => {
        const answer = await server.query('reclaimd_engine_objects{resource="image"}');
        return (answer.data?.result.length ?? 0) > 0 ? true : undefined;
      },
      60_000,
      () => `a scraped cycle:\n${server.log()}`,
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    daemon?.kill('SIGKILL');
  });

  async function samples(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const answer = await prometheus!.query(expr);
    expect(answer, expr).toMatchObject({ status: 'success' });
    return answer.data!.result as { metric: Record<string, string>; value: [number, string] }[];
  }

  it('"Reclaimable now" shows 0, not "No data"', async () => {
    // What the panel had to cope with: no reclaimable series at all.
    expect(await samples('reclaimd_reclaimable_bytes')).toEqual([]);
    expect(reclaimableNow.targets).toHaveLength(1);
    const result = await samples(substitute(reclaimableNow.targets![0]!.expr, variableValues()));
    expect(result.map((s) => s.value[1])).toEqual(['0']);
  });

  it('"Reclaimable now" stays empty for an instance that is not there, rather than a made-up 0', async () => {
    const values = variableValues();
    values.set('instance', 'no-such-host:9476');
    expect(await samples(substitute(reclaimableNow.targets![0]!.expr, values))).toEqual([]);
    values.set('instance', `127.0.0.1:${daemon!.port}`);
    expect((await samples(substitute(reclaimableNow.targets![0]!.expr, values))).map((s) => s.value[1])).toEqual(['0']);
  });
});
