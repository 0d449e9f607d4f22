/**
 * What reclaimd reads from each Engine API answer, as JSON Schemas (TypeBox). Every answer goes
 * through one of these before anything reads it (strict-modem.ts, answer-routes.ts): an
 * answer that is cut short, is not JSON, or has a field reclaimd reads missing, null where the
 * engine never sends null, of the wrong type or out of range fails its request, and so the
 * cycle, instead of being read as an empty list or a default.
 *
 * Only fields reclaimd reads are described; others pass as they are, since each engine version
 * adds its own. A field is optional here only where some engine version really omits it (the
 * API notes say which), and nullable only where one sends null. Identifiers that go into
 * request paths are held to their exact form, so nothing the engine sends can change a path.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const count = Type.Integer({ minimum: 0 });
const labels = orNull(Type.Record(Type.String(), Type.String()));
const strings = orNull(Type.Array(Type.String()));

/** `sha256:` and 64 hex digits: an image ID, a layer's diff ID, a manifest digest. */
export const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });
/** A container's or network's ID: 64 hex digits. */
const HexId = Type.String({ pattern: '^[0-9a-f]{64}$' });
/**
 * A tag (`repository:tag`) or digest reference (`repository@sha256:…`) as the engine lists
 * them (`<none>:<none>` up to API 1.42): the reference grammar's characters only.
 */
const Reference = Type.String({
  pattern: '^(<none>:<none>|<none>@<none>|[a-zA-Z0-9][a-zA-Z0-9._/:@-]*)$',
  maxLength: 512,
});

/** `GET /version`, asked before the API version is pinned. */
export const VersionAnswer = Type.Object({
  ApiVersion: Type.String({ pattern: '^[0-9]+\\.[0-9]+$' }),
  MinAPIVersion: Type.Optional(Type.String({ pattern: '^[0-9]+\\.[0-9]+$' })),
  Version: Type.String(),
});

/** `GET /info`: the engine's identity, its image store, its data root and swarm role. */
export const InfoAnswer = Type.Object({
  ID: Type.String(),
  DriverStatus: orNull(Type.Array(Type.Array(Type.String()))),
  DockerRootDir: Type.Optional(Type.String()),
  Swarm: Type.Optional(orNull(Type.Object({ ControlAvailable: Type.Optional(Type.Boolean()) }))),
});

const ManifestSummary = Type.Object({
  ID: Digest,
  Descriptor: Type.Optional(orNull(Type.Object({ size: Type.Optional(count) }))),
  Available: Type.Optional(Type.Boolean()),
  Size: Type.Optional(orNull(Type.Object({ Content: Type.Optional(count), Total: Type.Optional(count) }))),
  Kind: Type.Optional(Type.String()),
  ImageData: Type.Optional(
    orNull(
      Type.Object({
        Platform: Type.Optional(
          orNull(
            Type.Object({
              architecture: Type.Optional(Type.String()),
              os: Type.Optional(Type.String()),
              variant: Type.Optional(Type.String()),
            }),
          ),
        ),
        Size: Type.Optional(orNull(Type.Object({ Unpacked: Type.Optional(count) }))),
      }),
    ),
  ),
});

/** `GET /images/json`: one entry per image (on the containerd image store with its manifests). */
export const ImageList = Type.Array(
  Type.Object({
    Id: Digest,
    ParentId: Type.String(),
    RepoTags: orNull(Type.Array(Reference)),
    RepoDigests: orNull(Type.Array(Reference)),
    // Unix seconds; 0 or less where the image config has no time (see map-objects.ts).
    Created: Type.Integer(),
    Size: count,
    Labels: labels,
    Descriptor: Type.Optional(orNull(Type.Object({ size: Type.Optional(count) }))),
    Manifests: Type.Optional(orNull(Type.Array(ManifestSummary))),
  }),
);

const ContainerNetworking = Type.Object({
  Networks: Type.Optional(
    orNull(Type.Record(Type.String(), orNull(Type.Object({ NetworkID: Type.Optional(Type.String()) })))),
  ),
});

/** `GET /containers/json?all=1` (and with `size=1`, which adds SizeRw and SizeRootFs). */
export const ContainerList = Type.Array(
  Type.Object({
    Id: HexId,
    Names: strings,
    Image: Type.String(),
    ImageID: Type.String(),
    State: Type.String({ minLength: 1 }),
    Status: Type.String(),
    Created: Type.Integer({ minimum: 1 }),
    Labels: labels,
    // A volume mount must name its volume: one that did not would leave the volume looking unused.
    Mounts: orNull(
      Type.Array(
        Type.Union([
          Type.Object({ Type: Type.Literal('volume'), Name: Type.String({ minLength: 1 }) }),
          Type.Object({ Type: Type.String({ not: { const: 'volume' } }) }),
        ]),
      ),
    ),
    NetworkSettings: Type.Optional(orNull(ContainerNetworking)),
    HostConfig: Type.Optional(orNull(Type.Object({ NetworkMode: Type.Optional(Type.String()) }))),
    SizeRw: Type.Optional(count),
    SizeRootFs: Type.Optional(count),
  }),
);

/** `GET /volumes`. The engine sends `null` rather than `[]` when there are none (API ≤ 1.41). */
export const VolumeList = Type.Object({
  Volumes: orNull(
    Type.Array(
      Type.Object({
        Name: Type.String({ minLength: 1 }),
        Driver: Type.String(),
        Labels: labels,
        Options: Type.Optional(orNull(Type.Record(Type.String(), Type.String()))),
        CreatedAt: Type.Optional(Type.String()),
      }),
    ),
  ),
});

