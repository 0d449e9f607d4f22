// One reclaimd at a time, on the real engine: two `once --mode enforce` started together (a cron
// job that overlaps itself), and `once` beside a running daemon, whether they share state.dir or
// only the engine. The second process exits 75 with one line naming the lock and its holder, and
// removes nothing; once the first has finished, the next `once` runs as usual.
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { runCli, writeConfig, type CliResult } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { cleanupRun, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';
import { SocketProxy } from '../support/socket-proxy.js';

const EXIT_LOCKED = 75;
const host = inject('dockerHost');
let docker: Docker;
let run: string;
let proxy: SocketProxy;
let daemon: DaemonProcess | undefined;

beforeEach(async () => {
  docker = dockerFor(host);
  run = newRunId();
  proxy = new SocketProxy(
    path.join(mkdtempSync(path.join(tmpdir(), 'rp-')), 'engine.sock'),
    host.slice('unix://'.length),
  );
  await proxy.start();
});
afterEach(async () => {
  daemon?.kill('SIGKILL');
  daemon = undefined;
  await proxy.stop();
  await cleanupRun(docker, run);
});

/** Old images labelled for this run: what every policy here selects. */
async function oldImages(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const [created, layers] = [new Date('2023-01-01'), [{ files: [{ path: `lock-${i}`, size: 10_000 + i }] }]];
    ids.push(await loadImage(docker, { tags: [`rt${run}/lock:${i}`], created, labels: { [TEST_LABEL]: run }, layers }));
  }
  return ids;
}

function config(settings: Record<string, unknown>): string {
  const policy = { name: 'old', resource: 'image', match: { olderThan: '30d', labels: [`${TEST_LABEL}=${run}`] } };
  return writeConfig({ schedule: '0 0 1 1 *', ...settings }, { 'p.yaml': { policies: [policy] } });
}

async function present(ids: readonly string[]): Promise<string[]> {
  const listed = new Set((await docker.listImages({ all: true })).map((i) => i.Id));
  return ids.filter((id) => listed.has(id));
}

/** The refusal: exit 75, no report, and exactly one line on stderr naming the lock and its holder. */
function expectRefused(r: CliResult, lock: string, holder: RegExp): void {
  expect(r.code, r.stderr).toBe(EXIT_LOCKED);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  const named = `pid \\d+ on host [^,]+, \`${holder.source}\`, since [^)]+`;
  const advice = 'nothing was removed\\. Wait for it to finish or stop it, then run again';
  expect(lines[0]).toMatch(
    new RegExp(`^reclaimd: once refused: another reclaimd holds the lock ${lock} \\(${named}\\); ${advice}`),
  );
}

interface Report {
  removed: Array<{ id: string }>;
}

describe('one reclaimd at a time', () => {
  it('of two `once --mode enforce` started together, exactly one runs; the other exits 75 and removes nothing', async () => {
    const ids = await oldImages(3);
    const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-state-')), 'state');
    const configPath = config({ docker: { host: `unix://${proxy.path}` }, state: { dir: stateDir } });
    // A slow engine, so that the one that runs is still running when the other looks at the lock.
    proxy.delay(300);
    const args = ['once', '--config', configPath, '--mode', 'enforce', '--json'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    const [ran, refused] = a.code === EXIT_LOCKED ? [b, a] : [a, b];
    expectRefused(refused, path.join(stateDir, 'reclaimd.lock'), /reclaimd once --config \S+ --mode enforce --json/);
    expect(ran.code, ran.stderr).toBe(0);
    expect((JSON.parse(ran.stdout) as Report).removed.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(await present(ids)).toEqual([]);
    // Released on exit: the next run takes the lock and runs as usual.
    expect(existsSync(path.join(stateDir, 'reclaimd.lock'))).toBe(false);
    proxy.delay(0);
    const next = await runCli(args);
    expect(next.code, next.stderr).toBe(0);
    expect((JSON.parse(next.stdout) as Report).removed).toEqual([]);
  });

  it('`once` beside a daemon that shares its state.dir (another engine address) is refused until the daemon stops', async () => {
    const ids = await oldImages(2);
    const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-state-')), 'state');
    // The daemon in dry-run through the proxy; `once` straight at the engine: only state.dir is shared,
    // as with a sidecar and a cron job in two containers mounting the same volume.
    const daemonConfig = config({
      mode: 'dry-run',
      docker: { host: `unix://${proxy.path}` },
      state: { dir: stateDir },
    });
    daemon = new DaemonProcess(['--config', daemonConfig]);
    await daemon.started();
    await daemon.waitForLog((l) => l.msg === 'cycle finished');
    const onceConfig = config({ docker: { host }, state: { dir: stateDir } });
    const refused = await runCli(['once', '--config', onceConfig, '--mode', 'enforce', '--json']);
    expectRefused(
      refused,
      path.join(stateDir, 'reclaimd.lock'),
      /reclaimd daemon --listen 127\.0\.0\.1:0 --config \S+/,
    );
    expect(await present(ids)).toEqual(ids);

    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    const after = await runCli(['once', '--config', onceConfig, '--mode', 'enforce', '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as Report).removed.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(await present(ids)).toEqual([]);
  });

  it('`once` beside a daemon on the same engine, neither with a state.dir, is refused by the lock of this machine', async () => {
    const ids = await oldImages(1);
    const configPath = config({ mode: 'dry-run', docker: { host } });
    daemon = new DaemonProcess(['--config', configPath]);
    await daemon.started();
    await daemon.waitForLog((l) => l.msg === 'cycle finished');
    const refused = await runCli(['once', '--config', configPath, '--mode', 'enforce', '--json']);
    expectRefused(
      refused,
      `${tmpdir()}/reclaimd-[^/]+/engine-[0-9a-f]{16}\\.lock`,
      /reclaimd daemon --listen 127\.0\.0\.1:0 --config \S+/,
    );
    expect(await present(ids)).toEqual(ids);
    daemon.kill('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    const after = await runCli(['once', '--config', configPath, '--mode', 'enforce', '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(await present(ids)).toEqual([]);
  });
});
