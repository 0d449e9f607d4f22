// `reclaimd validate` on a corpus of broken configurations, run as operators run it: the built
// CLI in its own process, from the repository root so that printed paths are stable.
//
// Each directory under test/fixtures/invalid/ is one case: a config.yaml (absent for the
// missing-file case), its policy files, and expected.txt with exactly the problem lines the CLI
// must print to stderr, in order. Cases too big or too odd to commit are generated below.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, runNode, type CliResult } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INVALID = 'test/fixtures/invalid';
const VALID_CONFIG = 'test/fixtures/valid/config.yaml';
const EXIT = { ok: 0, invalid: 2, usage: 64 } as const;
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` builds it before running vitest)`);
  // Paths in expected.txt are relative to the repository root, as the CLI prints them from there.
  expect(path.resolve(process.cwd()), 'run vitest from the repository root').toBe(path.resolve(ROOT));
});

/** Output that means the CLI crashed instead of reporting: a stack trace, an abort, a fatal error. */
function expectNoCrash(r: CliResult): void {
  const crash = `${r.stdout}\n${r.stderr}`.split('\n').find((line) => CRASH.test(line));
  expect(crash, 'a line of crash output').toBeUndefined();
}
const CRASH = /^ {4}at |unexpected error|Maximum call stack|FATAL ERROR|out of memory|RangeError|TypeError/i;

/**
 * Checks the outcome of `validate` on an invalid configuration and returns the problem lines:
 * exit 2, nothing on stdout, every stderr line a problem except the last, which counts them.
 */
function problemLines(r: CliResult, configArg: string): string[] {
  expectNoCrash(r);
  expect(r.code, r.stderr).toBe(EXIT.invalid);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines.pop(), 'stderr ends with a newline').toBe('');
  const summary = lines.pop();
  expect(summary).toBe(`${configArg}: ${lines.length} problem(s); nothing was removed`);
  return lines;
}

const validate = (configArg: string, ...more: string[]): Promise<CliResult> =>
  runCli(['validate', '--config', configArg, ...more]);

