/**
 * Per-layer sizes of an image, keyed by chain ID, so shared layers can be counted once.
 *
 * The engine gives the diff IDs (`RootFS.Layers`) from inspect and one size per history entry,
 * but does not say which history entries are layers. We align them ourselves and check the
 * result against the image's total size; see docs in docker-engine-notes §2.
 */
import { createHash } from 'node:crypto';
import type { ImageLayer } from '../policy/snapshot.js';

/** chain[0] = diff[0]; chain[n] = sha256(chain[n-1] + " " + diff[n]), as the layer store does. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diff : `sha256:${createHash('sha256').update(`${prev} ${diff}`).digest('hex')}`);
  }
  return out;
}

export interface HistoryEntry {
  readonly CreatedBy?: string;
  readonly Size: number;
}

// Dockerfile steps that only change the config. The classic builder marks them "#(nop)";
// BuildKit writes the bare instruction. ADD and COPY are "#(nop)" too but do make layers.
const METADATA = /^(\/bin\/sh -c #\(nop\) +(?!(ADD|COPY)\b))|^(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|USER|ARG|HEALTHCHECK|STOPSIGNAL|SHELL|VOLUME|ONBUILD|MAINTAINER)\b/;

/**
 * Aligns history (newest first, as the engine returns it) with the layers (oldest first).
 * When the alignment does not add up, sizes still come back consistent with the image's total:
 * layers another image already sized keep that size, and the rest of the total goes to the top.
 */
export function layerSizes(diffIds: readonly string[], history: readonly HistoryEntry[], totalSize: number, known: ReadonlyMap<string, number>): { layers: ImageLayer[]; exact: boolean } {
  const chains = chainIds(diffIds);
  const oldestFirst = [...history].reverse();
  const sizes = oldestFirst.filter((h) => h.Size > 0 || !METADATA.test(h.CreatedBy ?? '')).map((h) => h.Size);
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === chains.length && sum === totalSize) {
    return { layers: chains.map((chain, i) => ({ chain, size: sizes[i] as number })), exact: true };
  }
  let rest = totalSize;
  const layers = chains.map((chain) => {
    const size = Math.min(known.get(chain) ?? 0, rest);
    rest -= size;
    return { chain, size };
  });
  const top = layers[layers.length - 1];
  if (top) layers[layers.length - 1] = { chain: top.chain, size: top.size + Math.max(0, rest) };
  return { layers, exact: false };
}
