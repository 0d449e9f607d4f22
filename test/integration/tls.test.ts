// Reaching an engine over TCP with TLS, as the docker CLI does: DOCKER_HOST=tcp://…,
// DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or docker.host in the configuration. The test
// makes its own CA and certificates and starts a second throwaway engine that requires them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runNode, writeConfig } from '../support/cli.js';
import { startThrowawayEngine, type ThrowawayEngine } from '../support/throwaway-engine.js';

let engine: ThrowawayEngine;
let certs: string;
let address: string;

function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('genrsa', '-out', 'ca-key.pem', '2048');
  ssl('req', '-new', '-x509', '-days', '1', '-key', 'ca-key.pem', '-subj', '/CN=reclaimd-test-ca', '-out', 'ca.pem');
  writeFileSync(path.join(dir, 'server.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(path.join(dir, 'client.cnf'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [
    ['server', 'server.cnf'],
    ['client', 'client.cnf'],
  ] as const) {
    ssl('genrsa', '-out', `${name}-key.pem`, '2048');
    ssl('req', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    ssl(
      'x509',
      '-req',
      '-days',
      '1',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}-cert.pem`,
      '-extfile',
      ext,
    );
  }
  // The names the docker CLI (and reclaimd) look for in DOCKER_CERT_PATH.
  execFileSync('cp', ['client-cert.pem', 'cert.pem'], { cwd: dir });
  execFileSync('cp', ['client-key.pem', 'key.pem'], { cwd: dir });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  certs = mkdtempSync(path.join(tmpdir(), 'reclaimd-tls-'));
  makeCertificates(certs);
  const port = await freePort();
  address = `tcp://127.0.0.1:${port}`;
  engine = await startThrowawayEngine([
    '--tlsverify',
    `--tlscacert=${certs}/ca.pem`,
    `--tlscert=${certs}/server-cert.pem`,
    `--tlskey=${certs}/server-key.pem`,
    `--host=${address}`,
  ]);
});

afterAll(async () => {
  await engine?.stop();
});

describe('an engine that requires TLS', () => {
  const config = () =>
    writeConfig({}, { 'p.yaml': { policies: [{ name: 'd', resource: 'image', match: { dangling: true } }] } });

  it('is reached with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const r = await runNode([CLI, 'plan', '--config', config(), '--json'], {
      dockerHost: address,
      env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'dry-run', totals: { count: 0, bytes: 0 } });
  });

  it('is reached with docker.host in the configuration and the certificates from DOCKER_CERT_PATH', async () => {
    const withHost = writeConfig(
      { docker: { host: address } },
      { 'p.yaml': { policies: [{ name: 'd', resource: 'image', match: { dangling: true } }] } },
    );
    const r = await runNode([CLI, 'once', '--config', withHost, '--json'], {
      env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ reclaimed: { count: 0, bytes: 0 } });
    // Key material never reaches the output or the logs.
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it('refuses to talk without TLS, with a clear message and nothing removed', async () => {
    const r = await runNode([CLI, 'plan', '--config', config()], { dockerHost: address });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^reclaimd: plan failed: .*HTTP request to an HTTPS server.* \(the engine requires TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH\); nothing was removed\n$/,
    );
    expect(r.stderr).not.toMatch(/PRIVATE KEY/);
  });
});