/** How the CLI shows a path: relative to the working directory when below it, otherwise in full. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

const cases = readdirSync(path.join(ROOT, INVALID), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('validate: the invalid corpus', () => {
  it('has the cases it is meant to have, each with an expected.txt', () => {
    for (const name of [
      'yaml-syntax',
      'bad-indentation',
      'unknown-key',
      'wrong-types',
      'bad-duration',
      'bad-glob',
      'bad-label',
      'bad-cron',
      'bad-mode',
      'bad-resource',
      'missing-match',
      'missing-name',
      'duplicate-names',
      'dangling-with-tags',
      'empty-policy-file',
      'glob-matches-nothing',
      'missing-config',
      'binary',
      'invalid-utf8',
      'alias-bomb',
      'duplicate-keys',
    ]) {
      expect(cases).toContain(name);
    }
    for (const name of cases) {
      const expected = readFileSync(path.join(ROOT, INVALID, name, 'expected.txt'), 'utf8');
      expect(expected.trim(), `${name}/expected.txt is empty`).not.toBe('');
      expect(expected.endsWith('\n'), `${name}/expected.txt ends with a newline`).toBe(true);
    }
  });

  it('keeps the bytes that make the binary and invalid-UTF-8 cases what they are', () => {
    expect(readFileSync(path.join(ROOT, INVALID, 'binary/policies/p.yaml')).includes(0)).toBe(true);
    const latin1 = readFileSync(path.join(ROOT, INVALID, 'invalid-utf8/policies/p.yaml'));
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(latin1)).toThrow(TypeError);
    expect(existsSync(path.join(ROOT, INVALID, 'missing-config/config.yaml'))).toBe(false);
  });

  // Each case is its own process: run a few side by side. The timeout only bounds a hang.
  it.concurrent.each(cases)(
    '%s: exits 2 and prints exactly the expected problems',
    { timeout: 30_000 },
    async (name) => {
      const configArg = `${INVALID}/${name}/config.yaml`;
      const expected = readFileSync(path.join(ROOT, INVALID, name, 'expected.txt'), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      const r = await validate(configArg);
      expect(problemLines(r, configArg)).toEqual(expected);
    },
  );
});

describe('validate: generated cases', { timeout: 30_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh directory with config.yaml (`policies/*.yaml` unless given) and the policy files. */
  function configDir(
    policyFiles: Record<string, string | Buffer>,
    configText = 'policies: [ "policies/*.yaml" ]\n',
  ): { config: string; policy: (name: string) => string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-validate-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'config.yaml'), configText);
    for (const [name, content] of Object.entries(policyFiles)) writeFileSync(path.join(dir, 'policies', name), content);
    return { config: path.join(dir, 'config.yaml'), policy: (name) => shown(path.join(dir, 'policies', name)) };
  }

  it('refuses a policy file over 1 MiB without parsing it', async () => {
    const huge = `policies:\n${`  # ${'x'.repeat(76)}\n`.repeat(14_000)}`;
    expect(Buffer.byteLength(huge)).toBeGreaterThan(1024 * 1024);
    const { config, policy } = configDir({ 'huge.yaml': huge });
    const r = await validate(config);
    expect(problemLines(r, config)).toEqual([
      `${policy('huge.yaml')}:1:1: file is larger than 1048576 bytes; refusing to parse it`,
    ]);
  });

  it('refuses a configuration file over 1 MiB', async () => {
    const { config } = configDir({}, `policies: [ "policies/*.yaml" ]\n${'#'.repeat(2 * 1024 * 1024)}\n`);
    const r = await validate(config);
    expect(problemLines(r, config)).toEqual([`${config}:1:1: file is larger than 1048576 bytes; refusing to parse it`]);
  });

  it('reports 10,000 nested "[" as one problem, not a stack overflow', async () => {
    const { config, policy } = configDir({ 'deep.yaml': `policies: ${'['.repeat(10_000)}\n` });
    const r = await validate(config);
    const lines = problemLines(r, config);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${escape(policy('deep.yaml'))}:\\d+:\\d+: .*nest`, 'i'));
  });

  it('survives several deeply nested files in one run, flow and block style, reporting each once', async () => {
    const { config, policy } = configDir({
      'a-open.yaml': `policies: ${'['.repeat(10_000)}\n`,
      'b-closed.yaml': `policies: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
      'c-maps.yaml': `policies: ${'{a: '.repeat(10_000)}${'}'.repeat(10_000)}\n`,
      // 1,000 levels of indentation: about 500 kB, under the size limit.
      'd-block.yaml': `${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`,
    });
    const r = await validate(config);
    const lines = problemLines(r, config);
    expect(lines.map((l) => l.split(':')[0])).toEqual(
      ['a-open.yaml', 'b-closed.yaml', 'c-maps.yaml', 'd-block.yaml'].map(policy),
    );
    for (const line of lines) expect(line).toMatch(/nest/i);
  });

  it('survives loading a deeply nested policy file again and again, as the daemon does before every cycle', async () => {
    const { config } = configDir({ 'deep.yaml': `${'['.repeat(10_000)}${']'.repeat(10_000)}\n` });
    const loader = pathToFileURL(path.join(ROOT, 'dist/runtime/load-config.js')).href;
    const script = [
      `const { loadConfig } = await import(${JSON.stringify(loader)});`,
      'for (let i = 0; i < 5; i++) {',
      `  const r = await loadConfig(${JSON.stringify(config)});`,
      "  console.log(JSON.stringify(r.ok ? 'valid' : r.problems.map((p) => p.message)));",
      '}',
    ].join('\n');
    const r = await runNode(['--input-type=module', '-e', script], { cwd: ROOT });
    // A V8 fatal error aborts the process (code 134 or a signal) after an earlier load printed.
    expect(r.code, `stdout: ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.split('\n').slice(0, 3).join('\n')}`).toBe(0);
    expectNoCrash(r);
    const loads = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(loads).toHaveLength(5);
    for (const messages of loads) expect(messages).toEqual([expect.stringMatching(/nest/i)]);
  });

  it('prints policy files outside the working directory with their full path', async () => {
    const { config, policy } = configDir({ 'p.yaml': 'policies: {}\n' });
    expect(path.isAbsolute(policy('p.yaml'))).toBe(true);
    const r = await validate(config);
    expect(problemLines(r, config)).toEqual([`${policy('p.yaml')}:1:11: /policies: expected a list, got a mapping`]);
  });
});

describe('validate: valid configurations', { timeout: 30_000 }, () => {
  it('accepts the valid fixture, which sets every key, and counts its policies once each', async () => {
    const r = await validate(VALID_CONFIG);
    expectNoCrash(r);
    expect(r).toEqual({ code: EXIT.ok, stdout: `${VALID_CONFIG}: valid (5 policies, mode enforce)\n`, stderr: '' });
  });

  it('accepts examples/config.yaml, which uses every kind of policy the README shows', async () => {
    const r = await validate('examples/config.yaml');
    expectNoCrash(r);
    expect(r).toEqual({
      code: EXIT.ok,
      stdout: 'examples/config.yaml: valid (9 policies, mode dry-run)\n',
      stderr: '',
    });
  });

  it('accepts config.example.yaml', async () => {
    const r = await validate('config.example.yaml');
    expectNoCrash(r);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^config\.example\.yaml: valid \([1-9][0-9]* policies, mode dry-run\)\n$/);
  });

  it('shows the mode --mode would run in', async () => {
    const r = await validate('config.example.yaml', '--mode', 'enforce');
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/, mode enforce\)\n$/);
  });
});

