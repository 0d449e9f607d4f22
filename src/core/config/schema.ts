/**
 * The one source of truth for reclaimd's configuration format. The TypeScript types are
 * derived from these schemas, ajv validates against them, and `npm run schema` exports them to
 * `schema/*.json` so that editors (yaml-language-server and friends) check files as people type.
 *
 * Every object is closed (`additionalProperties: false`): a typo is an error, never ignored.
 * `x-expected` is our own annotation: the phrase used in error messages for that field.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const closed = { additionalProperties: false } as const;

/** A duration: a whole number and one unit of s, m, h, d or w. */
export const Duration = Type.String({
  pattern: '^[0-9]+(s|m|h|d|w)$',
  'x-expected': 'a duration like 30s, 15m, 6h, 7d or 2w',
  description: 'A duration: a whole number followed by s, m, h, d or w, e.g. 7d.',
});

/** A duration of at least one second, for intervals. */
export const Interval = Type.String({
  pattern: '^0*[1-9][0-9]*(s|m|h|d|w)$',
  'x-expected': 'a duration of at least 1s like 15s or 1m',
  description: 'A duration of at least 1s: a whole number followed by s, m, h, d or w.',
});

/** A glob: `*` and `?` stay within one `/`-separated segment, `**` crosses segments. */
export const Glob = Type.String({
  format: 'glob',
  'x-expected': 'a glob like "ci/**" or "pr-*"',
  description: 'A glob. `*` and `?` match within one `/`-separated segment, `**` crosses segments, `[abc]` is a class.',
});

/** A label selector: `key`, `key=value`, or `!key` for "label absent". */
export const LabelSelector = Type.String({
  format: 'label-selector',
  'x-expected': 'a label selector like "team", "team=ci" or "!keep"',
  description: 'A label selector: "key" (present), "key=value" (equal) or "!key" (absent).',
});

/** A glob over names that never hold a `/` (containers, volumes). */
const NameGlob = (expected: string) =>
  Type.String({
    format: 'name-glob',
    'x-expected': expected,
    description: 'A glob over a name: `*` and `?` match any characters, `[abc]` is a class.',
  });

/** A `protect.images` entry: a reference or glob over `repository:tag`, a digest reference, or an image ID (prefix). */
const ImageSelector = Type.String({
  format: 'image-selector',
  'x-expected':
    'an image reference, glob or ID like "postgres:16", "registry.example.com/base/*:*" or "sha256:4f1c2a9b0e7d"',
  description:
    'An image reference ("postgres:16"), a glob over repository and tag ("registry.example.com/base/*:*"), a digest reference ("postgres@sha256:…"), or an image ID or ID prefix of at least 12 hex digits ("sha256:4f1c2a9b0e7d").',
});

/** A size: a number and a unit of B, kB/KB, MB, GB, TB (decimal) or KiB, MiB, GiB, TiB. */
export const Size = Type.String({
  pattern: '^[0-9]+(\\.[0-9]+)?\\s?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$',
  'x-expected': 'a size like 500MB, 50GB or 2GiB',
  description:
    'A size: a number followed by B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 50GB.',
});

/** A percentage of a file system's size, from 0% to 100%. */
export const Percent = Type.String({
  pattern: '^(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)%$',
  'x-expected': 'a percentage from 0% to 100% like 85%',
  description: 'A percentage from 0% to 100%, e.g. 85%.',
});

/** `when`: the pressure condition under which a policy runs at all (exactly one key). */
const PressureWhen = Type.Object(
  {
    diskUsageAbove: Type.Optional({
      ...Percent,
      description: "Run when the file system holding the engine's data root is fuller than this.",
    }),
    totalSizeAbove: Type.Optional({
      ...Size,
      description:
        "Run when the resource's own total (images: unique layer bytes, like docker system df) is above this.",
    }),
  },
  {
    ...closed,
    description:
      'Run this policy only under pressure; it then removes least recently used first, and only as much as needed.',
  },
);

/** `until`: where a pressure policy stops removing (default: the `when` threshold). */
const PressureUntil = Type.Object(
  {
    diskUsageBelow: Type.Optional({
      ...Percent,
      description: 'Stop once the file system is predicted to be at or below this; goes with when.diskUsageAbove.',
    }),
    totalSizeBelow: Type.Optional({
      ...Size,
      description: "Stop once the resource's total is predicted to be at or below this; goes with when.totalSizeAbove.",
    }),
  },
  { ...closed, description: 'The target a pressure policy removes down to (default: the when threshold).' },
);

