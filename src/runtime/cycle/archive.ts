/**
 * The archive step of an image removal: an image that exists nowhere else (no repository
 * digest) is saved in `docker save` format before it is removed, so nothing irreplaceable is
 * lost. The planner decides which images get one (Action.archive); this runs it.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../../engine/engine.js';
import { EngineError } from '../../engine/errors.js';
import type { ImageAction, Plan } from '../../core/model/plan.js';
import { shortId } from '../../core/model/snapshot.js';

/** A written archive. */
export interface Archived {
  readonly path: string;
  readonly bytes: number;
}

export type ArchiveOutcome =
  | ({ readonly ok: true } & Archived)
  | {
      readonly ok: false;
      readonly kind: 'gone' | 'unreachable' | 'archive-failed';
      readonly message: string;
      readonly path: string;
    };

// File systems allow 255 bytes a name; the ID and suffix take 70, the readable part the rest.
const MAX_READABLE = 120;

/**
 * `<first tag or short ID>--<full ID hex>.tar`, e.g. `ci_app_pr-1--3f2a….tar`: recognisable by
 * its tag, and unique by its ID, so archiving the same image again replaces its own archive and
 * never another image's. Characters other than letters, digits, `.`, `_` and `-` become `_`.
 */
export function archiveFileName(id: string, tags: readonly string[]): string {
  const readable = (tags[0] ?? shortId(id))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, MAX_READABLE);
  return `${readable}--${id.replace(/^sha256:/, '')}.tar`;
}

/**
 * Saves the image of `action` into its archive directory under its current `tags`. Never
 * throws: a failure comes back as an outcome, and the caller must then not remove the image.
 * An image already gone and an engine gone away keep their own kinds (gone, unreachable), so
 * they are counted as they always are; everything else (directory missing or unwritable, disk
 * full, the stream breaking off, the engine refusing) is `archive-failed`.
 */
export async function archiveImage(
  engine: Engine,
  action: ImageAction,
  tags: readonly string[],
): Promise<ArchiveOutcome> {
  const dir = action.archive?.dir;
  if (dir === undefined) throw new Error(`archiveImage called for ${action.id} without an archive plan`);
  const file = path.join(dir, archiveFileName(action.id, tags));
  try {
    const bytes = await engine.saveImage(action.id, tags, file);
    return { ok: true, path: file, bytes };
  } catch (err) {
    if (err instanceof EngineError && (err.kind === 'gone' || err.kind === 'unreachable'))
      return { ok: false, kind: err.kind, message: err.message, path: file };
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, kind: 'archive-failed', message: `could not archive to ${file}: ${message}`, path: file };
  }
}

/**
 * The archive directories of a plan that a real run could not write to, each with the problem,
 * so a dry-run can warn that those images would be skipped rather than removed. Looks only:
 * it writes nothing.
 */
export async function unusableArchiveDirs(plan: Plan): Promise<Array<{ dir: string; problem: string }>> {
  const dirs = new Set(plan.actions.flatMap((a) => (a.resource === 'image' && a.archive ? [a.archive.dir] : [])));
  const out: Array<{ dir: string; problem: string }> = [];
  for (const dir of [...dirs].sort()) {
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
      await access(dir, constants.W_OK);
    } catch (err) {
      out.push({ dir, problem: (err as Error).message });
    }
  }
  return out;
}