describe('command line', { timeout: 30_000 }, () => {
  const USAGE = /Usage:\n {2}reclaimd validate --config FILE/;

  it('exits 64 with the usage when there is no command', async () => {
    const r = await runCli([]);
    expectNoCrash(r);
    expect(r.code).toBe(EXIT.usage);
    expect(`${r.stdout}${r.stderr}`).toMatch(USAGE);
  });

  it('exits 64 on an unknown command, naming it', async () => {
    const r = await runCli(['frobnicate', '--config', 'config.example.yaml']);
    expectNoCrash(r);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^unknown command: frobnicate\n/);
    expect(r.stderr).toMatch(USAGE);
  });

  it('exits 64 on a second positional argument', async () => {
    const r = await runCli(['validate', 'config.example.yaml']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/^unknown command: validate config\.example\.yaml\n/);
  });

  it('exits 64 on an unknown option', async () => {
    const r = await runCli(['validate', '--confgi', 'config.example.yaml']);
    expectNoCrash(r);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('--confgi');
    // The usage of the command it was given to.
    expect(r.stderr).toMatch(/\n\nUsage: reclaimd validate \[--config FILE\]/);
  });

  it('exits 64 on --mode bogus, before reading any configuration', async () => {
    const r = await runCli(['validate', '--config', `${INVALID}/missing-config/config.yaml`, '--mode', 'bogus']);
    expectNoCrash(r);
    expect(r).toEqual({ code: EXIT.usage, stdout: '', stderr: '--mode: expected dry-run or enforce, got "bogus"\n' });
  });

  it('prints the package.json version for --version', async () => {
    const r = await runCli(['--version']);
    expect(r).toEqual({ code: EXIT.ok, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('prints the usage and exits 0 for --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(USAGE);
    expect(r.stdout).toContain(`reclaimd ${VERSION}`);
  });

  it('reads ./config.yaml when --config is not given', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-cwd-'));
    writeFileSync(path.join(dir, 'config.yaml'), readFileSync(path.join(ROOT, 'config.example.yaml')));
    cpSync(path.join(ROOT, 'policies'), path.join(dir, 'policies'), { recursive: true });
    const r = await runNode([CLI, 'validate'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^config\.yaml: valid \(/);
  });
});

describe('no --config and no ./config.yaml', { timeout: 30_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  function emptyDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-cwd-'));
    dirs.push(dir);
    return dir;
  }

  // Every command that reads the configuration, with what it needs besides.
  const commands = [['validate'], ['plan', '--json'], ['once'], ['daemon'], ['explain', 'ci/app:1']];

  it.concurrent.each(commands)(
    '%s: says the default is missing and names config.example.yaml in the working directory',
    async (...args) => {
      const dir = emptyDir();
      copyFileSync(path.join(ROOT, 'config.example.yaml'), path.join(dir, 'config.example.yaml'));
      const r = await runNode([CLI, ...args], { cwd: dir });
      expectNoCrash(r);
      expect(r.code).toBe(EXIT.invalid);
      expect(r.stdout).toBe('');
      const object = args[0] === 'explain' ? ` ${args[1]}` : '';
      expect(r.stderr).toBe(
        `config.yaml: no such file. Without --config, reclaimd reads config.yaml in the working directory (${realpathSync(dir)}).\n` +
          'Pass the configuration with --config FILE; config.example.yaml is a dry-run one to start from:\n' +
          `  reclaimd ${args[0]}${object} --config config.example.yaml\n`,
      );
    },
  );

  it('names the repository’s config.example.yaml when the working directory has none', async () => {
    const dir = emptyDir();
    const r = await runNode([CLI, 'plan'], { cwd: dir });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stderr.split('\n').slice(1)).toEqual([
      'Pass the configuration with --config FILE; ' +
        `${path.join(ROOT, 'config.example.yaml')} is a dry-run one to start from:`,
      `  reclaimd plan --config ${path.join(ROOT, 'config.example.yaml')}`,
      '',
    ]);
  });

  it('from the repository root, names config.example.yaml as it is there', async () => {
    expect(existsSync(path.join(ROOT, 'config.yaml'))).toBe(false);
    const r = await runCli(['plan']);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stderr).toMatch(/^config\.yaml: no such file\. Without --config/);
    expect(r.stderr).toContain('\n  reclaimd plan --config config.example.yaml\n');
  });

  it('an explicit --config that is missing is reported as before, with no advice', async () => {
    const r = await runNode([CLI, 'plan', '--config', 'config.yaml'], { cwd: emptyDir() });
    expect(problemLines(r, 'config.yaml')).toEqual(['config.yaml:1:1: no such file']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
