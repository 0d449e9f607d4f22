// The second validation phase and the configuration it builds: cron and meaning checks,
// defaults, duplicate names across files, evaluation order, where each policy came from, and
// a result nobody can change by accident.
import { describe, expect, it } from 'vitest';
import { checkConfigText, DEFAULTS, resolveConfig, type TextFile } from '../../src/core/config/config.js';
import type { RawConfig } from '../../src/core/config/schema.js';
import { formatProblem, type Problem, type Result } from '../../src/core/config/problems.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function problems<T>(r: Result<T>): Problem[] {
  if (r.ok) throw new Error('expected problems, but the configuration was accepted');
  return r.problems;
}

function value<T>(r: Result<T>): T {
  if (!r.ok)
    throw new Error(`expected the configuration to be accepted, got:\n${r.problems.map(formatProblem).join('\n')}`);
  return r.value;
}

const lines = <T>(r: Result<T>): string[] => problems(r).map(formatProblem);

function raw(text: string): RawConfig {
  return value(checkConfigText({ file: 'config.yaml', text }));
}

const MINIMAL = raw('policies: [ "policies/*.yaml" ]\n');

const volumes: TextFile = {
  file: 'policies/a.yaml',
  text: yaml(
    'policies:', //
    '  - name: old-volumes',
    '    resource: volume',
    '    match: { olderThan: 7d }',
  ),
};

describe('checkConfigText', () => {
  it('returns the raw configuration when it is valid', () => {
    const text = yaml('mode: enforce', 'schedule: "0 3 * * *"', 'policies: [ a.yaml, "b/*.yaml" ]');
    expect(raw(text)).toEqual({ mode: 'enforce', schedule: '0 3 * * *', policies: ['a.yaml', 'b/*.yaml'] });
  });

  it('pins a bad schedule to its value and says what is wrong with it', () => {
    const text = yaml('mode: dry-run', 'schedule: "every 5 minutes"', 'policies: [ a.yaml ]');
    expect(lines(checkConfigText({ file: 'config.yaml', text }))).toEqual([
      'config.yaml:2:11: /schedule: expected a cron expression like "*/30 * * * *", got "every 5 minutes": it has 3 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)',
    ]);
  });

  it('accepts 5- and 6-field cron expressions and rejects out-of-range fields', () => {
    for (const schedule of ['*/30 * * * *', '0 3 * * 1-5', '*/10 * * * * *', '@daily']) {
      expect(raw(yaml(`schedule: "${schedule}"`, 'policies: [ a.yaml ]')).schedule).toBe(schedule);
    }
    const bad: Array<[string, string]> = [
      ['61 * * * *', 'minute 61 is out of range 0–59'],
      ['* * * *', 'it has 4 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)'],
      ['*/0 * * * *', 'minute step "/0" must be between 1 and 59'],
      ['0 0 31 4 *', 'it never fires (no such day)'],
    ];
    for (const [schedule, why] of bad) {
      expect(
        lines(checkConfigText({ file: 'c.yaml', text: yaml('policies: [ a.yaml ]', `schedule: "${schedule}"`) })),
      ).toEqual([`c.yaml:2:11: /schedule: expected a cron expression like "*/30 * * * *", got "${schedule}": ${why}`]);
    }
  });

  it('passes on every schema problem of the file', () => {
    const text = yaml('mode: enforcing', 'policies: []', 'log: { level: loud }');
    expect(lines(checkConfigText({ file: 'c.yaml', text }))).toEqual([
      'c.yaml:1:7: /mode: expected one of "dry-run", "enforce", got "enforcing"',
      'c.yaml:2:11: /policies: expected at least 1 item(s), got an empty list',
      'c.yaml:3:15: /log/level: expected one of "fatal", "error", "warn", "info", "debug", "trace", got "loud"',
    ]);
  });

  it('refuses a ping interval of zero, which would ping the engine without pause', () => {
    const found = problems(
      checkConfigText({ file: 'c.yaml', text: yaml('policies: [ a.yaml ]', 'docker: { pingInterval: 0s }') }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file: 'c.yaml', line: 2, col: 25, where: '/docker/pingInterval' });
    expect(found[0]?.message).toContain('"0s"');
  });

  // Node's timers overflow above about 24.8 days and then fire at once: a "4w" interval would
  // ping the engine thousands of times a second.
  it.each(['pingInterval: 4w', 'timeout: 2d'])('refuses %s, longer than a day', (setting) => {
    const found = problems(
      checkConfigText({ file: 'c.yaml', text: yaml('policies: [ a.yaml ]', `docker: { ${setting} }`) }),
    );
    expect(found.map((p) => [p.where, p.message])).toEqual([
      [`/docker/${setting.split(':')[0]}`, `expected a duration of at most 1d, got "${setting.split(': ')[1]}"`],
    ]);
  });
});

