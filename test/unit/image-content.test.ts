// Reading the containerd image store's listing (API 1.51, `manifests=1`) into StoredImage: the
// answers below are those Docker 28.5 gave for a loaded image, a multi-platform build and a
// multi-platform image pulled with one platform.
import { describe, expect, it } from 'vitest';
import { storedImage, unpackedSize, withOwnDigests, type ContainerdImageInfo } from '../../src/engine/image-content.js';

const amd64 = { architecture: 'amd64', os: 'linux' };
const arm64 = { architecture: 'arm64', os: 'linux' };
const layers = [{ diffId: 'sha256:d1', chain: 'sha256:d1', own: 204_800 }];
const manifest = (id: string, platform: typeof amd64, content: number, unpacked: number, available = true) => ({
  ID: id,
  Descriptor: { size: 479 },
  Available: available,
  Size: { Content: content, Total: content + unpacked },
  Kind: 'image',
  ImageData: { Platform: platform, Size: { Unpacked: unpacked } },
});

describe('storedImage', () => {
  it('an image that is one manifest: no index blob, its content and the unpacked size of its platform', () => {
    const raw: ContainerdImageInfo = {
      Id: 'sha256:m',
      Size: 4_587_522,
      Descriptor: { size: 580 },
      Manifests: [{ ...manifest('sha256:m', amd64, 2_289_666, 2_297_856), Descriptor: { size: 580 } }],
    };
    expect(storedImage(raw, amd64, layers)).toEqual({
      id: 'sha256:m',
      layers,
      unpacked: 2_297_856,
      indexBytes: 0,
      manifests: [{ digest: 'sha256:m', bytes: 2_289_666, manifestBytes: 580, layers: 'host' }],
    });
    expect(unpackedSize(raw, amd64)).toBe(2_297_856);
  });

  it('an index: its blob, every manifest; a platform unpacked as large as the one run here has its layers', () => {
    const raw: ContainerdImageInfo = {
      Id: 'sha256:idx',
      Size: 812_982,
      Descriptor: { size: 1607 },
      Manifests: [
        manifest('sha256:a', amd64, 201_691, 204_800),
        manifest('sha256:b', arm64, 201_691, 204_800),
        {
          ID: 'sha256:att',
          Descriptor: { size: 565 },
          Available: true,
          Size: { Content: 1300, Total: 1300 },
          Kind: 'attestation',
        },
      ],
    };
    expect(storedImage(raw, amd64, layers).manifests.map((m) => [m.digest, m.layers])).toEqual([
      ['sha256:a', 'host'],
      ['sha256:b', 'host'],
      ['sha256:att', 'none'],
    ]);
    expect(storedImage(raw, amd64, layers).indexBytes).toBe(1607);
  });

  it('an index pulled with one platform: the others hold nothing here, and their layers are not known', () => {
    const raw: ContainerdImageInfo = {
      Id: 'sha256:idx',
      Size: 406_491,
      Descriptor: { size: 1607 },
      Manifests: [manifest('sha256:a', amd64, 201_691, 204_800), manifest('sha256:b', arm64, 0, 0, false)],
    };
    const stored = storedImage(raw, amd64, layers);
    expect(stored.manifests).toEqual([
      { digest: 'sha256:a', bytes: 201_691, manifestBytes: 479, layers: 'host' },
      { digest: 'sha256:b', bytes: 0, manifestBytes: 479, layers: 'unknown' },
    ]);
    expect(stored.unpacked).toBe(204_800);
  });

  it('before API 1.47 (no manifests): the listed size less the layers is the content', () => {
    expect(storedImage({ Id: 'sha256:m', Size: 500_000 }, amd64, layers)).toEqual({
      id: 'sha256:m',
      layers,
      unpacked: undefined,
      indexBytes: 0,
      manifests: [{ digest: 'sha256:m', bytes: 295_200, manifestBytes: 0, layers: 'host' }],
    });
  });
});

describe('withOwnDigests', () => {
  it('names the image by its own digest under each repository it is tagged in, as inspect does, once each', () => {
    // The listing gave one of them; inspect gives both.
    expect(withOwnDigests('sha256:i', ['lib:a', 'lib:a2', 'registry:5000/x:1'], ['registry:5000/x@sha256:i'])).toEqual([
      'registry:5000/x@sha256:i',
      'lib@sha256:i',
    ]);
    // A digest the image was pulled by, under a repository it has no tag in, stays.
    expect(withOwnDigests('sha256:i', [], ['repo@sha256:i'])).toEqual(['repo@sha256:i']);
  });
});