// An empty list would silently never match (or always hold); it is an error instead.
const Globs = (description: string) => Type.Array(Glob, { description, minItems: 1 });
const Labels = (description: string) => Type.Array(LabelSelector, { description, minItems: 1 });

const PolicyName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
  'x-expected': 'a name of letters, digits, ".", "_" or "-" (at most 63), e.g. "stale-ci-images"',
  description: 'Unique name of the policy; it appears in logs, plans and metric labels.',
});

/** A string from a fixed list; a plain `enum` gives one clear error instead of one per choice. */
function StringEnum<const T extends string>(values: readonly T[], description: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], description });
}

const Action = StringEnum(
  ['remove', 'report'],
  'remove (default): remove in enforce mode. report: only report, even in enforce mode.',
);

const common = {
  name: PolicyName,
  description: Type.Optional(Type.String({ description: 'Free text for people.' })),
  action: Type.Optional(Action),
};

/** `keep` for resources exempted by name or label (containers, volumes). */
function NameLabelKeep(noun: string) {
  return Type.Object(
    {
      names: Type.Optional(Globs(`A ${noun} whose name matches any of these globs is kept.`)),
      labels: Type.Optional(Labels(`A ${noun} on which any of these selectors holds is kept.`)),
    },
    { ...closed, description: `Exemptions: any rule that holds keeps the ${noun}.` },
  );
}

export const ImagePolicy = Type.Object(
  {
    ...common,
    resource: Type.Literal('image'),
    match: Type.Object(
      {
        dangling: Type.Optional(
          Type.Boolean({ description: 'true: only untagged images with no children; false: only tagged ones.' }),
        ),
        olderThan: Type.Optional({ ...Duration, description: 'Image created (built) longer ago than this.' }),
        repositories: Type.Optional(
          Globs('Every tag of the image must be in a repository matching one of these globs.'),
        ),
        tags: Type.Optional(Globs('Every tag of the image must match one of these globs.')),
        labels: Type.Optional(Labels('Every selector must hold on the image labels.')),
        unusedFor: Type.Optional({
          ...Duration,
          description:
            'Not used for this long: no container created or started from it, and not pulled, tagged, loaded or built, as last seen by reclaimd (an image never seen in use counts from when reclaimd first saw it, never from its build date). Needs state.dir; without it this matches nothing.',
        }),
      },
      { ...closed, description: 'Conditions that must all hold for an image to be selected.' },
    ),
    keep: Type.Optional(
      Type.Object(
        {
          newest: Type.Optional(
            Type.Integer({
              minimum: 0,
              'x-expected': 'a whole number ≥ 0',
              description:
                'Per repository, keep the N newest images the repository, tag and label filters match, whatever their age.',
            }),
          ),
          tags: Type.Optional(Globs('An image with any tag matching one of these globs is kept.')),
          labels: Type.Optional(Labels('An image on which any of these selectors holds is kept.')),
        },
        { ...closed, description: 'Exemptions: any rule that holds keeps the image.' },
      ),
    ),
    archive: Type.Optional(
      Type.Object(
        {
          dir: Type.String({
            pattern: '^/',
            'x-expected': 'an absolute directory path like /var/lib/reclaimd/archive',
            description:
              'Existing directory the archives are written to. It is never created: a missing directory (say, an unmounted disk) means nothing is archived and so nothing is removed.',
          }),
        },
        {
          ...closed,
          description:
            'Before removing a selected image that its registry does not have (asked through the engine just before planning: an image built here and never pushed, or one its registry no longer holds), save it in `docker save` format into `dir`. If the save fails, the image is not removed.',
        },
      ),
    ),
    when: Type.Optional(PressureWhen),
    until: Type.Optional(PressureUntil),
  },
  { ...closed, description: 'Removes images.' },
);

const NewestCount = (description: string) =>
  Type.Integer({ minimum: 0, 'x-expected': 'a whole number ≥ 0', description });

/**
 * Container `keep`: by name or label, and the N newest per image or per Compose project. Two
 * flat keys rather than `newest` plus `per`, so both groupings can hold at once and each reads
 * on its own line.
 */
