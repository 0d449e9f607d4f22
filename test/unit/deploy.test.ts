// The deployment recipes under deploy/ are read by tools a machine may not have (Compose,
// systemd), so their structure is checked here as data: what each must grant, what it must
// not, and that every file they mount from this repository exists. The Swarm stack is
// deployed for real, as docs/deploy/swarm.md says, by test/integration/image.test.ts;
// docker-compose and systemd-analyze check the others where they are installed
// (scripts/install-test-deps.sh installs both).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { shellBlock } from '../support/doc-commands.js';
import { shippedNode } from '../support/shipped-node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface ComposeService {
  image?: string;
  user?: string;
  group_add?: string[];
  read_only?: boolean;
  volumes?: string[];
  deploy?: { mode?: string };
  networks?: string[];
  configs?: Array<{ source: string; target: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, { labels?: Record<string, string> }>;
  networks?: Record<string, { external?: boolean; name?: string }>;
  configs?: Record<string, { file: string }>;
}

describe('deploy/compose/docker-compose.yml', () => {
  const file = 'deploy/compose/docker-compose.yml';
  const compose = parse(read(file)) as ComposeFile;

  it('runs reclaimd read-only as uid 10001 with the socket through its group', () => {
    const reclaimd = compose.services['reclaimd'];
    expect(reclaimd).toBeDefined();
    expect(reclaimd?.user).toBe('10001:10001');
    expect(reclaimd?.read_only).toBe(true);
    expect(reclaimd?.group_add?.[0]).toMatch(/^\$\{DOCKER_GID/);
    expect(reclaimd?.volumes).toContain('${DOCKER_SOCKET:-/var/run/docker.sock}:/var/run/docker.sock');
  });

  it('documents every setting it reads from the environment in its header', () => {
    const text = read(file);
    const header = text.slice(0, text.indexOf('services:'));
    const used = new Set([...text.matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([
      'DOCKER_GID',
      'DOCKER_SOCKET',
      'GRAFANA_ADMIN_PASSWORD',
      'GRAFANA_IMAGE',
      'GRAFANA_PORT',
      'PROMETHEUS_IMAGE',
      'PROMETHEUS_PORT',
      'RECLAIMD_IMAGE',
    ]);
    for (const name of used) expect(header, name).toMatch(new RegExp(`^#\\s+${name}\\s`, 'm'));
  });

  it("gives in its header the command of docs/deploy/compose.md's block", () => {
    // test/integration/recipe-compose.test.ts runs the doc's block; the header must not drift from it.
    const block = shellBlock('docs/deploy/compose.md', 'docker compose -p reclaimd up -d --build');
    const header = read(file).slice(0, read(file).indexOf('services:'));
    const up = header
      .split('\n')
      .find((l) => l.includes('docker compose'))
      ?.replace(/^#\s+/, '');
    expect(block).toBe(`cd deploy/compose && ${up}`);
  });

  it('puts Prometheus and Grafana beside it, on the shared Prometheus config and dashboard', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'prometheus', 'reclaimd']);
    expect(compose.services['prometheus']?.volumes).toContain('../prometheus:/etc/prometheus:ro');
    expect(compose.services['grafana']?.volumes).toContain(
      '../grafana/reclaimd.json:/etc/grafana/dashboards/reclaimd.json:ro',
    );
    // Only reclaimd may see the socket.
    for (const name of ['prometheus', 'grafana'])
      expect(compose.services[name]?.volumes?.join(' ')).not.toContain('docker.sock');
  });

  it('provisions a Prometheus data source and a dashboard provider for the mounted path', () => {
    const ds = parse(read('deploy/compose/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const dash = parse(read('deploy/compose/grafana/provisioning/dashboards/reclaimd.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(dash.providers[0]?.options.path).toBe('/etc/grafana/dashboards');
  });

  it('mounts only files of this repository that exist, and labels its volumes to keep', () => {
    // ../prometheus and ../grafana are maintained beside the dashboard and rules; the rest here.
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (!source.startsWith('.') || /^\.\.\/(prometheus|grafana)\b/.test(source)) continue;
        expect(existsSync(path.join(ROOT, 'deploy/compose', source)), source).toBe(true);
      }
    }
    for (const [name, volume] of Object.entries(compose.volumes ?? {}))
      expect(volume.labels?.['reclaimd.keep'], name).toBe('true');
  });

  // docker-compose 1.29 (Debian's package) checks the file against the Compose schema; the
  // file keeps to what both it and Compose v2 accept.
  const composeCli = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  it.skipIf(composeCli.status !== 0)('passes docker-compose config', () => {
    const result = spawnSync('docker-compose', ['-f', path.join(ROOT, file), 'config', '-q'], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_GID: '999' },
    });
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('deploy/swarm/reclaimd.stack.yml', () => {
  const stack = parse(read('deploy/swarm/reclaimd.stack.yml')) as ComposeFile;
  const reclaimd = stack.services['reclaimd'];
  const targets = reclaimd?.configs?.map((c) => c.target) ?? [];

  it('is a global service on the host network with the policies as Swarm configs', () => {
    expect(reclaimd?.deploy?.mode).toBe('global');
    expect(reclaimd?.read_only).toBe(true);
    expect(reclaimd?.user).toMatch(/^10001:\$\{DOCKER_GID/);
    expect(stack.networks?.[reclaimd?.networks?.[0] ?? '']).toEqual({ external: true, name: 'host' });
    expect([...targets].sort()).toEqual([
      '/etc/reclaimd/stack/config.yaml',
      '/etc/reclaimd/stack/policies/policies.yaml',
    ]);
  });

  it("mounts the user's files where the configuration's policy glob finds none of the image's", () => {
    // Every directory the image fills with a COPY: a policies file mounted in one of them would
    // be loaded together with the image's own (duplicate names stop reclaimd with exit 2).
    const imageDirs = read('Dockerfile')
      .split('\n')
      .filter((l) => /^COPY (?!--from)\S+ \/etc\//.test(l))
      .map((l) => l.split(' ')[2] ?? '');
    expect(imageDirs).toContain('/etc/reclaimd/policies');
    for (const target of targets) {
      for (const dir of imageDirs) expect(target.startsWith(`${dir}/`), `${target} in ${dir}`).toBe(false);
    }
    // --config names the mounted configuration, whose relative policies/*.yaml finds the mounted policies.
    const command = (reclaimd as { command?: string[] } | undefined)?.command ?? [];
    const config = command[command.indexOf('--config') + 1] ?? '';
    expect(targets).toContain(config);
    expect((parse(read('config.example.yaml')) as { policies: string[] }).policies).toEqual(['policies/*.yaml']);
    expect(targets).toContain(path.posix.join(path.posix.dirname(config), 'policies', 'policies.yaml'));
  });

  it('listens on every address of the node, on the port its health check asks', () => {
    const service = reclaimd as { command?: string[]; environment?: Record<string, string> } | undefined;
    const command = service?.command ?? [];
    expect(command[command.indexOf('--listen') + 1]).toBe('0.0.0.0:${RECLAIMD_PORT:-9476}');
    expect(service?.environment?.['RECLAIMD_HEALTHCHECK_URL']).toBe('http://127.0.0.1:${RECLAIMD_PORT:-9476}/healthz');
  });
});

describe('deploy/systemd/reclaimd.service', () => {
  const unit = read('deploy/systemd/reclaimd.service');
  const settings = unit.split('\n').filter((l) => /^\w+=/.test(l));

  it('runs unprivileged with the docker group, hardened, and reloads with SIGHUP', () => {
    for (const line of [
      'DynamicUser=yes',
      'SupplementaryGroups=docker',
      'StateDirectory=reclaimd',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'ExecReload=/bin/kill -HUP $MAINPID',
    ]) {
      expect(settings).toContain(line);
    }
    // V8 needs writable and executable memory; this setting would crash node at start.
    expect(settings.some((l) => l.startsWith('MemoryDenyWriteExecute=yes'))).toBe(false);
  });

  it('runs node with the flags and allocator settings of the container image', () => {
    const shipped = shippedNode();
    expect(shipped.flags).toContain('--heap-growing-percent=10');
    const exec = settings.find((l) => l.startsWith('ExecStart='))?.split(' ') ?? [];
    expect(
      exec.slice(
        1,
        exec.findIndex((a) => a.endsWith('/cli/main.js')),
      ),
    ).toEqual(shipped.flags);
    for (const [key, value] of Object.entries(shipped.env)) expect(settings).toContain(`Environment=${key}=${value}`);
    expect(Object.keys(shipped.env)).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_']);
  });

  it("gives in its header the commands of docs/deploy/systemd.md's block", () => {
    // test/integration/recipe-systemd.test.ts runs the doc's block; the header must not drift from it.
    const block = shellBlock('docs/deploy/systemd.md', 'sudo cp deploy/systemd/reclaimd.service /etc/systemd/system/');
    const header = unit.slice(0, unit.indexOf('[Unit]')).split('\n');
    const commands = header.filter((l) => l.startsWith('#   ')).map((l) => l.slice('#   '.length));
    expect(commands.join('\n')).toBe(block);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('passes systemd-analyze verify without a warning', () => {
    const result = spawnSync('systemd-analyze', ['verify', path.join(ROOT, 'deploy/systemd/reclaimd.service')], {
      encoding: 'utf8',
    });
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });
});
