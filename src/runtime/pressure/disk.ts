/**
 * Reads how full the file system holding the engine's data root is, for `when.diskUsageAbove`.
 * The planner never guesses: when the figure cannot be read, it gets `undefined` and disk
 * pressure policies remove nothing, and the error says what to mount.
 */
import { statfs } from 'node:fs/promises';
import type { Config } from '../../core/config/config.js';
import type { DiskFigures } from '../../core/planner/pressure/pressure.js';

/** What a disk reading gave: the figures, or why there are none. */
export interface DiskReading {
  /** The path measured; undefined when neither pressure.path nor the engine named one. */
  readonly path: string | undefined;
  readonly figures: DiskFigures | undefined;
  /** Set when the figures are missing: a message for operators. */
  readonly error: string | undefined;
}

/** True when some policy needs the disk figures (only `when.diskUsageAbove` does). */
export function needsDisk(config: Config): boolean {
  return config.policies.some((p) => p.resource === 'image' && p.when?.diskUsageAbove !== undefined);
}

/**
 * Measures the file system at `pressure.path`, or else at the engine's data root. Used bytes
 * are what the file system has handed out (blocks minus free blocks), total its size, both as
 * `df` counts them before its reserved-blocks adjustment.
 */
export async function readDisk(config: Config, engineDataRoot: string | undefined): Promise<DiskReading> {
  const path = config.pressure.path ?? engineDataRoot;
  if (path === undefined) {
    return {
      path,
      figures: undefined,
      error:
        'the engine did not report its data root (DockerRootDir); set pressure.path to a path on the file system that holds it',
    };
  }
  try {
    const s = await statfs(path);
    const total = s.blocks * s.bsize;
    if (!(total > 0)) return { path, figures: undefined, error: `the file system at ${path} reports a size of 0` };
    return { path, figures: { total, used: (s.blocks - s.bfree) * s.bsize }, error: undefined };
  } catch (err) {
    const hint =
      config.pressure.path === undefined
        ? `; reclaimd measures the engine's data root as the engine names it, so in a container mount it read-only at the same path (e.g. -v ${path}:${path}:ro) or set pressure.path to where it is mounted`
        : "; pressure.path must be a path on the file system that holds the engine's data root (in a container, mount the data root read-only, e.g. -v /var/lib/docker:/var/lib/docker:ro)";
    return { path, figures: undefined, error: `cannot read disk usage at ${path}: ${(err as Error).message}${hint}` };
  }
}