describe('resolveConfig: defaults and overrides', () => {
  it('applies the documented defaults', () => {
    const config = value(resolveConfig('config.yaml', MINIMAL, [volumes]));
    expect(config).toMatchObject({
      file: 'config.yaml',
      mode: 'dry-run',
      schedule: '*/30 * * * *',
      dockerHost: undefined,
      pingIntervalMs: 15_000,
      policyPatterns: ['policies/*.yaml'],
      protect: { labels: [], repositories: [] },
      limits: { maxRemovalsPerRun: 500 },
      metrics: { listen: '0.0.0.0:9476' },
      log: { level: 'info' },
    });
    expect(DEFAULTS).toMatchObject({
      mode: 'dry-run',
      schedule: '*/30 * * * *',
      maxRemovalsPerRun: 500,
      listen: '0.0.0.0:9476',
      logLevel: 'info',
    });
  });

  it('uses every value the file sets instead of the default', () => {
    const text = yaml(
      'mode: enforce',
      'schedule: "0 3 * * *"',
      'docker: { host: "tcp://engine:2375", pingInterval: 1m }',
      'policies: [ a.yaml ]',
      'protect: { labels: [ keep ], repositories: [ "base/**" ] }',
      'limits: { maxRemovalsPerRun: 0 }',
      'metrics: { listen: "127.0.0.1:9100" }',
      'log: { level: debug }',
    );
    const config = value(resolveConfig('c.yaml', raw(text), [volumes]));
    expect(config).toMatchObject({
      mode: 'enforce',
      schedule: '0 3 * * *',
      dockerHost: 'tcp://engine:2375',
      pingIntervalMs: 60_000,
      policyPatterns: ['a.yaml'],
      protect: { labels: ['keep'], repositories: ['base/**'] },
      // 0 is a value, not "unset".
      limits: { maxRemovalsPerRun: 0 },
      metrics: { listen: '127.0.0.1:9100' },
      log: { level: 'debug' },
    });
  });

  it('returns a deeply frozen configuration', () => {
    const text = yaml('policies: [ a.yaml ]', 'protect: { labels: [ keep ] }');
    const images: TextFile = {
      file: 'i.yaml',
      text: yaml(
        'policies:',
        '  - name: i',
        '    resource: image',
        '    match: { tags: [ "pr-*" ] }',
        '    keep: { newest: 1 }',
      ),
    };
    const config = value(resolveConfig('c.yaml', raw(text), [volumes, images]));
    const policy = config.policies[0];
    const image = config.policies[1];
    const objects: Record<string, unknown> = {
      config,
      policies: config.policies,
      protect: config.protect,
      'protect.labels': config.protect.labels,
      limits: config.limits,
      metrics: config.metrics,
      log: config.log,
      'policies[0]': policy,
      'policies[0].match': policy?.match,
      'policies[0].source': policy?.source,
      'policies[1].match.tags': image?.resource === 'image' ? image.match.tags : undefined,
      'policies[1].keep': image?.resource === 'image' ? image.keep : undefined,
    };
    const notFrozen = Object.entries(objects).filter(
      ([, o]) => !(typeof o === 'object' && o !== null && Object.isFrozen(o)),
    );
    expect(notFrozen.map(([name]) => name)).toEqual([]);
    // ESM is strict mode: writes to frozen objects throw instead of being silently dropped.
    expect(() => {
      (config as { mode: string }).mode = 'enforce';
    }).toThrow(TypeError);
    expect(() => (config.protect.labels as string[]).push('x')).toThrow(TypeError);
    expect(() => {
      (config.policies[0]?.match as { olderThan?: string }).olderThan = '1s';
    }).toThrow(TypeError);
    expect(config.mode).toBe('dry-run');
    expect(config.policies[0]?.match).toEqual({ olderThan: '7d' });
  });
});

