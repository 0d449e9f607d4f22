// A Prometheus image for the throwaway engine, built from this machine's own prometheus binary
// (Debian's `prometheus` package, installed by scripts/install-test-deps.sh), since no registry
// can be reached to pull prom/prometheus. Like scripts/make-local-base.sh does for node, it is
// FROM scratch with the binary and every library `ldd` lists, and it copies what the official
// image sets up and a Compose file relies on: ENTRYPOINT /bin/prometheus, user nobody
// (65534), port 9090, and /prometheus as the working and data directory, owned by nobody, so
// that a named volume mounted there starts out writable for it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerCli } from './image-build.js';
import { TEST_LABEL } from './fixtures.js';

const PROMETHEUS = '/usr/bin/prometheus';

/** The absolute paths of the shared libraries `binary` links, as ldd lists them (none if static). */
function linkedLibraries(binary: string): string[] {
  let listing: string;
  try {
    listing = execFileSync('ldd', [binary], { encoding: 'utf8' });
  } catch {
    return []; // "not a dynamic executable"
  }
  return [...listing.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] as string);
}

/**
 * Builds `tag` in the engine at `host` from /usr/bin/prometheus, labelled `reclaimd-test=<run>`;
 * returns the tag. The command line is the official image's: `--config.file` and
 * `--storage.tsdb.path` by default, overridden by a Compose file's `command:`.
 */
export async function buildPrometheusImage(host: string, run: string, tag: string): Promise<string> {
  const work = mkdtempSync(path.join(tmpdir(), 'reclaimd-prom-image-'));
  try {
    const root = path.join(work, 'rootfs');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    mkdirSync(path.join(work, 'data'));
    cpSync(PROMETHEUS, path.join(root, 'bin/prometheus'));
    for (const lib of linkedLibraries(PROMETHEUS)) {
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
      // dereference: the loader looks for the path ldd printed, which is often a symbolic link.
      cpSync(lib, path.join(root, lib), { dereference: true });
    }
    writeFileSync(
      path.join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
    );
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    // The scrape target is a Compose service name: hosts, then the engine's DNS.
    writeFileSync(path.join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    writeFileSync(
      path.join(work, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        // An empty directory copied with --chown: the directory itself is created owned by nobody.
        'COPY --chown=65534:65534 data/ /prometheus/',
        'USER 65534:65534',
        'WORKDIR /prometheus',
        'EXPOSE 9090',
        'ENTRYPOINT ["/bin/prometheus"]',
        'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
        `LABEL ${TEST_LABEL}=${run} org.opencontainers.image.description="prometheus from the build machine, for tests only"`,
        '',
      ].join('\n'),
    );
    await dockerCli(host, ['build', '--force-rm', '-q', '-t', tag, work], { cwd: work });
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
