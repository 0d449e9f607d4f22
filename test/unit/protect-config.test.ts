// Checking and compiling `protect`: every entry of every key is validated when the file is
// read, each problem pinned to its file, line and column and saying what was expected; valid
// entries are compiled once, at load.
import { describe, expect, it } from 'vitest';
import { checkConfigText, resolveConfig } from '../../src/core/config/config.js';
import { formatProblem, type Result } from '../../src/core/config/problems.js';
import { parseImageSelector } from '../../src/core/config/image-selector.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function problemLines<T>(r: Result<T>): string[] {
  if (r.ok) throw new Error('expected problems, but the configuration was accepted');
  return r.problems.map(formatProblem);
}

const EXPECTED_IMAGE =
  'expected an image reference, glob or ID like "postgres:16", "registry.example.com/base/*:*" or "sha256:4f1c2a9b0e7d"';
const D64 = 'd'.repeat(64);

describe('protect in config.yaml', () => {
  it('accepts every documented form and keeps the lists as written', () => {
    const text = yaml(
      'policies: [ "policies/*.yaml" ]',
      'protect:',
      '  labels: [ "reclaimd.keep" ]',
      '  repositories: [ "registry.example.com/base/**" ]',
      `  images: [ "postgres:16", "registry.example.com/base/*:*", "sha256:4f1c2a9b0e7d", "postgres@sha256:${D64}", "docker.io/library/redis:7" ]`,
      '  containers: [ "db", "db-*" ]',
      '  volumes: [ "pgdata", "*-data" ]',
      '  networks: [ "proxy", "traefik_*" ]',
    );
    const raw = checkConfigText({ file: 'config.yaml', text });
    if (!raw.ok) throw new Error(problemLines(raw).join('\n'));
    const config = resolveConfig('config.yaml', raw.value, []);
    if (!config.ok) throw new Error(problemLines(config).join('\n'));
    expect(config.value.protect).toEqual({
      labels: ['reclaimd.keep'],
      repositories: ['registry.example.com/base/**'],
      images: [
        'postgres:16',
        'registry.example.com/base/*:*',
        'sha256:4f1c2a9b0e7d',
        `postgres@sha256:${D64}`,
        'docker.io/library/redis:7',
      ],
      containers: ['db', 'db-*'],
      volumes: ['pgdata', '*-data'],
      networks: ['proxy', 'traefik_*'],
    });
    expect(config.value.compiled.protect.images.texts).toHaveLength(5);
    expect(config.value.compiled.protect.containers.patterns).toEqual(['db', 'db-*']);
  });

  it('accepts a "/" in a network entry: docker network create accepts team/proxy', () => {
    const text = yaml('policies: [ "policies/*.yaml" ]', 'protect:', '  networks: [ "team/proxy", "team/*" ]');
    const raw = checkConfigText({ file: 'config.yaml', text });
    if (!raw.ok) throw new Error(problemLines(raw).join('\n'));
    expect(raw.value.protect?.networks).toEqual(['team/proxy', 'team/*']);
  });

  it('leaves every list empty when protect is not given', () => {
    const raw = checkConfigText({ file: 'config.yaml', text: 'policies: [ a.yaml ]\n' });
    if (!raw.ok) throw new Error('rejected');
    const config = resolveConfig('config.yaml', raw.value, []);
    expect(config.ok && config.value.protect).toEqual({
      labels: [],
      repositories: [],
      images: [],
      containers: [],
      volumes: [],
      networks: [],
    });
  });

  it('reports each bad entry at its line and column, with what was expected and why', () => {
    const text = yaml(
      'policies: [ "policies/*.yaml" ]',
      'protect:',
      '  images:',
      '    - "postgres:16"',
      '    - "sha256:4f1c"',
      '    - "4f1c2a9b0e7d"',
      '    - "postgres"',
      '    - "registry.example.com/base/***:*"',
      '    - "postgres@sha256:abc"',
      `    - "ci/*@sha256:${D64}"`,
      '    - "sha256:4F1C2A9B0E7D"',
      '    - "app:"',
      '  containers: [ "/db", "db-*" ]',
      '  volumes: [ "pg[data" ]',
      '  networks: [ "" ]',
      '  image: [ "redis:7" ]',
    );
    expect(problemLines(checkConfigText({ file: 'config.yaml', text }))).toEqual([
      `config.yaml:5:7: /protect/images/1: ${EXPECTED_IMAGE}, got "sha256:4f1c" (an image ID prefix needs at least 12 hex digits, as docker images shows it, got 4: a shorter one could pin images it was not meant for)`,
      `config.yaml:6:7: /protect/images/2: ${EXPECTED_IMAGE}, got "4f1c2a9b0e7d" (it looks like an image ID: write it as "sha256:4f1c2a9b0e7d", or "4f1c2a9b0e7d:latest" for a repository)`,
      `config.yaml:7:7: /protect/images/3: ${EXPECTED_IMAGE}, got "postgres" (it names no tag: write "postgres:latest" for that tag, or "postgres:*" for every tag; protect.repositories also covers its untagged, pulled-by-digest images)`,
      `config.yaml:8:7: /protect/images/4: ${EXPECTED_IMAGE}, got "registry.example.com/base/***:*" (the repository "registry.example.com/base/***" is not a glob: "***" is not a glob operator; use * or **)`,
      `config.yaml:9:7: /protect/images/5: ${EXPECTED_IMAGE}, got "postgres@sha256:abc" (a digest after "@" is "sha256:" and 64 lowercase hex digits)`,
      `config.yaml:10:7: /protect/images/6: ${EXPECTED_IMAGE}, got "ci/*@sha256:${D64}" (an entry with a digest names one repository: no glob before "@")`,
      `config.yaml:11:7: /protect/images/7: ${EXPECTED_IMAGE}, got "sha256:4F1C2A9B0E7D" ("sha256:" starts an image ID, which continues with lowercase hex digits only)`,
      `config.yaml:12:7: /protect/images/8: ${EXPECTED_IMAGE}, got "app:" (the tag after ":" is empty)`,
      'config.yaml:13:17: /protect/containers/0: expected a container name glob like "db" or "db-*", got "/db" (names never contain "/": the "/" the Engine API puts before a container\'s name is not part of it)',
      'config.yaml:14:14: /protect/volumes/0: expected a volume name glob like "pgdata" or "*-data", got "pg[data" (the "[" at position 3 is never closed)',
      'config.yaml:15:15: /protect/networks/0: expected a network name glob like "proxy" or "traefik_*", got "" (the pattern is empty)',
      'config.yaml:16:3: /protect/image: unknown key "image" (did you mean "images"?); expected one of: labels, repositories, images, containers, volumes, networks',
    ]);
  });
});

describe('parseImageSelector', () => {
  it.each<[string, string]>([
    ['postgres:16', 'tag'],
    ['registry.example.com:5000/team/app:1.*', 'tag'],
    ['**:*', 'tag'],
    ['sha256:4f1c2a9b0e7d', 'id'],
    [`sha256:${D64}`, 'id'],
    [`postgres:16@sha256:${D64}`, 'digest'],
  ])('%s is a %s entry', (text, kind) => {
    const r = parseImageSelector(text);
    expect(r.ok && r.selector.kind).toBe(kind);
  });

  it('a port is not a tag: registry:5000/app names no tag', () => {
    const r = parseImageSelector('registry:5000/app');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^it names no tag/);
  });

  it('refuses an ID longer than 64 hex digits and an empty entry', () => {
    expect(parseImageSelector(`sha256:${D64}0`)).toEqual({
      ok: false,
      reason: 'an image ID has 64 hex digits, got 65',
    });
    expect(parseImageSelector('')).toEqual({ ok: false, reason: 'the entry is empty' });
  });
});
