/**
 * Policies compiled once, when the configuration is loaded: durations in milliseconds, sizes
 * in bytes, globs and label selectors as matchers, defaults filled in. The planner and explain
 * read these and never parse a policy's text again; `spec` keeps the policy as written, with
 * where it was written, for messages.
 */
import type { BuildCachePolicy, ContainerPolicy, ImagePolicy, NetworkPolicy, VolumePolicy } from './schema.js';
import type { LoadedPolicy } from './loaded-policy.js';
import { GlobList, ImageSelectors, LabelSelectors, type Span } from './matchers.js';
import { pressureRule, type PressureRule } from './pressure-rules.js';
import { parseDuration, parseSize } from '../../lib/units.js';
import { shortForm } from '../../lib/reference.js';

type Loaded<P> = P & Pick<LoadedPolicy, 'source'>;

interface Common<P> {
  readonly name: string;
  /** `report`: selected objects are listed, never removed. */
  readonly action: 'remove' | 'report';
  /** The policy as written. */
  readonly spec: Loaded<P>;
}

/** `keep: { names, labels }`, as containers, volumes and networks have it. */
export interface NameLabelKeep {
  readonly names: GlobList | undefined;
  readonly labels: LabelSelectors;
}

export interface CompiledImagePolicy extends Common<ImagePolicy> {
  readonly resource: 'image';
  readonly match: {
    readonly dangling: boolean | undefined;
    readonly olderThan: Span | undefined;
    readonly repositories: GlobList | undefined;
    readonly tags: GlobList | undefined;
    readonly labels: LabelSelectors | undefined;
    readonly unusedFor: Span | undefined;
  };
  readonly keep: {
    readonly newest: number | undefined;
    readonly tags: GlobList | undefined;
    readonly labels: LabelSelectors;
  };
  readonly archiveDir: string | undefined;
  /** `when` / `until`; undefined for a policy that runs whatever the pressure. */
  readonly pressure: PressureRule | undefined;
}

export interface CompiledContainerPolicy extends Common<ContainerPolicy> {
  readonly resource: 'container';
  readonly match: {
    /** The states a container may be in; every removable state when the policy names none. */
    readonly status: readonly string[];
    readonly stoppedFor: Span | undefined;
    readonly exitCode: readonly number[] | undefined;
    readonly names: GlobList | undefined;
    readonly images: GlobList | undefined;
    readonly labels: LabelSelectors | undefined;
  };
  readonly keep: NameLabelKeep & {
    readonly newestPerImage: number | undefined;
    readonly newestPerProject: number | undefined;
  };
  readonly removeAnonymousVolumes: boolean;
}

export interface CompiledVolumePolicy extends Common<VolumePolicy> {
  readonly resource: 'volume';
  readonly match: {
    readonly anonymous: boolean | undefined;
    readonly olderThan: Span | undefined;
    readonly names: GlobList | undefined;
    readonly labels: LabelSelectors | undefined;
    readonly unusedFor: Span | undefined;
  };
  readonly keep: NameLabelKeep;
}

export interface CompiledNetworkPolicy extends Common<NetworkPolicy> {
  readonly resource: 'network';
  readonly match: {
    readonly olderThan: Span | undefined;
    readonly names: GlobList | undefined;
    readonly labels: LabelSelectors | undefined;
    readonly drivers: readonly string[] | undefined;
  };
  readonly keep: NameLabelKeep;
}

export interface CompiledBuildCachePolicy extends Common<BuildCachePolicy> {
  readonly resource: 'buildCache';
  readonly match: {
    readonly unusedFor: Span | undefined;
    /** Bytes. */
    readonly keepStorage: number | undefined;
    readonly all: boolean;
  };
}

export type CompiledPolicy =
  | CompiledImagePolicy
  | CompiledContainerPolicy
  | CompiledVolumePolicy
  | CompiledNetworkPolicy
  | CompiledBuildCachePolicy;

/** `protect` as written, with every list present (empty when not given). */
export interface ProtectLists {
  readonly labels: readonly string[];
  readonly repositories: readonly string[];
  readonly images: readonly string[];
  readonly containers: readonly string[];
  readonly volumes: readonly string[];
  readonly networks: readonly string[];
}

/**
 * `protect`, compiled: it holds for every resource and beats every policy. src/core/match/protect.ts
 * says which entry protects an object; the planners and explain both ask it.
 */
