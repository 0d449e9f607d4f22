/**
 * Per-layer sizes of an image, keyed by chain ID, so shared layers can be counted once.
 *
 * The engine gives the diff IDs (`RootFS.Layers`) from inspect and one size per history entry,
 * but does not say which history entries are layers. We align them ourselves and check the
 * result against the image's total size; see docs in docker-engine-notes §2.
 */
import { createHash } from 'node:crypto';

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
const METADATA =
  /^(\/bin\/sh -c #\(nop\) +(?!(ADD|COPY)\b))|^(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|USER|ARG|HEALTHCHECK|STOPSIGNAL|SHELL|VOLUME|ONBUILD|MAINTAINER)\b/;
// WORKDIR makes a layer when it creates the directory and none when it exists, so a
// zero-size WORKDIR entry may be either; so may any other zero-size step, since the classic
// builder keeps an empty layer for a RUN that changed nothing and BuildKit drops it.
const MAYBE_LAYER = /^(\/bin\/sh -c #\(nop\) +)?WORKDIR\b/;

export interface LayerSizes {
  /** Oldest first: chain ID and size. */
  readonly layers: Array<{ chain: string; size: number }>;
  /** False when history could not be aligned with the layers and sizes were estimated. */
  readonly exact: boolean;
}

/**
 * Aligns history (newest first, as the engine returns it) with the layers (oldest first).
 * A history entry with a size is a layer; a zero-size one that is not a metadata step (or is a
 * WORKDIR) may be, and is counted as one only as far as the layer count needs. When nothing adds up,
 * sizes come back consistent with the image's total: layers already sized exactly keep that
 * size, and the rest of the total goes to the top layer, marked inexact.
 */
export function layerSizes(
  diffIds: readonly string[],
  history: readonly HistoryEntry[],
  totalSize: number,
  known: (chain: string) => number | undefined,
): LayerSizes {
  const chains = chainIds(diffIds);
  const entries = [...history].reverse();
  const definite = entries.filter((h) => h.Size > 0);
  const maybe = entries.filter(
    (h) => h.Size === 0 && (!METADATA.test(h.CreatedBy ?? '') || MAYBE_LAYER.test(h.CreatedBy ?? '')),
  );
  const spare = chains.length - definite.length;
  if (spare >= 0 && spare <= maybe.length) {
    // Which zero-size WORKDIR steps are the layers only matters when a sized step lies between
    // them; taking the first ones and taking the last ones give the same sizes when it does not.
    const pick = (chosen: ReadonlySet<HistoryEntry>) =>
      entries.filter((h) => definite.includes(h) || chosen.has(h)).map((h) => h.Size);
    const first = pick(new Set(maybe.slice(0, spare)));
    const last = pick(new Set(maybe.slice(maybe.length - spare)));
    const sum = first.reduce((a, b) => a + b, 0);
    if (first.join() === last.join() && first.length === chains.length && sum === totalSize) {
      return { layers: chains.map((chain, i) => ({ chain, size: first[i] as number })), exact: true };
    }
  }
  let rest = totalSize;
  const layers = chains.map((chain) => {
    const size = Math.min(known(chain) ?? 0, rest);
    rest -= size;
    return { chain, size };
  });
  const top = layers[layers.length - 1];
  if (top) layers[layers.length - 1] = { chain: top.chain, size: top.size + Math.max(0, rest) };
  return { layers, exact: false };
}
