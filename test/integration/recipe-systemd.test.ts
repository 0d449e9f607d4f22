// The systemd recipe as a reader follows it: the command block of docs/deploy/systemd.md, read
// from the doc and run in bash, in a temporary directory that stands for the host's root (its
// opt/reclaimd is a copy of this checkout), then the unit's own ExecStart line, read from the
// unit file the block installed, with the unit's Environment=, WorkingDirectory=, UMask= and
// identity, against the throwaway engine: a cycle shows in /metrics, ExecReload makes it
// re-read its configuration, and KillSignal stops it with exit code 0.
//
// No systemd runs here (no init system in this machine's sandbox), so what systemd would do is
// done by the test, and only that:
// - The block runs as root with `sudo ` dropped: CI runs as root, which is what sudo grants,
//   and sudo is not installed on this kind of machine.
// - Paths: /opt/reclaimd, /etc/reclaimd and /etc/systemd/system/ become directories of the
//   temporary root, in the block and in the unit; so does StateDirectory's /var/lib/reclaimd
//   (WorkingDirectory=, and the state.dir of the copied configuration, which names it).
// - The `systemctl` commands cannot run without systemd: each becomes `:` (a no-op that
//   keeps its words in the script). What `enable --now` would do the test does by hand (the
//   unit's ExecStart, see below); `reload` is the unit's ExecReload line with $MAINPID.
// - DynamicUser=yes, SupplementaryGroups=docker, NoNewPrivileges=yes, UMask=: the process
//   runs under setpriv as an unused uid of systemd's dynamic range with the docker group as
//   its only supplementary group, so it reaches the engine through the socket's group as the
//   unit intends. The rest of the sandboxing (ProtectSystem=, the system-call filter, ...)
//   needs systemd; systemd-analyze verify checks it (test/unit/deploy.test.ts).
// - Environment=DOCKER_HOST: /var/run/docker.sock becomes var/run/docker.sock of the temporary
//   root, a socket the test serves with the host socket's owner and mode (root:docker, 0660)
//   and forwards to the throwaway engine, whose own socket is in a directory only root enters.
// - The copied configuration's metrics.listen gets a free port instead of 9476, which may be
//   taken on this machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { ROOT, runShellBlock, shellBlock, substitute } from '../support/doc-commands.js';
import { freePort, sample } from '../support/image-build.js';
import { SocketProxy } from '../support/socket-proxy.js';

const DOC = 'docs/deploy/systemd.md';
const MARKER = 'sudo cp deploy/systemd/reclaimd.service /etc/systemd/system/';
/** systemd's PATH for services (systemd.exec(5), "Environment variables in spawned processes"). */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** A uid of systemd's dynamic range (61184-65519) that no account of this machine has. */
const DYNAMIC_UID = 61184 + 4242;

const host = inject('dockerHost');
const socket = host.slice('unix://'.length);
let root: string;
let daemon: ChildProcess | undefined;
let proxy: SocketProxy | undefined;

/** The host's paths in the unit's ExecStart, each under the temporary root that stands for `/`. */
const appPaths = (): Array<[string, string]> => [
  ['/opt/reclaimd', `${root}/opt/reclaimd`],
  ['/etc/reclaimd', `${root}/etc/reclaimd`],
];

