// A configuration or policy path that is not a regular file — a directory (what `docker run -v`
// makes when the host file is missing), a FIFO, a device, a symlink loop — is a problem named
// with its path, never a file silently left out, never a read that hangs or has no end.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/runtime/load-config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-files-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(
    path.join(dir, 'policies', 'a.yaml'),
    'policies:\n  - name: a\n    resource: image\n    match: { dangling: true }\n',
  );
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(policies: string[]): string {
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, `policies: ${JSON.stringify(policies)}\n`);
  return file;
}

async function problems(configPath: string): Promise<string[]> {
  const r = await loadConfig(configPath);
  return r.ok ? [] : r.problems.map((p) => `${path.relative(dir, p.file)}: ${p.message}`);
}

describe('policy paths that are not regular files', () => {
  it('a directory that a policy glob matches is a problem, not a policy fewer', async () => {
    mkdirSync(path.join(dir, 'policies', 'b.yaml'));
    expect(await problems(config(['policies/*.yaml']))).toEqual([
      'policies/b.yaml: is a directory, expected a YAML file',
    ]);
  });

  it('a FIFO is refused at once, named and not read (a read would wait for a writer forever)', async () => {
    execFileSync('mkfifo', [path.join(dir, 'policies', 'fifo.yaml')]);
    expect(await problems(config(['policies/*.yaml']))).toEqual([
      'policies/fifo.yaml: is not a regular file (a FIFO, socket or device), expected a YAML file',
    ]);
    expect(await problems(config(['policies/fifo.yaml']))).toEqual([
      'config.yaml: "policies/fifo.yaml": is not a regular file (a FIFO, socket or device), expected a YAML file',
    ]);
  });

  it('a device is refused, even through a link (/dev/zero would read without end)', async () => {
    symlinkSync('/dev/zero', path.join(dir, 'policies', 'zero.yaml'));
    expect(await problems(config(['policies/*.yaml']))).toEqual([
      'policies/zero.yaml: is not a regular file (a FIFO, socket or device), expected a YAML file',
    ]);
  });

  it('a symlink loop is a problem naming the file', async () => {
    symlinkSync('loop.yaml', path.join(dir, 'policies', 'loop.yaml'));
    expect(await problems(config(['policies/*.yaml']))).toEqual([
      expect.stringMatching(/^policies\/loop\.yaml: cannot be read: ELOOP/),
    ]);
  });

  it('the configuration file itself, when it is a directory or a FIFO', async () => {
    mkdirSync(path.join(dir, 'as-dir.yaml'));
    expect(await problems(path.join(dir, 'as-dir.yaml'))).toEqual([
      'as-dir.yaml: is a directory, expected a YAML file',
    ]);
    execFileSync('mkfifo', [path.join(dir, 'as-fifo.yaml')]);
    expect(await problems(path.join(dir, 'as-fifo.yaml'))).toEqual([
      'as-fifo.yaml: is not a regular file (a FIFO, socket or device), expected a YAML file',
    ]);
  });

  it('a glob ending in ** takes the files below a directory, as before', async () => {
    mkdirSync(path.join(dir, 'policies', 'team'));
    writeFileSync(
      path.join(dir, 'policies', 'team', 'b.yaml'),
      'policies:\n  - name: b\n    resource: volume\n    match: { anonymous: true }\n',
    );
    const r = await loadConfig(config(['policies/**']));
    expect(r.ok && r.value.policies.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('a file over 1 MiB is refused without being parsed', async () => {
    writeFileSync(path.join(dir, 'policies', 'big.yaml'), Buffer.alloc(1024 * 1024 + 1, 'a'));
    expect(await problems(config(['policies/*.yaml']))).toEqual([
      'policies/big.yaml: file is larger than 1048576 bytes; refusing to parse it',
    ]);
  });

  it('a regular file beside them still loads', async () => {
    const r = await loadConfig(config(['policies/*.yaml']));
    expect(r.ok && r.value.policies.map((p) => p.name)).toEqual(['a']);
  });
});
