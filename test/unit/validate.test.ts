// Direct tests of the first two validation layers (YAML syntax, JSON Schema): every problem is
// reported, each at the right line and column, with a message a person can act on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText, parsePolicyText } from '../../src/core/config/validate.js';
import { formatProblem, type Problem, type Result } from '../../src/core/config/problems.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function problems<T>(r: Result<T>): Problem[] {
  if (r.ok) throw new Error('expected problems, but the text was accepted');
  return r.problems;
}

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected the text to be accepted, got:\n${r.problems.map(formatProblem).join('\n')}`);
  return r.value;
}

/** The problems as the CLI prints them: `file:line:col: where: message`. */
const lines = <T>(r: Result<T>): string[] => problems(r).map(formatProblem);
const policy = (text: string): string[] => lines(parsePolicyText(text, 'p.yaml'));
const config = (text: string): string[] => lines(parseConfigText(text, 'c.yaml'));

describe('parsePolicyText: accepted files', () => {
  it('returns the parsed value and a source that locates values and keys', () => {
    const text = yaml(
      'policies:', //
      '  - name: a',
      '    resource: volume',
      '    match: { anonymous: true }',
    );
    const parsed = value(parsePolicyText(text, 'dir/p.yaml'));
    expect(parsed.value).toEqual({ policies: [{ name: 'a', resource: 'volume', match: { anonymous: true } }] });
    expect(parsed.source.file).toBe('dir/p.yaml');
    expect(parsed.source.locate(['policies', 0, 'match', 'anonymous'])).toEqual({ line: 4, col: 25 });
    expect(parsed.source.locate(['policies', 0])).toEqual({ line: 2, col: 5 });
    // A path that does not exist falls back to its nearest existing ancestor.
    expect(parsed.source.locate(['policies', 0, 'keep', 'names'])).toEqual({ line: 2, col: 5 });
    expect(parsed.source.locateKey(['policies', 0, 'match'], 'anonymous')).toEqual({ line: 4, col: 14 });
    expect(parsed.source.locateKey(['policies', 0, 'match'], 'names')).toBeUndefined();
  });

  it('accepts the shipped default policies', () => {
    const text = readFileSync(new URL('../../policies/defaults.yaml', import.meta.url), 'utf8');
    const parsed = value(parsePolicyText(text, 'policies/defaults.yaml'));
    expect(parsed.value.policies.map((p) => p.name)).toEqual([
      'dangling-images',
      'stale-ci-images',
      'exited-containers',
      'orphan-volumes',
    ]);
  });

  it('accepts an empty list of policies, a byte-order mark and a few ordinary aliases', () => {
    expect(value(parsePolicyText('policies: []\n', 'p.yaml')).value).toEqual({ policies: [] });
    expect(value(parsePolicyText('\ufeffpolicies: []\n', 'p.yaml')).value).toEqual({ policies: [] });
    const text = yaml(
      'policies:',
      '  - name: a',
      '    resource: volume',
      '    match: &m { anonymous: true, olderThan: 7d }',
      '  - name: b',
      '    resource: volume',
      '    match: *m',
    );
    expect(value(parsePolicyText(text, 'p.yaml')).value.policies[1]).toEqual({
      name: 'b',
      resource: 'volume',
      match: { anonymous: true, olderThan: '7d' },
    });
  });
});

describe('parsePolicyText: schema problems', () => {
  it('reports every problem in the file, in line order, each at the offending value', () => {
    const text = yaml(
      'policies:',
      '  - name: images',
      '    resource: image',
      '    match:',
      '      olderThan: 7 days',
      '      tags: "pr-*"',
      '    keep: { newest: -1, tags: [ "[abc" ] }',
      '  - name: containers',
      '    resource: container',
      '    match: { status: [ exited, running ], exitCode: [], labels: [ "=ci" ] }',
      '    removeAnonymousVolumes: "yes"',
    );
    expect(policy(text)).toEqual([
      'p.yaml:5:18: policy "images" /match/olderThan: expected a duration like 30s, 15m, 6h, 7d or 2w, got "7 days"',
      'p.yaml:6:13: policy "images" /match/tags: expected a list, got "pr-*"',
      'p.yaml:7:21: policy "images" /keep/newest: expected a whole number ≥ 0, got -1',
      'p.yaml:7:33: policy "images" /keep/tags/0: expected a glob like "ci/**" or "pr-*", got "[abc" (the "[" at position 1 is never closed)',
      'p.yaml:10:32: policy "containers" /match/status/1: expected one of "exited", "dead", "created", got "running"',
      'p.yaml:10:53: policy "containers" /match/exitCode: expected at least 1 item(s), got an empty list',
      'p.yaml:10:67: policy "containers" /match/labels/0: expected a label selector like "team", "team=ci" or "!keep", got "=ci"',
      'p.yaml:11:29: policy "containers" /removeAnonymousVolumes: expected a boolean, got "yes"',
    ]);
  });

  it('reports problems of every policy in the list, not only the first bad one', () => {
    const bad = (n: number) => [`  - name: p${n}`, '    resource: volume', `    match: { olderThan: ${n} days }`];
    const text = yaml('policies:', ...bad(1), ...bad(2), ...bad(3));
    expect(problems(parsePolicyText(text, 'p.yaml')).map((p) => [p.line, p.where])).toEqual([
      [4, 'policy "p1" /match/olderThan'],
      [7, 'policy "p2" /match/olderThan'],
      [10, 'policy "p3" /match/olderThan'],
    ]);
  });

  it('points an unknown key at the key itself, suggests a near miss and lists the allowed keys', () => {
    const text = (key: string) =>
      yaml('policies:', '  - name: x', '    resource: image', '    match:', `      ${key}: 7d`);
    const allowed = 'expected one of: dangling, olderThan, repositories, tags, labels, unusedFor';
    // A difference of case only.
    expect(policy(text('olderthan'))).toEqual([
      `p.yaml:5:7: policy "x" /match/olderthan: unknown key "olderthan" (did you mean "olderThan"?); ${allowed}`,
    ]);
    // One and two edits away.
    expect(policy(text('olderThen'))).toEqual([
      `p.yaml:5:7: policy "x" /match/olderThen: unknown key "olderThen" (did you mean "olderThan"?); ${allowed}`,
    ]);
    expect(policy(text('oldrThen'))).toEqual([
      `p.yaml:5:7: policy "x" /match/oldrThen: unknown key "oldrThen" (did you mean "olderThan"?); ${allowed}`,
    ]);
    // Too far from anything: no suggestion.
    expect(policy(text('createdBefore'))).toEqual([
      `p.yaml:5:7: policy "x" /match/createdBefore: unknown key "createdBefore"; ${allowed}`,
    ]);
  });

  it('does not suggest an unrelated key for a short one', () => {
    // "age" is two edits from "tags", but nobody who wrote age: 7d meant tags.
    const text = yaml('policies:', '  - name: x', '    resource: image', '    match:', '      age: 7d');
    expect(policy(text)).toEqual([
      'p.yaml:5:7: policy "x" /match/age: unknown key "age"; expected one of: dangling, olderThan, repositories, tags, labels, unusedFor',
    ]);
  });

  it('allows only the keys of the resource the policy names', () => {
    const text = yaml(
      'policies:',
      '  - name: x',
      '    resource: image',
      '    match: { stoppedFor: 1d }',
      '    removeAnonymousVolumes: true',
    );
    expect(policy(text)).toEqual([
      'p.yaml:4:14: policy "x" /match/stoppedFor: unknown key "stoppedFor"; expected one of: dangling, olderThan, repositories, tags, labels, unusedFor',
      'p.yaml:5:5: policy "x" /removeAnonymousVolumes: unknown key "removeAnonymousVolumes"; expected one of: name, description, action, resource, match, keep, archive, when, until',
    ]);
  });

  it('reports unknown top-level keys with the path from the root', () => {
    expect(policy(yaml('policies: []', 'polices: []'))).toEqual([
      'p.yaml:2:1: /polices: unknown key "polices" (did you mean "policies"?); expected one of: policies',
    ]);
  });

  it('points a missing key at the mapping that lacks it and names policies by position when they have no name', () => {
    const text = yaml(
      'policies:',
      '  - name: no-match',
      '    resource: volume',
      '  - resource: volume',
      '    match: {}',
      '  - name: 42',
      '    resource: volume',
      '    match: {}',
    );
    expect(policy(text)).toEqual([
      'p.yaml:2:5: policy "no-match": missing required key "match"',
      'p.yaml:4:5: policy #2: missing required key "name"',
      'p.yaml:6:11: policy #3 /name: expected a string, got 42',
    ]);
  });

  it('describes wrong types in words: string for list, number for string, list for mapping, mapping for list, null', () => {
    const text = yaml(
      'policies:',
      '  - name: types',
      '    description: 5',
      '    resource: volume',
      '    match:',
      '      names: db-*',
      '      labels: { team: ci }',
      '      anonymous: null',
      '    keep: [ names ]',
    );
    expect(policy(text)).toEqual([
      'p.yaml:3:18: policy "types" /description: expected a string, got 5',
      'p.yaml:6:14: policy "types" /match/names: expected a list, got "db-*"',
      'p.yaml:7:15: policy "types" /match/labels: expected a list, got a mapping',
      'p.yaml:8:18: policy "types" /match/anonymous: expected a boolean, got null',
      'p.yaml:9:11: policy "types" /keep: expected a mapping, got a list',
    ]);
    expect(policy('policies: {}\n')).toEqual(['p.yaml:1:11: /policies: expected a list, got a mapping']);
    expect(policy(yaml('policies:', '  - just a string'))).toEqual([
      'p.yaml:2:5: policy #1: expected a mapping, got "just a string"',
    ]);
  });

  it('names the accepted resources when resource is wrong', () => {
    const text = yaml('policies:', '  - name: x', '    resource: images', '    match: {}');
    expect(policy(text)).toEqual([
      'p.yaml:3:15: policy "x" /resource: expected resource to be one of image, container, volume, network, buildCache, got "images"',
    ]);
  });

  it('explains why a glob is not one', () => {
    const text = yaml(
      'policies:',
      '  - name: x',
      '    resource: volume',
      '    match: { names: [ "a***", "[z-a]", "x\\\\" ] }',
    );
    expect(policy(text)).toEqual([
      'p.yaml:4:23: policy "x" /match/names/0: expected a glob like "ci/**" or "pr-*", got "a***" ("***" is not a glob operator; use * or **)',
      'p.yaml:4:31: policy "x" /match/names/1: expected a glob like "ci/**" or "pr-*", got "[z-a]" (the range "z-a" is reversed)',
      'p.yaml:4:40: policy "x" /match/names/2: expected a glob like "ci/**" or "pr-*", got "x\\\\" (it ends with a lone "\\")',
    ]);
  });

  it('reports a policy name that is not a name', () => {
    const text = yaml('policies:', '  - name: "has space"', '    resource: volume', '    match: {}');
    expect(policy(text)).toEqual([
      'p.yaml:2:11: policy "has space" /name: expected a name of letters, digits, ".", "_" or "-" (at most 63), e.g. "stale-ci-images", got "has space"',
    ]);
  });

  // One mistake, one problem: a second line at the same place only repeats the first.
  it('reports a missing resource once', () => {
    const text = yaml('policies:', '  - name: x', '    match: {}');
    expect(policy(text)).toEqual(['p.yaml:2:5: policy "x": missing required key "resource"']);
  });

  it('reports a resource that is not a string once', () => {
    const text = yaml('policies:', '  - name: x', '    resource: 5', '    match: {}');
    expect(policy(text)).toHaveLength(1);
    expect(policy(text)[0]).toMatch(/^p\.yaml:3:15: policy "x" \/resource: expected/);
  });

  it('reports an empty glob once, with its reason', () => {
    const text = yaml('policies:', '  - name: x', '    resource: volume', '    match: { names: [ "" ] }');
    expect(policy(text)).toEqual([
      'p.yaml:4:23: policy "x" /match/names/0: expected a glob like "ci/**" or "pr-*", got "" (the pattern is empty)',
    ]);
  });

  it('treats a misspelt resource key as an unknown key, with a suggestion', () => {
    const text = yaml('policies:', '  - name: x', '    resurce: image', '    match: {}');
    const found = problems(parsePolicyText(text, 'p.yaml'));
    const typo = found.find((p) => p.message.includes('"resurce"'));
    expect(typo, found.map(formatProblem).join('\n')).toMatchObject({ line: 3, col: 5, where: 'policy "x" /resurce' });
    expect(typo?.message).toMatch(/^unknown key "resurce" \(did you mean "resource"\?\)/);
  });
});

describe('parsePolicyText: YAML problems', () => {
  it('pins every syntax error to its line and column', () => {
    const text = yaml(
      'policies:',
      '  - name: stale',
      '    resource: image',
      '    match: olderThan: 7d',
      '',
      '  - name: old-volumes',
      '    resource: volume',
      '    match: { olderThan: 30d }',
      '    description: "unused" volumes',
    );
    expect(policy(text)).toEqual([
      'p.yaml:4:12: YAML syntax: Nested mappings are not allowed in compact mappings',
      'p.yaml:9:27: YAML syntax: Unexpected scalar at node end',
    ]);
  });

  it('pins an unterminated flow collection and bad indentation', () => {
    expect(
      problems(parsePolicyText(yaml('policies:', '  - name: x', '    match: { olderThan: 7d ]'), 'p.yaml'))[0],
    ).toMatchObject({ line: 3, col: 28 });
    expect(
      problems(
        parsePolicyText(
          yaml('policies:', '  - name: x', '    match:', '      olderThan: 7d', '     tags: []'),
          'p.yaml',
        ),
      )[0],
    ).toMatchObject({ line: 5, col: 1 });
    expect(problems(parsePolicyText(yaml('policies:', '\t- name: x'), 'p.yaml'))[0]).toMatchObject({ line: 2, col: 1 });
  });

  it('pins a duplicate key to its second occurrence', () => {
    const text = yaml('policies:', '  - name: a', '    resource: volume', '    match: {}', '    name: b');
    expect(policy(text)).toEqual(['p.yaml:5:5: YAML syntax: Map keys must be unique']);
  });

  it('explains a second document in words, without naming a library function', () => {
    const found = problems(parsePolicyText(yaml('policies: []', '---', 'policies: []'), 'p.yaml'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 2, col: 1 });
    expect(found[0]?.message).not.toMatch(/parseAllDocuments|YAML\.\w+\(/);
  });

  it('refuses to expand an alias bomb, with one problem', () => {
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (const [prev, cur] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
      ['g', 'h'],
    ] as const) {
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    levels.push(`policies: [${Array(9).fill('*h').join(', ')}]`);
    expect(policy(yaml(...levels))).toEqual([
      'p.yaml:1:1: YAML could not be expanded: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it('calls an empty or comment-only file empty, and wants a mapping at the top', () => {
    expect(policy('')).toEqual(['p.yaml:1:1: the file is empty; expected a mapping']);
    expect(policy('# nothing yet\n\n')).toEqual(['p.yaml:1:1: the file is empty; expected a mapping']);
    expect(policy('- a\n')).toEqual(['p.yaml:1:1: /: expected a mapping, got a list']);
    expect(policy('hello\n')).toEqual(['p.yaml:1:1: /: expected a mapping, got "hello"']);
  });

  it('refuses files over 1 MiB, counting bytes, not characters', () => {
    const MiB = 1024 * 1024;
    const head = 'policies: []\n';
    const exactly = head + '#'.repeat(MiB - head.length - 1) + '\n';
    expect(Buffer.byteLength(exactly)).toBe(MiB);
    expect(value(parsePolicyText(exactly, 'p.yaml')).value).toEqual({ policies: [] });
    const tooBig = `${exactly}#\n`;
    expect(policy(tooBig)).toEqual(['p.yaml:1:1: file is larger than 1048576 bytes; refusing to parse it']);
    // 600,000 characters, 1,200,000 bytes.
    const multibyte = `${head}# ${'é'.repeat(600_000)}\n`;
    expect(multibyte.length).toBeLessThan(MiB);
    expect(policy(multibyte)).toEqual(['p.yaml:1:1: file is larger than 1048576 bytes; refusing to parse it']);
  });

  // Only one deeply nested document per process here: see cli-validate.test.ts for two.
  it('refuses absurdly deep nesting with one problem instead of a stack overflow', () => {
    const found = problems(parsePolicyText(`policies: ${'['.repeat(10_000)}\n`, 'p.yaml'));
    expect(found.map(formatProblem).slice(0, 3).join('\n')).not.toMatch(/call stack/i);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(/nest/i);
  });
});