const ContainerKeep = Type.Object(
  {
    ...NameLabelKeep('container').properties,
    newestPerImage: Type.Optional(
      NewestCount(
        'Per image reference the container was created from, keep the N newest containers (by creation time) that the name, image and label filters match, whatever their state.',
      ),
    ),
    newestPerProject: Type.Optional(
      NewestCount(
        'Per Compose project (label com.docker.compose.project), keep the N newest containers (by creation time) that the name, image and label filters match, whatever their state.',
      ),
    ),
  },
  { ...closed, description: 'Exemptions: any rule that holds keeps the container.' },
);

export const ContainerStatus = StringEnum(['exited', 'dead', 'created'], 'A container state: exited, dead or created.');

export const ContainerPolicy = Type.Object(
  {
    ...common,
    resource: Type.Literal('container'),
    match: Type.Object(
      {
        status: Type.Optional(
          Type.Array(ContainerStatus, {
            minItems: 1,
            description:
              'Container states to consider (default: exited, dead, created). Running containers are never selected.',
          }),
        ),
        stoppedFor: Type.Optional({
          ...Duration,
          description:
            'Stopped for longer than this, counted from the real finish time (created containers: from creation).',
        }),
        exitCode: Type.Optional(
          Type.Array(Type.Integer(), {
            minItems: 1,
            description: 'Only containers that exited with one of these codes.',
          }),
        ),
        names: Type.Optional(Globs('The container name must match one of these globs.')),
        images: Type.Optional(
          Globs('The image reference the container was created from must match one of these globs.'),
        ),
        labels: Type.Optional(Labels('Every selector must hold on the container labels.')),
      },
      { ...closed, description: 'Conditions that must all hold for a container to be selected.' },
    ),
    keep: Type.Optional(ContainerKeep),
    removeAnonymousVolumes: Type.Optional(
      Type.Boolean({ description: "Also remove the container's anonymous volumes when nothing else mounts them." }),
    ),
  },
  { ...closed, description: 'Removes stopped containers.' },
);

export const VolumePolicy = Type.Object(
  {
    ...common,
    resource: Type.Literal('volume'),
    match: Type.Object(
      {
        anonymous: Type.Optional(
          Type.Boolean({
            description:
              'true: only volumes the engine named (64 hex characters or the anonymous label); false: only named ones.',
          }),
        ),
        olderThan: Type.Optional({ ...Duration, description: 'Volume created longer ago than this.' }),
        names: Type.Optional(Globs('The volume name must match one of these globs.')),
        labels: Type.Optional(Labels('Every selector must hold on the volume labels.')),
        unusedFor: Type.Optional({
          ...Duration,
          description:
            'Not mounted by any container for this long, as last seen by reclaimd (a volume never seen mounted counts from when reclaimd first saw it). Needs state.dir; without it this matches nothing.',
        }),
      },
      {
        ...closed,
        description: 'Conditions that must all hold for a volume to be selected. Mounted volumes are never selected.',
      },
    ),
    keep: Type.Optional(NameLabelKeep('volume')),
  },
  { ...closed, description: 'Removes volumes.' },
);

export const NetworkPolicy = Type.Object(
  {
    ...common,
    resource: Type.Literal('network'),
    match: Type.Object(
      {
        olderThan: Type.Optional({ ...Duration, description: 'Network created longer ago than this.' }),
        names: Type.Optional(Globs('The network name must match one of these globs.')),
        labels: Type.Optional(Labels('Every selector must hold on the network labels.')),
        drivers: Type.Optional(
          Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description: 'The network driver must be one of these (e.g. bridge, overlay, macvlan).',
          }),
        ),
      },
      {
        ...closed,
        description:
          'Conditions that must all hold for a network to be selected. Predefined networks (bridge, host, none, ingress, docker_gwbridge) and networks any container (in any state) is attached to are never selected.',
      },
    ),
    keep: Type.Optional(NameLabelKeep('network')),
  },
  {
    ...closed,
    description: 'Removes unused custom networks. Networks hold no disk space: their removals count 0 bytes.',
  },
);