/** The settings of a unit file: name → values in order (a repeated setting adds a value). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (!m) continue;
    settings.set(m[1] as string, [...(settings.get(m[1] as string) ?? []), m[2] as string]);
  }
  return settings;
}

function one(settings: Map<string, string[]>, name: string): string {
  const values = settings.get(name) ?? [];
  if (values.length !== 1) throw new Error(`the unit has ${values.length} ${name}= lines, not 1`);
  return values[0] as string;
}

/** The files of this checkout (tracked, and new ones not ignored): a checkout, as the doc says. */
function copyCheckout(dest: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    // Never node_modules, even where it is a link git does not ignore: `npm ci` and `npm prune`
    // in the copy would empty and prune the directory it points to.
    .filter((f) => f !== '' && !f.split('/').includes('node_modules') && existsSync(path.join(ROOT, f)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(dest, file));
  }
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'reclaimd-systemd-'));
  // The dynamic user must reach /opt and /etc below the temporary root, as it does on a host.
  chmodSync(root, 0o755);
  copyCheckout(path.join(root, 'opt/reclaimd'));
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
});

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  await proxy?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('the systemd recipe (docs/deploy/systemd.md)', () => {
  it('installs as the doc says: built, production dependencies only, configuration and unit in place', async () => {
    const block = shellBlock(DOC, MARKER);
    const started = Date.now();
    await runShellBlock(block, {
      cwd: root,
      replace: [
        // Each systemctl command becomes `:` (which does nothing) with its words, so the script
        // shows what it skipped; the test does what enable --now and reload would, below.
        ['sudo systemctl', ': systemctl'],
        ['sudo ', ''],
        ...appPaths(),
        ['/etc/systemd/system/', `${root}/etc/systemd/system/`],
      ],
      timeoutMs: 900_000,
    });
    console.log(`the doc's block (npm ci, build, prune, copies) took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const app = path.join(root, 'opt/reclaimd');
    expect(existsSync(path.join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/dockerode'))).toBe(true);
    for (const devOnly of ['typescript', 'vitest'])
      expect(existsSync(path.join(app, 'node_modules', devOnly))).toBe(false);
    expect(readFileSync(path.join(root, 'etc/reclaimd/config.yaml'), 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'config.example.yaml'), 'utf8'),
    );
    expect(existsSync(path.join(root, 'etc/reclaimd/policies/defaults.yaml'))).toBe(true);
    expect(readFileSync(path.join(root, 'etc/systemd/system/reclaimd.service'), 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'deploy/systemd/reclaimd.service'), 'utf8'),
    );
  }, 900_000);

  it("runs the unit's ExecStart as its dynamic user: a cycle in /metrics, ExecReload re-reads, SIGTERM exits 0", async () => {
    const unitFile = path.join(root, 'etc/systemd/system/reclaimd.service');
    expect(existsSync(unitFile), 'the first test installs the unit').toBe(true);
    const unit = unitSettings(readFileSync(unitFile, 'utf8'));

    // StateDirectory=reclaimd: systemd makes /var/lib/reclaimd, owned by the service's user.
    const stateDir = path.join(root, 'var/lib', one(unit, 'StateDirectory'));
    mkdirSync(stateDir, { recursive: true });
    chownSync(stateDir, DYNAMIC_UID, DYNAMIC_UID);
    const state: [string, string] = [`/var/lib/${one(unit, 'StateDirectory')}`, stateDir];
    expect(one(unit, 'WorkingDirectory')).toBe(state[0]);

    // The copied configuration names the state directory, and the port that may be taken here.
    const port = await freePort();
    const configFile = path.join(root, 'etc/reclaimd/config.yaml');
    writeFileSync(
      configFile,
      substitute(readFileSync(configFile, 'utf8'), [
        [`dir: ${state[0]}`, `dir: ${stateDir}`],
        ['listen: "127.0.0.1:9476"', `listen: "127.0.0.1:${port}"`],
      ]),
    );

    // ExecStart as written (systemd splits it on spaces; it has no quoting), paths substituted.
    const argv = substitute(one(unit, 'ExecStart'), appPaths()).split(' ');
    const environment: Record<string, string> = { PATH: SYSTEMD_PATH };
    for (const assignment of unit.get('Environment') ?? []) {
      const [key, ...value] = assignment.split('=');
      environment[key as string] = value.join('=');
    }
    const docker = one(unit, 'SupplementaryGroups');
    const gid = Number(execFileSync('getent', ['group', docker], { encoding: 'utf8' }).split(':')[2]);
    const hostSocket = path.join(root, 'var/run/docker.sock');
    mkdirSync(path.dirname(hostSocket), { recursive: true });
    proxy = new SocketProxy(hostSocket, socket);
    await proxy.start();
    chownSync(hostSocket, 0, gid);
    chmodSync(hostSocket, 0o660);
    environment['DOCKER_HOST'] = substitute(environment['DOCKER_HOST'] ?? '', [['/var/run/docker.sock', hostSocket]]);
    expect(one(unit, 'DynamicUser')).toBe('yes');

    expect(one(unit, 'NoNewPrivileges')).toBe('yes');

    // What systemd sets up before exec: the umask, then the identity (and no new privileges);
    // `exec` keeps the PID, so $MAINPID is this child's.
    const identity = `--reuid=${DYNAMIC_UID} --regid=${DYNAMIC_UID} --groups=${gid} --no-new-privs`;
    const child = spawn(
      '/bin/sh',
      ['-c', `umask ${one(unit, 'UMask')} && exec setpriv ${identity} -- "$@"`, 'sh', ...argv],
      { cwd: stateDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    daemon = child;
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );

    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`reclaimd exited with ${child.exitCode}:\n${output}`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
          const body = await res.text();
          return (sample(body, 'reclaimd_cycles_total', { result: 'success' }) ?? 0) >= 1 ? true : undefined;
        } catch {
          return undefined; // not listening yet
        }
      },
      60_000,
      () => `a successful cycle in /metrics; reclaimd said:\n${output}`,
    );
    // It runs as the dynamic user, and keeps its state where StateDirectory= puts it.
    expect(readFileSync(`/proc/${child.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${DYNAMIC_UID}\\s`, 'm'));
    expect(readdirSync(stateDir)).not.toEqual([]);

    // systemctl reload: ExecReload with $MAINPID.
    const reload = substitute(one(unit, 'ExecReload'), [['$MAINPID', String(child.pid)]]).split(' ');
    execFileSync(reload[0] as string, reload.slice(1));
    await waitFor(
      () => (output.includes('reloading the configuration (SIGHUP)') ? true : undefined),
      10_000,
      () => `the reload in the log:\n${output}`,
    );

    // systemctl stop: KillSignal=, then TimeoutStopSec= before systemd would kill it.
    const stopTimeout = Number(/^(\d+)s$/.exec(one(unit, 'TimeoutStopSec'))?.[1]) * 1000;
    child.kill(one(unit, 'KillSignal') as NodeJS.Signals);
    const end = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stopTimeout).unref()),
    ]);
    expect(end, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('shutting down');
  }, 180_000);
});
