// Which Docker engine a test run (or the benchmark) starts: the machine's own docker.io
// (20.10 on bookworm), or Docker 28.5 unpacked by scripts/install-engines.sh, with the classic
// overlay2 store or with the containerd image store (the default of fresh Docker 29 installs).
// RECLAIMD_TEST_ENGINE names it; scripts/test.sh runs the integration tests once per engine.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const ENGINE_VARIANTS = ['docker-20.10', 'docker-28.5', 'docker-28.5-containerd'] as const;
export type EngineVariantName = (typeof ENGINE_VARIANTS)[number];

export interface EngineVariant {
  readonly name: EngineVariantName;
  /** Put first on dockerd's PATH: its dockerd, containerd, shim, docker-init and docker-proxy. Undefined: the machine's own. */
  readonly binDir: string | undefined;
  /** The docker CLI plugins (buildx) that go with this engine, if any. */
  readonly pluginDir: string | undefined;
  /** dockerd's configuration file, as JSON. */
  readonly daemonConfig: Readonly<Record<string, unknown>>;
  /** Whether the engine keeps images in the containerd image store. */
  readonly containerdStore: boolean;
}

const INSTALL_HINT = 'run scripts/install-engines.sh (RECLAIMD_ENGINES_DIR says where it unpacked them)';

/** The engine named by RECLAIMD_TEST_ENGINE (default: the machine's docker.io). */
export function engineVariant(name: string = process.env['RECLAIMD_TEST_ENGINE'] ?? 'docker-20.10'): EngineVariant {
  if (!(ENGINE_VARIANTS as readonly string[]).includes(name)) {
    throw new Error(`RECLAIMD_TEST_ENGINE: expected one of ${ENGINE_VARIANTS.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const variant = name as EngineVariantName;
  if (variant === 'docker-20.10')
    return { name: variant, binDir: undefined, pluginDir: undefined, daemonConfig: {}, containerdStore: false };
  const dir = join(process.env['RECLAIMD_ENGINES_DIR'] ?? '/var/cache/reclaimd/engines', 'docker-28.5');
  try {
    accessSync(join(dir, 'bin', 'dockerd'), constants.X_OK);
  } catch {
    throw new Error(`Docker 28.5 is not unpacked at ${dir}: ${INSTALL_HINT}`);
  }
  const containerdStore = variant === 'docker-28.5-containerd';
  return {
    name: variant,
    binDir: join(dir, 'bin'),
    pluginDir: join(dir, 'cli-plugins'),
    daemonConfig: containerdStore ? { features: { 'containerd-snapshotter': true } } : {},
    containerdStore,
  };
}