export const BuildCachePolicy = Type.Object(
  {
    ...common,
    resource: Type.Literal('buildCache'),
    match: Type.Object(
      {
        unusedFor: Type.Optional({
          ...Duration,
          description: "Only cache records last used longer ago than this (BuildKit's `until` prune filter).",
        }),
        keepStorage: Type.Optional({
          ...Size,
          description:
            'Keep this much build cache: least recently and least often used records go first, and only until the cache is below this size (like `docker builder prune --keep-storage`).',
        }),
        all: Type.Optional(
          Type.Boolean({
            description:
              'true: also internal and frontend records and records shared with images (like `docker builder prune --all`). Default false.',
          }),
        ),
      },
      {
        ...closed,
        description:
          'Which BuildKit cache records an engine-side build-cache prune removes. Records in use by a running build are never removed.',
      },
    ),
  },
  { ...closed, description: "Prunes the engine's BuildKit build cache (POST /build/prune)." },
);

/** ajv's `discriminator` keeps errors to the branch the `resource` names, not all three. */
export const Policy = Type.Unsafe<
  | Static<typeof ImagePolicy>
  | Static<typeof ContainerPolicy>
  | Static<typeof VolumePolicy>
  | Static<typeof NetworkPolicy>
  | Static<typeof BuildCachePolicy>
>({
  type: 'object',
  required: ['resource'],
  properties: { resource: { type: 'string' } },
  discriminator: { propertyName: 'resource' },
  oneOf: [ImagePolicy, ContainerPolicy, VolumePolicy, NetworkPolicy, BuildCachePolicy],
  'x-expected': 'a policy with resource: image, container, volume, network or buildCache',
});

export const PolicyFile = Type.Object(
  {
    policies: Type.Array(Policy, {
      description: 'Policies, evaluated in order; the first policy that selects an object is credited with it.',
    }),
  },
  { ...closed, description: 'A reclaimd policy file.' },
);