describe('parseConfigText', () => {
  it('accepts config.example.yaml', () => {
    const text = readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8');
    const parsed = value(parseConfigText(text, 'config.example.yaml'));
    expect(parsed.value.policies).toEqual(['policies/*.yaml']);
    expect(parsed.source.file).toBe('config.example.yaml');
  });

  it('reports every problem in the file with its position', () => {
    const text = yaml(
      'mode: enforcing',
      'schedule: 30',
      'docker: { host: /var/run/docker.sock }',
      'policies: policies/*.yaml',
      'protect:',
      '  labels: keep',
      '  repositories: [ "ci/***" ]',
      'limits: { maxRemovalsPerRun: -1 }',
      'metrics: { listen: "localhost" }',
      'log: { level: loud }',
    );
    expect(config(text)).toEqual([
      'c.yaml:1:7: /mode: expected one of "dry-run", "enforce", got "enforcing"',
      'c.yaml:2:11: /schedule: expected a string, got 30',
      'c.yaml:3:17: /docker/host: expected an address like unix:///var/run/docker.sock or tcp://host:2375, got "/var/run/docker.sock"',
      'c.yaml:4:11: /policies: expected a list, got "policies/*.yaml"',
      'c.yaml:6:11: /protect/labels: expected a list, got "keep"',
      'c.yaml:7:19: /protect/repositories/0: expected a glob like "ci/**" or "pr-*", got "ci/***" ("***" is not a glob operator; use * or **)',
      'c.yaml:8:30: /limits/maxRemovalsPerRun: expected a whole number ≥ 0, got -1',
      'c.yaml:9:20: /metrics/listen: expected host:port like 0.0.0.0:9476, got "localhost"',
      'c.yaml:10:15: /log/level: expected one of "fatal", "error", "warn", "info", "debug", "trace", got "loud"',
    ]);
  });

  it('reports a misspelt policies key both as unknown (with a suggestion) and as missing', () => {
    expect(config(yaml('mode: dry-run', 'polices: [ "p.yaml" ]'))).toEqual([
      'c.yaml:1:1: /: missing required key "policies"',
      'c.yaml:2:1: /polices: unknown key "polices" (did you mean "policies"?); expected one of: mode, schedule, docker, policies, protect, limits, metrics, log, inUse, state, pressure',
    ]);
  });

  it('wants at least one policy file and a whole number of removals', () => {
    expect(config(yaml('policies: []', 'limits: { maxRemovalsPerRun: 1.5 }'))).toEqual([
      'c.yaml:1:11: /policies: expected at least 1 item(s), got an empty list',
      'c.yaml:2:30: /limits/maxRemovalsPerRun: expected a whole number, got 1.5',
    ]);
  });

  it('leaves cron syntax to the second phase', () => {
    expect(
      value(parseConfigText(yaml('schedule: "every 5 minutes"', 'policies: [ p.yaml ]'), 'c.yaml')).value.schedule,
    ).toBe('every 5 minutes');
  });

  it('explains an empty policy pattern and a policy glob that is not one, in words', () => {
    expect(config(yaml('policies:', '  - "policies/[abc"', '  - ""'))).toEqual([
      'c.yaml:2:5: /policies/0: expected a policy file or glob like "policies/*.yaml", got "policies/[abc" (the "[" at position 10 is never closed)',
      'c.yaml:3:5: /policies/1: expected a policy file or glob like "policies/*.yaml", got "" (the pattern is empty)',
    ]);
  });

  it('pins YAML syntax errors in the configuration too', () => {
    expect(config(yaml('mode: dry-run', 'policies: [ "p.yaml"'))).toEqual([
      expect.stringMatching(/^c\.yaml:[23]:\d+: YAML syntax: /),
    ]);
  });
});
