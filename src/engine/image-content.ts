/**
 * What the containerd image store's image listing says of each image, read into StoredImage
 * (src/core/model/image-parts.ts turns that into parts). From API 1.47 the listing (`manifests=1`)
 * sizes the content of each manifest of an image (`Manifests[].Size.Content`) and the unpacked
 * snapshots of each platform, and from 1.48 it gives the image's own descriptor (an index,
 * for a multi-platform image).
 */
import type { ManifestContent, StoredImage, StoredLayer } from '../core/model/image-parts.js';
import { splitReference } from '../core/model/snapshot.js';
import { compareVersions } from './client.js';

/** The listing's fields this file reads (API 1.47+ on the containerd image store). */
export interface ContainerdImageInfo {
  readonly Id: string;
  readonly Size: number;
  readonly Descriptor?: { readonly mediaType?: string; readonly digest?: string; readonly size?: number } | null;
  readonly Manifests?: ReadonlyArray<{
    readonly ID: string;
    readonly Descriptor?: { readonly size?: number } | null;
    readonly Available?: boolean;
    readonly Size?: { readonly Content?: number; readonly Total?: number } | null;
    readonly Kind?: string;
    readonly ImageData?: {
      readonly Platform?: Platform | null;
      readonly Size?: { readonly Unpacked?: number } | null;
    } | null;
  }> | null;
}

export interface Platform {
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
}

/** Whether the listing can size content by manifest at this API version. */
export function listsManifests(apiVersion: string): boolean {
  return compareVersions(apiVersion, '1.47') >= 0;
}

/**
 * The unpacked size of the platform this image runs as here (the one inspect and history
 * describe), as the listing gives it; undefined where the listing does not say.
 */
export function unpackedSize(raw: ContainerdImageInfo, platform: Platform): number | undefined {
  return hostManifest(raw, platform)?.ImageData?.Size?.Unpacked ?? undefined;
}

/**
 * The image as stored. `layers` are those of the platform it runs as here (inspect and history
 * describe that one), with their snapshots' own usage; which layers its other platforms have,
 * the API does not say.
 */
export function storedImage(raw: ContainerdImageInfo, platform: Platform, layers: readonly StoredLayer[]): StoredImage {
  const manifests = raw.Manifests;
  if (!manifests || manifests.length === 0) {
    // Before API 1.47: the listing's Size is content and unpacked snapshots together.
    const own = layers.reduce((sum, l) => sum + l.own, 0);
    return {
      id: raw.Id,
      layers,
      unpacked: undefined,
      indexBytes: 0,
      manifests: [{ digest: raw.Id, bytes: Math.max(0, raw.Size - own), manifestBytes: 0, layers: 'host' }],
    };
  }
  const host = hostManifest(raw, platform);
  const hostUnpacked = host?.ImageData?.Size?.Unpacked ?? 0;
  const out: ManifestContent[] = manifests.map((m) => ({
    digest: m.ID,
    bytes: m.Size?.Content ?? 0,
    manifestBytes: m.Descriptor?.size ?? 0,
    // An attestation or other non-image manifest has no layers of its own to share. Another
    // platform's layers the API does not name; but one the engine finds unpacked here, as
    // large as the platform run here, has that platform's layers (the engine unpacks only
    // the platform it runs; a FROM scratch + COPY build gives every platform the same layer).
    layers:
      m === host || (m.Kind === 'image' && hostUnpacked > 0 && m.ImageData?.Size?.Unpacked === hostUnpacked)
        ? 'host'
        : m.Kind === 'image'
          ? 'unknown'
          : 'none',
  }));
  // An index is a blob of its own; a single-platform image is its one manifest.
  const isIndex = manifests.length > 1 || manifests[0]?.ID !== raw.Id;
  return {
    id: raw.Id,
    layers,
    unpacked: host?.ImageData?.Size?.Unpacked ?? undefined,
    indexBytes: isIndex ? (raw.Descriptor?.size ?? 0) : 0,
    manifests: out,
  };
}

type Manifest = NonNullable<ContainerdImageInfo['Manifests']>[number];

function hostManifest(raw: ContainerdImageInfo, platform: Platform): Manifest | undefined {
  return raw.Manifests?.find(
    (m) => m.Kind === 'image' && m.Available !== false && samePlatform(m.ImageData?.Platform ?? {}, platform),
  );
}

function samePlatform(a: Platform, b: Platform): boolean {
  return (
    a.architecture === b.architecture &&
    a.os === b.os &&
    (a.variant === undefined || b.variant === undefined || a.variant === b.variant)
  );
}

/**
 * Every tag's repository at the image's own digest. The containerd image store names an image
 * by digest under each repository it is tagged in, pushed or not, but its listing shows only one
 * of them and inspect all: so that both say the same (a removal checks that the image gained no
 * name since the plan), each image is given all of them.
 */
export function withOwnDigests(id: string, tags: readonly string[], digests: readonly string[]): string[] {
  const own = tags.map((t) => `${splitReference(t).repository}@${id}`);
  return [...new Set([...digests, ...own])];
}