export interface CompiledProtect {
  readonly labels: LabelSelectors;
  readonly repositories: GlobList;
  readonly images: ImageSelectors;
  readonly containers: GlobList;
  readonly volumes: GlobList;
  readonly networks: GlobList;
}

/** Only containers in these states are ever removed; running, paused, restarting and removing never are. */
export const REMOVABLE_STATES: ReadonlySet<string> = new Set(['exited', 'dead', 'created']);

/** Compiles one policy that passed every check of config.ts. */
export function compilePolicy(policy: LoadedPolicy): CompiledPolicy {
  const common = { name: policy.name, action: policy.action ?? 'remove' } as const;
  switch (policy.resource) {
    case 'image': {
      const m = policy.match;
      return {
        ...common,
        spec: policy,
        resource: 'image',
        match: {
          dangling: m.dangling,
          olderThan: span(m.olderThan),
          repositories: globs(m.repositories),
          tags: globs(m.tags),
          labels: selectors(m.labels),
          unusedFor: span(m.unusedFor),
        },
        keep: {
          newest: policy.keep?.newest,
          tags: globs(policy.keep?.tags),
          labels: new LabelSelectors(policy.keep?.labels ?? []),
        },
        archiveDir: policy.archive?.dir,
        pressure: pressureRule(policy),
      };
    }
    case 'container': {
      const m = policy.match;
      return {
        ...common,
        spec: policy,
        resource: 'container',
        match: {
          status: m.status ?? [...REMOVABLE_STATES],
          stoppedFor: span(m.stoppedFor),
          exitCode: m.exitCode,
          names: globs(m.names),
          images: globs(m.images),
          labels: selectors(m.labels),
        },
        keep: {
          ...nameLabelKeep(policy.keep),
          newestPerImage: policy.keep?.newestPerImage,
          newestPerProject: policy.keep?.newestPerProject,
        },
        removeAnonymousVolumes: policy.removeAnonymousVolumes === true,
      };
    }
    case 'volume': {
      const m = policy.match;
      return {
        ...common,
        spec: policy,
        resource: 'volume',
        match: {
          anonymous: m.anonymous,
          olderThan: span(m.olderThan),
          names: globs(m.names),
          labels: selectors(m.labels),
          unusedFor: span(m.unusedFor),
        },
        keep: nameLabelKeep(policy.keep),
      };
    }
    case 'network': {
      const m = policy.match;
      return {
        ...common,
        spec: policy,
        resource: 'network',
        match: {
          olderThan: span(m.olderThan),
          names: globs(m.names),
          labels: selectors(m.labels),
          drivers: m.drivers,
        },
        keep: nameLabelKeep(policy.keep),
      };
    }
    case 'buildCache': {
      const m = policy.match;
      return {
        ...common,
        spec: policy,
        resource: 'buildCache',
        match: {
          unusedFor: span(m.unusedFor),
          keepStorage: m.keepStorage === undefined ? undefined : parseSize(m.keepStorage),
          all: m.all === true,
        },
      };
    }
  }
}

/** Compiles `protect`. */
export function compileProtect(protect: ProtectLists): CompiledProtect {
  return {
    labels: new LabelSelectors(protect.labels),
    // The engine lists `docker.io/library/postgres` as `postgres`: an entry written the long way
    // is read the same way, as protect.images entries are, or it would silently protect nothing.
    repositories: new GlobList(protect.repositories.map(shortForm), protect.repositories),
    images: new ImageSelectors(protect.images),
    containers: new GlobList(protect.containers),
    volumes: new GlobList(protect.volumes),
    networks: new GlobList(protect.networks),
  };
}

function nameLabelKeep(keep: { names?: string[]; labels?: string[] } | undefined): NameLabelKeep {
  return { names: globs(keep?.names), labels: new LabelSelectors(keep?.labels ?? []) };
}

function globs(patterns: readonly string[] | undefined): GlobList | undefined {
  return patterns === undefined ? undefined : new GlobList(patterns);
}

function selectors(texts: readonly string[] | undefined): LabelSelectors | undefined {
  return texts === undefined ? undefined : new LabelSelectors(texts);
}

/**
 * The schema and the meaning checks have made sure the text is a duration. Should one ever get
 * through, compiling fails: a span of 0 would make every `olderThan` hold.
 */
function span(text: string | undefined): Span | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return { text, ms };
}
