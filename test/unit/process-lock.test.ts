// The process lock that keeps two `once` runs (or `once` and the daemon) apart: taken, refused
// to a second process with the holder named, released, lost, and taken over from a holder that
// died — at once on this host, and after STALE_MS when its pid cannot be checked from here.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acquireProcessLock,
  LockHeldError,
  lockPaths,
  STALE_MS,
  type Holder,
  type ProcessLock,
} from '../../src/runtime/process-lock.js';
import { captureLog } from '../support/capture-log.js';
import { waitFor } from '../support/daemon-process.js';

const holderScript = new URL('../support/lock-holder.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];
const held: ProcessLock[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const lock of held.splice(0)) await lock.release();
});

function lockDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-lock-')), 'reclaimd.lock');
}

/** Starts another process that takes the lock; resolves once it holds it. */
async function holderProcess(...paths: string[]): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holderScript, ...paths], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    void exited.then((code) => reject(new Error(`lock holder exited with ${code} before taking the lock`)));
  });
  return { child, exited };
}

async function acquire(paths: string[], onLost: (p: string, err: Error) => void = () => {}) {
  const { log, lines } = captureLog();
  const lock = await acquireProcessLock({ paths, log, onLost });
  held.push(lock);
  return { lock, lines };
}

async function refusal(paths: string[]): Promise<LockHeldError> {
  const err = await acquire(paths).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LockHeldError);
  return err as LockHeldError;
}

function holderOf(lockPath: string): Holder {
  return JSON.parse(readFileSync(path.join(lockPath, 'holder.json'), 'utf8')) as Holder;
}

describe('the process lock', () => {
  it('is taken, names its holder, is refused to a second process while held, and is free again once released', async () => {
    const p = lockDir();
    const { lock } = await acquire([p]);
    expect(lock.paths).toEqual([p]);
    expect(holderOf(p)).toMatchObject({ pid: process.pid, command: expect.stringMatching(/^reclaimd/) as unknown });

    // Another process is refused while this one holds it.
    const other = spawn(process.execPath, ['--import', 'tsx', holderScript, p], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(other);
    let stderr = '';
    other.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => other.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toContain(`another reclaimd holds the lock ${p} (pid ${process.pid} on host`);

    await lock.release();
    expect(existsSync(p)).toBe(false);
    const again = await holderProcess(p);
    // Now the other process holds it, and this one is refused with that holder named.
    const err = await refusal([p]);
    expect(err.path).toBe(p);
    expect(err.holder?.pid).toBe(again.child.pid);
    const named = `pid ${again.child.pid} on host .+, \`reclaimd .+\`, since \\d{4}-.+Z`;
    expect(err.message).toMatch(
      new RegExp(`^another reclaimd holds the lock ${p} \\(${named}\\); nothing was removed\\. Wait for it`),
    );
    expect(err.message).not.toContain('\n');
    // SIGTERM (what cron, systemd and `docker stop` send) releases it on the way out.
    again.child.kill('SIGTERM');
    await again.exited;
    expect(existsSync(p)).toBe(false);
    await acquire([p]);
  });

  it('is all or nothing: when the second lock is held, the first is given back', async () => {
    const [first, second] = [lockDir(), lockDir()];
    const other = await holderProcess(second);
    const err = await refusal([first, second]);
    expect(err.path).toBe(second);
    expect(existsSync(first)).toBe(false);
    other.child.kill('SIGTERM');
  });

  it('is taken over at once from a holder on this host that was killed with SIGKILL', async () => {
    const p = lockDir();
    const dead = await holderProcess(p);
    dead.child.kill('SIGKILL');
    await dead.exited;
    expect(holderOf(p).pid).toBe(dead.child.pid);
    const { lock } = await acquire([p]);
    expect(lock.paths).toEqual([p]);
    expect(holderOf(p).pid).toBe(process.pid);
  });

  it('is taken over at once from a holder killed with SIGKILL whose parent has not reaped it yet (a zombie)', async () => {
    const p = lockDir();
    // The holder's parent becomes `sleep`, which never waits for it.
    const script = `"${process.execPath}" --import tsx "${holderScript}" "${p}" & exec sleep 60`;
    const shell = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(shell);
    await new Promise<void>((resolve) =>
      shell.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()),
    );
    const pid = holderOf(p).pid;
    process.kill(pid, 'SIGKILL');
    const zombie = () => (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) ? true : undefined);
    await waitFor(zombie, 10_000, () => `holder ${pid} to be a zombie`);
    const { lock } = await acquire([p]);
    expect(lock.paths).toEqual([p]);
    expect(holderOf(p).pid).toBe(process.pid);
  });

  it('from a dead holder whose pid cannot be checked from here (another container or host), is taken over once stale', async () => {
    const p = lockDir();
    const dead = await holderProcess(p);
    dead.child.kill('SIGKILL');
    await dead.exited;
    // As if it had run in another PID namespace: its pid means nothing here.
    const file = path.join(p, 'holder.json');
    writeFileSync(file, JSON.stringify({ ...holderOf(p), space: 'another-boot/pid:[1]' }));
    const fresh = await refusal([p]);
    expect(fresh.holder?.pid).toBe(dead.child.pid);
    // Not refreshed for longer than STALE_MS: the holder is gone. (Backdated rather than waited for.)
    const old = new Date(Date.now() - STALE_MS - 1000);
    utimesSync(p, old, old);
    const { lock } = await acquire([p]);
    expect(lock.paths).toEqual([p]);
    expect(holderOf(p).pid).toBe(process.pid);
  });

  it('reports a lock taken away from its holder, so that no further removal starts', async () => {
    const p = lockDir();
    const lost: string[] = [];
    await acquire([p], (lockPath) => lost.push(lockPath));
    rmSync(p, { recursive: true });
    // The holder finds out at its next refresh, a few seconds later.
    await waitFor(
      () => (lost.length > 0 ? true : undefined),
      15_000,
      () => 'the lock to be reported lost',
    );
    expect(lost).toEqual([p]);
  });

  it('skips, with a warning, a lock that cannot be written, and says so when none could be', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-lock-')), 'not-a-directory');
    writeFileSync(file, '');
    const p = lockDir();
    const { lock, lines } = await acquire([path.join(file, 'reclaimd.lock'), p]);
    expect(lock.paths).toEqual([p]);
    expect(lines).toMatchObject([{ level: 30, lock: path.join(file, 'reclaimd.lock') }]);
    const alone = await acquire([path.join(file, 'other.lock')]);
    expect(alone.lock.paths).toEqual([]);
    expect(alone.lines).toMatchObject([{ level: 40, msg: expect.stringMatching(/not kept apart/) as unknown }]);
  });
});

describe('where the locks live', () => {
  it('in state.dir when set, and for the engine on this machine, keyed by its address', async () => {
    const withState = await lockPaths({ stateDir: '/var/lib/reclaimd', dockerHost: 'unix:///var/run/docker.sock' });
    expect(withState[0]).toBe('/var/lib/reclaimd/reclaimd.lock');
    expect(withState[1]).toMatch(new RegExp(`^${tmpdir()}/reclaimd-[^/]+/engine-[0-9a-f]{16}\\.lock$`));
    const without = await lockPaths({ stateDir: undefined, dockerHost: 'unix:///var/run/docker.sock' });
    expect(without).toEqual([withState[1]]);
    const other = await lockPaths({ stateDir: undefined, dockerHost: 'tcp://127.0.0.1:2375' });
    expect(other[0]).not.toBe(withState[1]);
  });
});