/** `GET /networks`. */
export const NetworkList = Type.Array(
  Type.Object({
    Id: HexId,
    Name: Type.String({ minLength: 1 }),
    Driver: Type.String(),
    Scope: Type.String(),
    Created: Type.Optional(Type.String()),
    Labels: labels,
    Ingress: Type.Optional(Type.Boolean()),
    ConfigOnly: Type.Optional(Type.Boolean()),
  }),
);

/** `GET /images/{id}/json`. */
export const ImageInspect = Type.Object({
  Id: Digest,
  RepoTags: orNull(Type.Array(Reference)),
  RepoDigests: orNull(Type.Array(Reference)),
  RootFS: Type.Object({ Layers: Type.Optional(orNull(Type.Array(Digest))) }),
  Size: count,
  Architecture: Type.String(),
  Os: Type.String(),
  Variant: Type.Optional(Type.String()),
});

/** `GET /images/{id}/history`: newest first. */
export const ImageHistory = Type.Array(Type.Object({ Size: count, CreatedBy: Type.Optional(Type.String()) }));

/** `GET /containers/{id}/json` (with `size=1` where sizes are wanted). */
export const ContainerInspect = Type.Object({
  Image: Type.String(),
  State: Type.Object({ Status: Type.String({ minLength: 1 }), FinishedAt: Type.String(), ExitCode: Type.Integer() }),
  Config: orNull(Type.Object({ Image: Type.Optional(Type.String()) })),
  SizeRw: Type.Optional(count),
  SizeRootFs: Type.Optional(count),
});

const BuildCacheEntry = Type.Object({
  ID: Type.String({ minLength: 1 }),
  Parent: Type.Optional(orNull(Type.String())),
  Parents: Type.Optional(strings),
  Type: Type.String(),
  Description: Type.Optional(Type.String()),
  InUse: Type.Boolean(),
  Shared: Type.Boolean(),
  Size: count,
  CreatedAt: Type.String(),
  LastUsedAt: Type.Optional(orNull(Type.String())),
  UsageCount: count,
});

// A volume's size is -1 where the walk could not size it.
const VolumeUsage = orNull(
  Type.Array(
    Type.Object({ Name: Type.String(), UsageData: orNull(Type.Object({ Size: Type.Integer({ minimum: -1 }) })) }),
  ),
);

/** `GET /system/df` up to API 1.41, which walks everything at once. */
export const DiskUsageAnswer = Type.Object({
  LayersSize: count,
  Volumes: VolumeUsage,
  BuildCache: orNull(Type.Array(BuildCacheEntry)),
});
/** `GET /system/df?type=image` (API 1.42+): only the images' fields are there. */
export const DiskUsageImages = Type.Object({ LayersSize: count });
/** `GET /system/df?type=volume` (API 1.42+). */
export const DiskUsageVolumes = Type.Object({ Volumes: VolumeUsage });
/** `GET /system/df?type=build-cache` (API 1.42+). */
export const DiskUsageBuildCache = Type.Object({ BuildCache: orNull(Type.Array(BuildCacheEntry)) });

/** `GET /services` on a swarm manager: the image each service's tasks run. */
export const ServiceList = Type.Array(
  Type.Object({
    ID: Type.String(),
    Spec: Type.Object({
      Name: Type.Optional(Type.String()),
      TaskTemplate: Type.Optional(
        Type.Object({ ContainerSpec: Type.Optional(Type.Object({ Image: Type.Optional(Type.String()) })) }),
      ),
    }),
  }),
);

/** `GET /distribution/{reference}/json`: the digest the registry serves for the reference. */
export const DistributionAnswer = Type.Object({ Descriptor: Type.Object({ digest: Type.String() }) });

/** `DELETE /images/{name}`: what the engine untagged and deleted. */
export const ImageDeleteAnswer = orNull(
  Type.Array(Type.Object({ Untagged: Type.Optional(Type.String()), Deleted: Type.Optional(Type.String()) })),
);

/** `POST /build/prune`: the records removed and the bytes the engine says they held. */
export const BuildPruneAnswer = Type.Object({ CachesDeleted: strings, SpaceReclaimed: count });

/** One line of `GET /events`, for the types reclaimd follows (container, image, volume). */
export const EventLine = Type.Object({
  Type: Type.String(),
  Action: Type.String(),
  Actor: Type.Object({
    ID: Type.String(),
    Attributes: Type.Optional(orNull(Type.Record(Type.String(), Type.String()))),
  }),
  time: Type.Integer({ minimum: 1 }),
  timeNano: Type.Optional(Type.Integer({ minimum: 1 })),
});

/** Each schema by the name its precompiled validator is exported under (answer-validators.ts). */
export const ANSWER_SCHEMAS = {
  version: VersionAnswer,
  info: InfoAnswer,
  imageList: ImageList,
  containerList: ContainerList,
  volumeList: VolumeList,
  networkList: NetworkList,
  imageInspect: ImageInspect,
  imageHistory: ImageHistory,
  containerInspect: ContainerInspect,
  diskUsage: DiskUsageAnswer,
  diskUsageImages: DiskUsageImages,
  diskUsageVolumes: DiskUsageVolumes,
  diskUsageBuildCache: DiskUsageBuildCache,
  serviceList: ServiceList,
  distribution: DistributionAnswer,
  imageDelete: ImageDeleteAnswer,
  buildPrune: BuildPruneAnswer,
  event: EventLine,
} as const;

export type AnswerName = keyof typeof ANSWER_SCHEMAS;
