// A registry of the test's own: Debian's docker-registry (distribution 2.8) on a free loopback
// port with a throwaway storage root, so images can really be pushed and pulled back and get
// real repository digests. The engine pushes to and pulls from 127.0.0.0/8 without TLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './image-build.js';

export interface Registry {
  /** `127.0.0.1:PORT`, the host part of the references to push. */
  readonly address: string;
  stop(): Promise<void>;
}

const BINARY = '/usr/bin/docker-registry';

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rdk-registry-'));
  const address = `127.0.0.1:${await freePort()}`;
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      'storage:',
      `  filesystem: { rootdirectory: ${path.join(dir, 'data')} }`,
      '  delete: { enabled: true }',
      'http:',
      `  addr: ${address}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`http://${address}/v2/`)).ok) return { address, stop };
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `${BINARY} did not start on ${address} (install docker-registry: scripts/install-test-deps.sh)\n${stderr}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
