// Help as operators ask for it: `reclaimd COMMAND --help` and `reclaimd help COMMAND` print
// that command's own usage, what it does, its options and its exit codes; `reclaimd --help`
// and `reclaimd help` the overview. Runs the built CLI, as test/unit/cli-validate.test.ts does.
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.js';

const COMMANDS = ['validate', 'plan', 'once', 'daemon', 'explain'] as const;
type Command = (typeof COMMANDS)[number];

// What each command parses and can exit with (src/cli/main.ts and the command's file); its help
// must name exactly these options, and these exit codes.
const EXPECTED: Record<Command, { options: string[]; exitCodes: number[] }> = {
  validate: { options: ['--config', '--mode'], exitCodes: [0, 2, 64] },
  plan: { options: ['--config', '--json'], exitCodes: [0, 1, 2, 64] },
  once: { options: ['--config', '--mode', '--json'], exitCodes: [0, 1, 2, 64, 75] },
  daemon: { options: ['--config', '--mode', '--listen'], exitCodes: [0, 1, 2, 64, 75, 130] },
  explain: { options: ['--config', '--mode', '--json'], exitCodes: [0, 1, 2, 3, 64] },
};
const ALL_OPTIONS = ['--config', '--mode', '--json', '--listen'];
const OVERVIEW =
  /^reclaimd \S+ — policy-driven cleanup for Docker hosts\n\nUsage:\n {2}reclaimd validate --config FILE/;

function helpText(r: CliResult): string {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** The options listed under "Options:", in order. */
function options(help: string): string[] {
  const section = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}(--[a-z]+)/gm)].map((m) => m[1]!);
}

/** The exit codes listed after "Exit codes:". */
function exitCodes(help: string): number[] {
  const section = help.split('\nExit codes: ')[1] ?? '';
  return [...section.matchAll(/(?:^|, )(\d+) /g)].map((m) => Number(m[1]));
}

describe('help for each command', { timeout: 30_000 }, () => {
  it.concurrent.each(COMMANDS)(
    '%s --help prints its own usage, description, options and exit codes',
    async (command) => {
      const help = helpText(await runCli([command, '--help']));
      expect(help).toMatch(new RegExp(`^Usage: reclaimd ${command} `));
      expect(help).not.toMatch(OVERVIEW);
      // A paragraph that says what the command does, between the usage and the options.
      const about = help.split('\n\n')[1] ?? '';
      expect(about.length).toBeGreaterThan(100);
      expect(options(help)).toEqual([...EXPECTED[command].options, '--help']);
      // The usage line names the same options, and none of the others.
      const usage = help.split('\n')[0] ?? '';
      for (const option of ALL_OPTIONS)
        expect(usage.includes(option), `${command} usage: ${option}`).toBe(EXPECTED[command].options.includes(option));
      expect(exitCodes(help)).toEqual(EXPECTED[command].exitCodes);
    },
  );

  it.concurrent.each(COMMANDS)('help %s prints the same as the command with --help', async (command) => {
    const [viaHelp, viaOption] = await Promise.all([runCli(['help', command]), runCli([command, '--help'])]);
    expect(helpText(viaHelp)).toBe(helpText(viaOption));
  });

  it('every command has a different help', async () => {
    const helps = await Promise.all(COMMANDS.map(async (c) => helpText(await runCli([c, '--help']))));
    expect(new Set(helps).size).toBe(COMMANDS.length);
  });

  it('--help comes before every other check: no object, no configuration, a bad --mode', async () => {
    const help = helpText(await runCli(['explain', '--help']));
    expect(help).toMatch(/^Usage: reclaimd explain /);
    const withMore = helpText(await runCli(['plan', '--config', 'no/such/config.yaml', '--mode', 'bogus', '--help']));
    expect(withMore).toMatch(/^Usage: reclaimd plan /);
    expect(helpText(await runCli(['explain', 'ci/app:1', '--help']))).toBe(help);
  });

  it('--help and help alone print the overview, which points at the commands’ help', async () => {
    const [option, word] = await Promise.all([runCli(['--help']), runCli(['help'])]);
    expect(helpText(option)).toMatch(OVERVIEW);
    expect(helpText(word)).toBe(helpText(option));
    expect(helpText(option)).toContain('reclaimd help COMMAND');
  });

  it('help for an unknown command exits 64 and names it', async () => {
    for (const args of [
      ['help', 'frobnicate'],
      ['frobnicate', '--help'],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(64);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^unknown command: frobnicate\n/);
    }
  });

  it('an unknown option shows the usage of the command it was given to', async () => {
    const r = await runCli(['daemon', '--lisen', '0.0.0.0:9476']);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--lisen');
    expect(r.stderr).toMatch(/\n\nUsage: reclaimd daemon /);
  });
});
