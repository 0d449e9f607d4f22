/** BuildKit's build cache: its records, from the disk-usage report, and the engine-side prune. */
import type Docker from 'dockerode';
import type { BuildCacheRecord } from '../core/model/snapshot.js';
import type { BuildCachePrune } from '../core/model/plan.js';
import type { RemovalOutcome } from './engine.js';
import { classify } from './errors.js';

/** A `/system/df` BuildCache entry: `Parent` up to API 1.41, `Parents` from 1.42. */
export interface RawBuildCache {
  ID: string;
  Parent?: string | null;
  Parents?: string[] | null;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  Size?: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
}

/**
 * Epoch milliseconds, keeping the digits below a millisecond as a fraction: BuildKit ranks
 * records by nanosecond last-use times, and records of one build are often used within the
 * same millisecond, so truncating would tie records that BuildKit tells apart.
 */
export function time(text: string | null | undefined): number | undefined {
  const t = text ? Date.parse(text) : NaN;
  if (!Number.isFinite(t) || t <= 0) return undefined;
  const fraction = /\.\d{3}(\d+)/.exec(text as string)?.[1];
  return fraction === undefined ? t : t + Number(`0.${fraction}`);
}

/** A `/system/df` BuildCache entry → BuildCacheRecord, smoothing over `Parent`/`Parents` and null times. */
export function mapBuildCache(raw: RawBuildCache): BuildCacheRecord {
  const parent = raw.Parent || raw.Parents?.[0] || undefined;
  return {
    id: raw.ID,
    parent,
    type: raw.Type ?? 'regular',
    description: raw.Description ?? '',
    inUse: raw.InUse === true,
    shared: raw.Shared === true,
    size: raw.Size ?? 0,
    createdAt: time(raw.CreatedAt),
    lastUsedAt: time(raw.LastUsedAt),
    usageCount: raw.UsageCount ?? 0,
  };
}

/**
 * POST /build/prune with the planned parameters. dockerode's pruneBuilder() drops every
 * option, so the endpoint is dialled directly. The bytes are the engine's SpaceReclaimed: the
 * sizes of the records it removed (a record shared with an image, removed by an `all` prune,
 * counts although its data stays with the image; src/runtime/cycle/execute-prune.ts takes those out).
 */
export async function pruneBuildCache(docker: Docker, prune: BuildCachePrune): Promise<RemovalOutcome> {
  const options: Record<string, unknown> = {};
  if (prune.keepStorage !== undefined) options['keep-storage'] = prune.keepStorage;
  if (prune.all) options['all'] = true;
  if (prune.until !== undefined) options['filters'] = { until: [prune.until] };
  try {
    const out = await new Promise<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>((resolve, reject) => {
      docker.modem.dial(
        {
          path: '/build/prune?',
          method: 'POST',
          options,
          statusCodes: { 200: true, 400: 'bad request', 409: 'conflict', 500: 'server error' },
        },
        (err: unknown, data: unknown) =>
          err ? reject(err) : resolve((data ?? {}) as { CachesDeleted?: string[] | null; SpaceReclaimed?: number }),
      );
    });
    return { ok: true, deleted: out.CachesDeleted ?? [], bytes: out.SpaceReclaimed ?? 0 };
  } catch (err) {
    const e = classify(err);
    return { ok: false, kind: e.kind, message: e.message };
  }
}
