// A throwaway Docker engine for tests and the benchmark.
//
// reclaimd deletes things, so it must never be tested against a real engine. This starts a
// private dockerd whose data, state and socket all live in a fresh temporary directory, and
// destroys it afterwards. The host's /var/run/docker.sock and DOCKER_HOST are never consulted.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { dockerFor } from './fixtures.js';
import { engineVariant, type EngineVariant } from './engine-variant.js';

export interface ThrowawayEngine {
  /** "unix:///tmp/rdk-XXXXXX/docker.sock" */
  readonly host: string;
  /** The engine's --data-root. */
  readonly dataRoot: string;
  /** Which engine this is (RECLAIMD_TEST_ENGINE). */
  readonly variant: EngineVariant;
  stop(): Promise<void>;
  /**
   * Stops dockerd but keeps its directory (data root, socket path), as a host's engine is
   * stopped for an upgrade; SIGKILL instead of SIGTERM to crash it. `resume` starts it again.
   */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts dockerd again on the same data root and socket, once `halt` returned. */
  resume(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;
const INSTALL_HINT = 'Install docker.io (run scripts/install-test-deps.sh).';

function findOnPath(command: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return undefined;
}

/**
 * A fresh directory with a short path. Unix socket paths are limited to 108 bytes and
 * dockerd puts containerd's socket at <exec-root>/containerd/containerd.sock, so a long
 * TMPDIR would make startup fail in a confusing way; /tmp is used instead in that case.
 */
function makeEngineDir(): string {
  const base = tmpdir().length <= 40 ? tmpdir() : '/tmp';
  return mkdtempSync(join(base, 'rdk-'));
}

function logTail(logPath: string, lines = 30): string {
  try {
    return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopEngine(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (exited(child)) return;
  // SIGTERM lets dockerd stop its containers and unmount their overlay filesystems.
  child.kill(signal);
  if (await waitForExit(child, SHUTDOWN_TIMEOUT_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

/** Mount points at or below dir, deepest first, read from the kernel's mount table. */
function mountsUnder(dir: string): string[] {
  const table = readFileSync('/proc/self/mountinfo', 'utf8');
  const points = table
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

async function removeEngineDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') return;
  }
  // A killed (rather than cleanly stopped) dockerd leaves overlay and shm mounts behind,
  // which make rm fail with EBUSY. umount -R covers a mounted data root; the per-mount
  // loop covers mounts inside it, since umount -R needs the path itself to be a mount.
  const run = (args: string[]): void => {
    try {
      execFileSync('umount', args, { stdio: 'ignore' });
    } catch {
      // Best effort: the mount may already be gone.
    }
  };
  run(['-R', join(dir, 'data')]);
  for (const point of mountsUnder(dir)) run(['-l', point]);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Starts a private dockerd in a fresh directory; `stop` ends it and removes everything.
 * `extraArgs` are added to dockerd's command line (e.g. a TLS listener for a test); `variant`
 * is which engine (default: RECLAIMD_TEST_ENGINE, see engine-variant.ts).
 */
export async function startThrowawayEngine(
  extraArgs: readonly string[] = [],
  variant: EngineVariant = engineVariant(),
): Promise<ThrowawayEngine> {
  // The variant's binaries come first: dockerd finds containerd, the shim, docker-init and
  // docker-proxy on its PATH, and runc (the machine's) after them.
  const path = [variant.binDir, process.env['PATH'] ?? ''].filter((d) => d !== undefined).join(delimiter);
  const dockerd = findOnPath('dockerd', path);
  if (dockerd === undefined) {
    throw new Error(`dockerd is not on PATH; the integration tests start their own engine. ${INSTALL_HINT}`);
  }

  const dir = makeEngineDir();
  // Always a configuration file of our own, so a host's /etc/docker/daemon.json never applies.
  const configFile = join(dir, 'daemon.json');
  writeFileSync(configFile, JSON.stringify(variant.daemonConfig));
  const logPath = join(dir, 'log');
  const socketPath = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  const args = [
    `--config-file=${configFile}`,
    `--data-root=${dataRoot}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'pid')}`,
    `--host=unix://${socketPath}`,
    // No bridge and no iptables: the tests need no networking, and leaving the host's
    // network configuration alone lets this engine coexist with any other.
    '--bridge=none',
    '--iptables=false',
    // At shutdown dockerd stops running containers with this grace period (default 15 s);
    // a test that leaves `sleep` running as PID 1, which ignores SIGTERM, would otherwise
    // add the full default to every teardown.
    '--shutdown-timeout=2',
    ...extraArgs,
  ];
  // DOCKER_HOST and friends are client settings; dropping them keeps them from leaking
  // into anything dockerd might spawn.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  for (const key of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT']) delete env[key];

  // Spawns dockerd and waits until it answers; run again by `resume` after `halt`.
  const launch = async (): Promise<ChildProcess> => {
    const logFd = openSync(logPath, 'a');
    const child = spawn(dockerd, args, { stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });

    // The engine directory, log included, is removed on failure so nothing is left mounted
    // or running; the error therefore carries the end of the log itself.
    const fail = async (reason: string): Promise<never> => {
      const tail = logTail(logPath);
      await stopEngine(child);
      await removeEngineDir(dir);
      throw new Error(`${reason}\n--- last lines of the dockerd log ---\n${tail}\n---\n${INSTALL_HINT}`);
    };

    const docker = dockerFor(`unix://${socketPath}`);
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (spawnError !== undefined) await fail(`could not start dockerd: ${spawnError.message}`);
      if (exited(child)) await fail(`dockerd exited early (code ${child.exitCode}, signal ${child.signalCode})`);
      try {
        // A socket that accepts but never answers must not stall startup past the deadline.
        await Promise.race([
          docker.ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), 5_000).unref()),
        ]);
        return child;
      } catch {
        // The socket does not exist or does not answer yet.
      }
      if (Date.now() > deadline) await fail(`dockerd did not answer /_ping within ${STARTUP_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  let child = await launch();

  return {
    host: `unix://${socketPath}`,
    dataRoot,
    variant,
    stop: async () => {
      await stopEngine(child);
      await removeEngineDir(dir);
    },
    halt: async (signal = 'SIGTERM') => {
      await stopEngine(child, signal);
      // A killed dockerd leaves its containerd's pid file behind. Here the next dockerd on this
      // directory then failed every time with "timeout waiting for containerd to start" (though
      // that containerd was gone); without the file it starts a containerd of its own, as after
      // a reboot. A real host's engine restarts through its service manager anyway.
      if (signal === 'SIGKILL') rmSync(join(dir, 'exec', 'containerd', 'containerd.pid'), { force: true });
    },
    resume: async () => {
      if (!exited(child)) throw new Error('resume: dockerd is still running; halt it first');
      child = await launch();
    },
  };
}