export const Config = Type.Object(
  {
    mode: Type.Optional(
      StringEnum(['dry-run', 'enforce'], 'dry-run (default) reports what would be removed; enforce removes it.'),
    ),
    schedule: Type.Optional(
      Type.String({
        format: 'cron',
        'x-expected': 'a cron expression like "*/30 * * * *"',
        description: 'When cycles run (cron, 5 or 6 fields). Default "*/30 * * * *".',
      }),
    ),
    docker: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(
            Type.String({
              pattern: '^(unix://|tcp://)',
              'x-expected': 'an address like unix:///var/run/docker.sock or tcp://host:2375',
              description: 'Engine address. Default: DOCKER_HOST, like the docker CLI.',
            }),
          ),
          pingInterval: Type.Optional({
            ...Interval,
            description:
              'How often the engine is pinged (and the configuration re-read), so reclaimd_docker_up stays current (default 15s, at most 1d).',
          }),
          timeout: Type.Optional({
            ...Interval,
            description:
              'How long one engine request may go without an answer before it fails (default 60s, at most 1d).',
          }),
        },
        { ...closed, description: 'How to reach the Docker Engine.' },
      ),
    ),
    policies: Type.Array(
      Type.String({ format: 'glob', 'x-expected': 'a policy file or glob like "policies/*.yaml"' }),
      { minItems: 1, description: 'Policy files or globs, relative to this file.' },
    ),
    protect: Type.Optional(
      Type.Object(
        {
          // Empty lists are fine here: protecting nothing is a clear statement.
          labels: Type.Optional(
            Type.Array(LabelSelector, {
              description: 'Images, containers, volumes and networks carrying any of these labels are never removed.',
            }),
          ),
          repositories: Type.Optional(
            Type.Array(Glob, {
              description: 'Images with a tag or digest in a repository matching any of these globs are never removed.',
            }),
          ),
          images: Type.Optional(
            Type.Array(ImageSelector, {
              description:
                'Images never removed, nor any of their tags untagged: by reference ("postgres:16"), by glob over repository and tag ("registry.example.com/base/*:*"), by repository digest ("postgres@sha256:…") or by image ID or ID prefix of at least 12 hex digits ("sha256:4f1c2a9b0e7d"); a full 64-digit "sha256:" entry also protects the image carrying it as a repository digest. An image with any matching tag is protected with all its tags.',
            }),
          ),
          containers: Type.Optional(
            Type.Array(NameGlob('a container name glob like "db" or "db-*"'), {
              description:
                'Containers whose name (as docker ps shows it) matches any of these globs are never removed.',
            }),
          ),
          volumes: Type.Optional(
            Type.Array(NameGlob('a volume name glob like "pgdata" or "*-data"'), {
              description: 'Volumes whose name matches any of these globs are never removed.',
            }),
          ),
          // A path glob, not NameGlob: unlike container and volume names, a network name may
          // hold "/" (Docker 20.10 creates `team/proxy`), and refusing it would refuse an entry
          // that works.
          networks: Type.Optional(
            Type.Array(
              { ...Glob, 'x-expected': 'a network name glob like "proxy" or "traefik_*"' },
              { description: 'Networks whose name matches any of these globs are never removed.' },
            ),
          ),
        },
        {
          ...closed,
          description:
            'Global protections: they beat every policy, its keep rules and every other reason. A protected object is kept, with the protect entry that holds named as the reason.',
        },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          maxRemovalsPerRun: Type.Optional(
            Type.Integer({
              minimum: 0,
              'x-expected': 'a whole number ≥ 0',
              description: 'A plan with more removals than this removes nothing (default 500).',
            }),
          ),
          maxRemovalFraction: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1,
              'x-expected': 'a fraction above 0 and at most 1, like 0.5',
              description:
                'A plan that would remove more than this fraction of the images, containers or volumes on the engine (checked from 10 removals of a kind up) removes nothing: a guard against a policy edit that suddenly selects far more than usual. Off by default.',
            }),
          ),
          concurrentRemovals: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 64,
              'x-expected': 'a whole number from 1 to 64',
              description:
                'Removal requests in flight at once (default 4). Images in a parent/child tree always go one at a time.',
            }),
          ),
        },
        { ...closed, description: 'Safety limits.' },
      ),
    ),
    metrics: Type.Optional(
      Type.Object(
        {
          listen: Type.Optional(
            Type.String({
              pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]*):[0-9]{1,5}$',
              'x-expected': 'host:port like 0.0.0.0:9476',
              description: 'Where /metrics and /healthz are served (default 0.0.0.0:9476).',
            }),
          ),
        },
        { ...closed, description: 'The HTTP endpoint.' },
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], 'Log level (default info).'),
          ),
        },
        { ...closed, description: 'Logging.' },
      ),
    ),
    inUse: Type.Optional(
      Type.Object(
        {
          swarmServices: Type.Optional(
            Type.Boolean({
              description:
                'On a swarm manager, an image a service names (even one scaled to 0) is in use (default true).',
            }),
          ),
          composeProjects: Type.Optional(
            Type.Boolean({
              description:
                'Every image used by a container of a Compose project that still has a container (any state) is in use, even one whose container this plan removes (default true).',
            }),
          ),
        },
        { ...closed, description: 'What is deployed counts as in use, beyond the containers that exist.' },
      ),
    ),
    state: Type.Optional(
      Type.Object(
        {
          dir: Type.Optional(
            Type.String({
              pattern: '^/',
              'x-expected': 'an absolute directory path like /var/lib/reclaimd',
              description:
                'Where reclaimd keeps what it must remember across restarts (when images and volumes were last used). Not set (the default): last use is unknown and unusedFor matches nothing.',
            }),
          ),
        },
        { ...closed, description: 'State kept across restarts.' },
      ),
    ),
    pressure: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(
            Type.String({
              minLength: 1,
              'x-expected': 'an absolute path like /var/lib/docker',
              pattern: '^/',
              description:
                "Where to measure disk usage for when.diskUsageAbove: a path on the file system holding the engine's data root (default: the engine's DockerRootDir; in a sidecar, where that is mounted).",
            }),
          ),
          interval: Type.Optional({
            ...Interval,
            description:
              'How often pressure conditions are checked between scheduled cycles (default 30s, at most 1d).',
          }),
        },
        { ...closed, description: 'Disk-pressure checks for policies with `when`.' },
      ),
    ),
  },
  { ...closed, description: 'reclaimd global configuration.' },
);

export type ImagePolicy = Static<typeof ImagePolicy>;
export type ContainerPolicy = Static<typeof ContainerPolicy>;
export type VolumePolicy = Static<typeof VolumePolicy>;
export type NetworkPolicy = Static<typeof NetworkPolicy>;
export type BuildCachePolicy = Static<typeof BuildCachePolicy>;
export type Policy = Static<typeof Policy>;
export type PolicyFile = Static<typeof PolicyFile>;
export type RawConfig = Static<typeof Config>;
export type Resource = Policy['resource'];

/** The schemas `npm run schema` writes out, by file name. */
export const exportedSchemas: Record<string, TSchema> = {
  'config.schema.json': Config,
  'policies.schema.json': PolicyFile,
};
