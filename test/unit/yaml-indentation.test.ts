// One line at the wrong column derails yaml's parser for the rest of its collection: it used
// to report a cascade of errors, the first of them at the blank line before the mistake. The
// mistake is reported once, at its line, with a hint; errors that do not follow from it stay.
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/core/config/yaml-source.js';
import { formatProblem } from '../../src/core/config/problems.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function problems(text: string): string[] {
  const parsed = parseYaml(text, 'p.yaml');
  if (parsed.ok) throw new Error('expected problems, but the text was accepted');
  return parsed.problems.map(formatProblem);
}

// Three policies as in deploy/kubernetes/configmap.yaml; each test moves one line.
const policy = (name: string, resource = 'image') => [
  `  - name: ${name}`,
  `    resource: ${resource}`,
  '    match: { dangling: true }',
];

describe('a line at the wrong column is one problem, at that line', () => {
  it('a "- " indented one column too little, after a blank line', () => {
    const text = yaml(
      'policies:',
      ...policy('a'),
      '',
      ' - name: b',
      '    resource: image',
      '    match: {}',
      '',
      ...policy('c'),
    );
    expect(problems(text)).toEqual([
      'p.yaml:6:1: YAML syntax: A block sequence may not be used as an implicit map key; check the indentation of line 6',
    ]);
  });

  it('a key of an item indented one column too little', () => {
    const text = yaml(
      'policies:',
      ...policy('a'),
      '',
      '  - name: b',
      '    resource: container',
      '   match: { status: [ exited, dead ], stoppedFor: 24h }',
      '    removeAnonymousVolumes: true',
      '',
      ...policy('c'),
    );
    expect(problems(text)).toEqual([
      'p.yaml:8:1: YAML syntax: Sequence item without - indicator; check the indentation of line 8',
    ]);
  });

  it('a key with a block value indented too little, before a blank line', () => {
    const text = yaml(
      'policies:',
      '  - name: a',
      '    resource: image',
      '  match:',
      '      dangling: true',
      '',
      ...policy('b'),
    );
    expect(problems(text)).toEqual([
      'p.yaml:4:1: YAML syntax: All mapping items must start at the same column; check the indentation of line 4',
    ]);
  });

  it('a line indented too much, which yaml reads as the rest of the value above it', () => {
    const text = yaml(
      'policies:',
      '  - name: a',
      '    resource: image',
      '     match: { dangling: true }',
      '',
      ...policy('b'),
    );
    expect(problems(text)).toEqual([
      'p.yaml:4:1: YAML syntax: line 4 is indented more than line 3, so it reads as the rest of the value on line 3, which cannot hold a "key:"; check the indentation of line 4',
    ]);
  });

  it('a "- " indented too little inside a list of tags', () => {
    const text = yaml(
      'policies:',
      '  - name: a',
      '    resource: image',
      '    match:',
      '      tags:',
      '      - a',
      '     - b',
      '',
      ...policy('b'),
    );
    expect(problems(text)).toEqual([
      'p.yaml:7:1: YAML syntax: A block sequence may not be used as an implicit map key; check the indentation of line 7',
    ]);
  });

  it('a key of the global configuration indented too much', () => {
    const text = yaml(
      'mode: dry-run',
      'policies: [ "p.yaml" ]',
      'protect:',
      '  labels: [ x ]',
      '   repositories: [ y ]',
      '',
      'log: { level: info }',
    );
    expect(problems(text)).toEqual([
      'p.yaml:5:1: YAML syntax: All mapping items must start at the same column; check the indentation of line 5',
    ]);
  });
});

describe('errors that do not follow from the mistake are still reported', () => {
  it('a mis-indented line and an unrelated error further down', () => {
    const text = yaml(
      'policies:',
      '  - name: a',
      '    resource: image',
      '     match: { dangling: true }',
      '',
      '  - name: b',
      '    resource: volume',
      '    match: { olderThan: 30d }',
      '    description: "unused" volumes',
    );
    expect(problems(text)).toEqual([
      'p.yaml:4:1: YAML syntax: line 4 is indented more than line 3, so it reads as the rest of the value on line 3, which cannot hold a "key:"; check the indentation of line 4',
      'p.yaml:9:27: YAML syntax: Unexpected scalar at node end',
    ]);
  });

  it('no hint where the mistake is not indentation', () => {
    expect(problems(yaml('policies:', '  - name: a', '    match: olderThan: 7d'))).toEqual([
      'p.yaml:3:12: YAML syntax: Nested mappings are not allowed in compact mappings',
    ]);
    expect(problems(yaml('policies: [ "p.yaml"'))).toEqual([
      'p.yaml:2:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });
});
