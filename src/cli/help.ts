/**
 * The help texts: the overview (`reclaimd --help`, `reclaimd help`) and one per command
 * (`reclaimd plan --help`, `reclaimd help plan`), each with its usage, what it does, its
 * options and its exit codes.
 */
import { VERSION } from '../lib/version.js';

/** The commands, in the order the overview lists them. */
export const COMMANDS = ['validate', 'plan', 'once', 'daemon', 'explain'] as const;
export type Command = (typeof COMMANDS)[number];

export function isCommand(name: string | undefined): name is Command {
  return (COMMANDS as readonly (string | undefined)[]).includes(name);
}

export const USAGE = `reclaimd ${VERSION} — policy-driven cleanup for Docker hosts

Usage:
  reclaimd validate --config FILE            check the configuration and every policy file
  reclaimd plan     --config FILE [--json]   show what would be removed and kept (never removes)
  reclaimd once     --config FILE [--json]   run one cycle in the configured mode
  reclaimd daemon   --config FILE            run cycles on the schedule; serve /metrics, /healthz
  reclaimd explain  --config FILE [--json] OBJECT
                                             why policies would remove or keep one image (ID, short
                                             ID or reference), container (ID or name) or volume (name)
  reclaimd help COMMAND                      a command's options and exit codes (or COMMAND --help)

Options:
  --config FILE              the global configuration (default: ./config.yaml)
  --mode dry-run|enforce     override the configuration's mode
  --json                     machine-readable output (plan, once, explain)
  --listen HOST:PORT         override metrics.listen (daemon)
  --help, --version

Exit codes: 0 ok, 1 the engine failed or a cycle did not complete, 2 invalid configuration,
3 explain: no such object (or several match), 64 usage, 75 once, daemon: another reclaimd
process holds the lock (in state.dir, or for this engine on this machine); nothing was removed.`;

// The options' lines, shared by the commands that take them.
const CONFIG = '  --config FILE            the global configuration (default: ./config.yaml)';
const JSON_OUTPUT = '  --json                   print one JSON object instead of text (docs/cli.md has its fields)';
const MODE = "  --mode dry-run|enforce   override the configuration's mode";
const HELP = '  --help                   this help';

/** Builds one command's help from its parts, in the same layout for every command. */
function commandHelp(usage: string, about: string, options: readonly string[], exitCodes: string): string {
  return `Usage: ${usage}\n\n${about}\n\nOptions:\n${[...options, HELP].join('\n')}\n\nExit codes: ${exitCodes}`;
}

export const COMMAND_HELP: Record<Command, string> = {
  validate: commandHelp(
    'reclaimd validate [--config FILE] [--mode dry-run|enforce]',
    `Reads the configuration and every policy file it names and checks them in layers: YAML,
then the schema (a misspelled key is an error), then meaning (durations, globs, label
selectors, cron, unique names). Prints every problem as FILE:LINE:COL, or one line saying the
configuration is valid, with its number of policies and the mode a run would use. Never
contacts the engine.`,
    [CONFIG, '  --mode dry-run|enforce   the mode to report, as a run with this override would use'],
    '0 valid, 2 invalid configuration (every problem listed on stderr), 64 usage.',
  ),
  plan: commandHelp(
    'reclaimd plan [--config FILE] [--json]',
    `Runs one cycle up to its plan, always in dry-run, and prints it: what would be removed, in
order and with the bytes it frees, what report-only policies see, and what a policy matched
but kept, each with its policy and reason. Removes nothing and takes no lock; it only reads
the last-use state in state.dir, so it is safe beside a running daemon.`,
    [CONFIG, JSON_OUTPUT],
    '0 the plan was printed, 1 the engine failed or the cycle did not complete, 2 invalid\nconfiguration, 64 usage.',
  ),
  once: commandHelp(
    'reclaimd once [--config FILE] [--mode dry-run|enforce] [--json]',
    `Runs one cycle in the configured mode (or --mode), as from a cron job or a CI step, and
prints its report: in enforce it removes what the plan selects, in dry-run it stops exactly
before the first removal. It holds the process lock while it runs, so it never overlaps a
daemon or another once on the same engine.`,
    [CONFIG, MODE, JSON_OUTPUT],
    `0 the cycle completed, 1 the engine failed, the cycle did not complete or a
removal is in doubt, 2 invalid configuration, 64 usage, 75 another reclaimd process holds
the lock (nothing was removed).`,
  ),
  daemon: commandHelp(
    'reclaimd daemon [--config FILE] [--mode dry-run|enforce] [--listen HOST:PORT]',
    `Runs cycles on the configured schedule (and on disk pressure, for pressure policies) until
stopped, and serves /metrics and /healthz. Logs JSON lines to stdout. It re-reads the
configuration before every cycle and on SIGHUP; an invalid edit keeps the last good one.
SIGTERM or SIGINT lets the removal in flight finish, then exits; a second signal exits at
once.`,
    [CONFIG, MODE, '  --listen HOST:PORT       override metrics.listen'],
    `0 stopped by SIGTERM or SIGINT, 1 could not start (the listen address taken, say)
or lost the process lock, 2 invalid configuration at start, 64 usage, 75 another reclaimd
process holds the lock (nothing was removed), 130 stopped at once by a second signal.`,
  ),
  explain: commandHelp(
    'reclaimd explain [--config FILE] [--mode dry-run|enforce] [--json] OBJECT',
    `Tells, for one object, what every policy of its resource makes of it and why, which one
decides, and what the whole plan finally does with it. OBJECT is an image (ID, short ID, or
a reference: repo:tag, repo for repo:latest, repo@sha256:…), a container (ID, short ID or
name) or a volume (name). Reads the engine; removes nothing.`,
    [
      CONFIG,
      "  --mode dry-run|enforce   the mode the verdict is given for (default: the configuration's)",
      JSON_OUTPUT,
    ],
    `0 explained, 1 the engine failed, 2 invalid configuration, 3 no such object (or
the name matches several), 64 usage.`,
  ),
};