describe('resolveConfig: policies', () => {
  const file = (name: string, ...policyLines: string[]): TextFile => ({
    file: name,
    text: yaml('policies:', ...policyLines),
  });

  it('keeps file order, then list order, and records where each policy was written', () => {
    const a = file(
      'b-first.yaml',
      '  - name: one',
      '    resource: volume',
      '    match: {}',
      '',
      '  - { name: two, resource: image, match: { dangling: true } }',
    );
    const b = file(
      'a-second.yaml',
      '# comment',
      '  - name: three',
      '    resource: container',
      '    match: { stoppedFor: 1d }',
    );
    const config = value(resolveConfig('c.yaml', MINIMAL, [a, b]));
    expect(config.policies.map((p) => [p.name, p.source])).toEqual([
      ['one', { file: 'b-first.yaml', line: 2 }],
      ['two', { file: 'b-first.yaml', line: 6 }],
      ['three', { file: 'a-second.yaml', line: 3 }],
    ]);
    expect(config.policies[2]).toEqual({
      name: 'three',
      resource: 'container',
      match: { stoppedFor: '1d' },
      source: { file: 'a-second.yaml', line: 3 },
    });
  });

  it('accepts a file with no policies', () => {
    expect(value(resolveConfig('c.yaml', MINIMAL, [{ file: 'p.yaml', text: 'policies: []\n' }])).policies).toEqual([]);
  });

  it('reports a duplicate name at the later policy, naming where the first one is', () => {
    const a = file('policies/a.yaml', '  - name: dup', '    resource: volume', '    match: {}');
    const b = file(
      'policies/b.yaml',
      '  - name: other',
      '    resource: volume',
      '    match: {}',
      '  - name: dup',
      '    resource: image',
      '    match: {}',
    );
    expect(lines(resolveConfig('c.yaml', MINIMAL, [a, b]))).toEqual([
      'policies/b.yaml:5:11: policy "dup" /name: duplicate policy name; first defined at policies/a.yaml:2:5',
    ]);
  });

  it('reports every repetition of a name, within one file too', () => {
    const a = file(
      'p.yaml',
      '  - { name: dup, resource: volume, match: {} }',
      '  - { name: dup, resource: volume, match: {} }',
      '  - { name: dup, resource: volume, match: {} }',
    );
    expect(lines(resolveConfig('c.yaml', MINIMAL, [a]))).toEqual([
      'p.yaml:3:13: policy "dup" /name: duplicate policy name; first defined at p.yaml:2:5',
      'p.yaml:4:13: policy "dup" /name: duplicate policy name; first defined at p.yaml:2:5',
    ]);
  });

  it('reports combinations that can never select anything', () => {
    const a = file(
      'p.yaml',
      '  - name: dangling',
      '    resource: image',
      '    match:',
      '      dangling: true',
      '      repositories: [ "ci/**" ]',
      '      tags: [ "pr-*" ]',
      '    keep: { newest: 2 }',
    );
    expect(lines(resolveConfig('c.yaml', MINIMAL, [a]))).toEqual([
      'p.yaml:6:21: policy "dangling" /match/repositories: can never match together with dangling: true, because dangling images have no tags',
      'p.yaml:7:13: policy "dangling" /match/tags: can never match together with dangling: true, because dangling images have no tags',
      'p.yaml:8:21: policy "dangling" /keep/newest: keep.newest counts per repository, and dangling images have none; remove it or set dangling: false',
    ]);
  });

  it('allows tags and keep.newest with dangling: false', () => {
    const a = file(
      'p.yaml',
      '  - name: tagged',
      '    resource: image',
      '    match: { dangling: false, tags: [ "pr-*" ] }',
      '    keep: { newest: 2 }',
    );
    expect(value(resolveConfig('c.yaml', MINIMAL, [a])).policies).toHaveLength(1);
  });

  it('reports the problems of every file, in file order, not only the first', () => {
    const broken = file(
      '1.yaml',
      '  - name: a',
      '    resource: volume',
      '    match: { olderThan: 7 days }',
      '  - name: b',
      '    resource: volume',
    );
    const empty: TextFile = { file: '2.yaml', text: '' };
    const syntax: TextFile = { file: '3.yaml', text: 'policies: [\n' };
    const meaning = file(
      '4.yaml',
      '  - { name: c, resource: image, match: { dangling: true, tags: [ x ] } }',
      '  - { name: c, resource: volume, match: {} }',
    );
    const found = problems(resolveConfig('c.yaml', MINIMAL, [broken, empty, syntax, meaning]));
    expect(found.map((p) => [p.file, p.where])).toEqual([
      ['1.yaml', 'policy "a" /match/olderThan'],
      ['1.yaml', 'policy "b"'],
      ['2.yaml', ''],
      ['3.yaml', ''],
      ['4.yaml', 'policy "c" /match/tags'],
      ['4.yaml', 'policy "c" /name'],
    ]);
    expect(found.filter((p) => p.file !== '3.yaml').map((p) => p.line)).toEqual([4, 5, 1, 2, 3]);
  });

  it('returns the same configuration for the same input (it is pure)', () => {
    const first = value(resolveConfig('c.yaml', MINIMAL, [volumes]));
    const second = value(resolveConfig('c.yaml', MINIMAL, [volumes]));
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });
});
