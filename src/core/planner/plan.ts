/**
 * The planner: policies + a snapshot of the engine + the time → what to remove, in order, and
 * why. Pure and deterministic: it reads no clock, file or network, so every rule is testable
 * as data. Safety rules (in use, protected, limits) live here, not in the engine adapter.
 */
import type { Config } from '../config/config.js';
import type { Action, ArchivePlan, ImageAction, Plan } from '../model/plan.js';
import type { ContainerObj, ImageObj, Snapshot } from '../model/snapshot.js';
import { Ledger, type Draft } from './ledger.js';
import { planContext, type AfterContainers } from './context.js';
import { planContainers } from './resources/containers.js';
import { orphanHold, planImages } from './resources/images.js';
import { imageName, indexImages } from './shared/image-index.js';
import { imageAction, simulateImageDeletions } from './bytes/image-bytes.js';
import { planVolumes } from './resources/volumes.js';
import { deployedImages } from './resources/deployed.js';
import { planNetworks } from './resources/networks.js';
import { planBuildCache } from './resources/build-cache.js';
import { PressurePlanner, type DiskFigures } from './pressure/pressure.js';

/**
 * @param disk the file system holding the engine's data root, measured by the shell; undefined
 *   when unknown, and then policies with `when: { diskUsageAbove }` remove nothing.
 */
export function plan(config: Config, snapshot: Snapshot, now: number, disk?: DiskFigures): Plan {
  const ledger = new Ledger();
  const base = planContext(config, snapshot, now, ledger);

  // Containers first: an image or volume used only by containers this plan removes is free.
  planContainers(base);
  const removed = new Map<string, ContainerObj>();
  const remaining: ContainerObj[] = [];
  for (const c of snapshot.containers) {
    if (ledger.isSelected('container', c.id)) removed.set(c.id, c);
    else remaining.push(c);
  }

  const index = { ...indexImages(snapshot.images, remaining), deployed: deployedImages(config, snapshot) };
  // Whether an untagged parent stays when its last child goes: the same answer for the pressure
  // estimate and for the plan, and independent of the order policies are evaluated in.
  const isHeld = orphanHold(base, index);
  // Only containers that stay keep their ghost layers; one the plan removes releases them.
  const ghostChains = remaining.flatMap((c) => snapshot.ghostLayers?.[c.id] ?? []);
  const ctx: AfterContainers = { ...base, remaining, removed, index, isHeld, ghostChains };
  const pressure = new PressurePlanner({ snapshot, index, ghostChains, isHeld, disk, now }, ledger);
  planImages(ctx, pressure);
  planVolumes(ctx);
  planNetworks(ctx);
  const buildCache = planBuildCache(base);

  const containerActions = sorted(ledger.selectedOf('container')).map((d) => ({
    ...d,
    bytes: removed.get(d.id)?.sizeRw ?? null,
  }));

  const imageDrafts = new Map(ledger.selectedOf('image').map((d) => [d.id, d]));
  const sim = simulateImageDeletions(snapshot.images, index, [...imageDrafts.keys()], isHeld, ghostChains);
  // A planned parent is credited to the policy of the selected image whose deletion frees it.
  const freedBy = new Map(
    sim.deletions.flatMap((d) => (d.parentOf === undefined ? [] : [[d.id, d.parentOf] as const])),
  );
  const creditOf = (id: string): Draft<'image'> | undefined => {
    let at: string | undefined = id;
    while (at !== undefined && !imageDrafts.has(at)) at = freedBy.get(at);
    return at === undefined ? undefined : imageDrafts.get(at);
  };
  // A planned parent is removed, so what a policy reported or kept about it no longer stands.
  for (const del of sim.deletions) if (del.parentOf !== undefined) ledger.supersede('image', del.id);
  const archiveDirs = new Map(
    config.compiled.policies.flatMap((p) =>
      p.resource === 'image' && p.archiveDir !== undefined ? [[p.name, p.archiveDir] as const] : [],
    ),
  );
  const imageActions: ImageAction[] = sim.deletions.map((del) => {
    const image = index.byId.get(del.id) as ImageObj;
    const credit = creditOf(del.id);
    const draft: Draft<'image'> = imageDrafts.get(del.id) ?? {
      resource: 'image',
      id: del.id,
      name: imageName(image),
      policy: credit?.policy ?? '',
      reason: `untagged parent of ${credit?.name ?? del.parentOf}, left with no child and used by no container`,
    };
    const archived = imageDrafts.has(del.id)
      ? archiveOf(archiveDirs.get(draft.policy), image, snapshot.registry)
      : undefined;
    const action = imageAction(draft, del, image);
    if (archived === undefined) return action;
    return {
      ...action,
      ...(archived.note !== undefined ? { reason: `${draft.reason}; ${archived.note}` } : {}),
      ...(archived.plan !== undefined ? { archive: archived.plan } : {}),
    };
  });

  // Built only when some volume or container is reported on: a cycle that selects nothing
  // should not index every object again.
  const volumeSize = once(() => new Map(snapshot.volumes.map((v) => [v.name, v.size])));
  const containerSize = once(() => new Map(snapshot.containers.map((c) => [c.id, c.sizeRw])));
  const volumeActions = sorted(ledger.selectedOf('volume')).map((d) => ({
    ...d,
    bytes: volumeSize().get(d.id) ?? null,
  }));

  // Networks hold no disk space: removing one frees 0 bytes, which is known, not unknown.
  const networkActions = sorted(ledger.selectedOf('network')).map((d) => ({ ...d, bytes: 0 }));

  const actions = [...containerActions, ...imageActions, ...volumeActions, ...networkActions, ...buildCache.actions];
  const reported: Action[] = [
    ...sorted(ledger.reportedOf('container')).map((d) => ({ ...d, bytes: containerSize().get(d.id) ?? null })),
    ...sorted(ledger.reportedOf('image')).map((d) => ({ ...d, bytes: sim.marginalBytes(d.id) })),
    ...sorted(ledger.reportedOf('volume')).map((d) => ({ ...d, bytes: volumeSize().get(d.id) ?? null })),
    ...sorted(ledger.reportedOf('network')).map((d) => ({ ...d, bytes: 0 })),
    ...buildCache.reported,
  ];
  return {
    actions,
    reported,
    kept: ledger.kept(),
    totals: totalsOf(actions),
    blocked: blockedBy(config, snapshot, actions),
    ...(pressure.summaries.length > 0 ? { pressure: pressure.summaries } : {}),
  };
}

/** What the removals add up to: known bytes, how many are unknown, and the range where estimates are involved. */
function totalsOf(actions: readonly Action[]): Plan['totals'] {
  let bytes = 0;
  let unknown = 0;
  let low = 0;
  let high = 0;
  let estimated = false;
  for (const a of actions) {
    if (a.bytes === null) {
      unknown++;
      continue;
    }
    const range = a.resource === 'image' || a.resource === 'buildCache' ? a.bytesRange : undefined;
    bytes += a.bytes;
    low += range?.low ?? a.bytes;
    high += range?.high ?? a.bytes;
    if (range) estimated = true;
  }
  return {
    count: actions.length,
    bytes,
    ...(unknown > 0 ? { unknown } : {}),
    ...(estimated ? { range: { low, high } } : {}),
  };
}

/** The value of `make`, made on the first call. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * The archive step of an image the policy itself selected, when its policy has one. An image
 * its registry still has can be pulled again, so it is not archived, and the reason says so.
 * A repository digest alone proves nothing: the containerd image store gives every tagged image
 * one, pushed or not, and a registry may have deleted what it once had. So only the registry's
 * answer, asked just before planning (Snapshot.registry), spares the archive.
 * Untagged parents planned with a selected image get no archive of their own: `docker save` of
 * the child holds every layer of the parent too.
 */
export function archiveOf(
  dir: string | undefined,
  image: ImageObj,
  registry: Snapshot['registry'],
): { plan?: ArchivePlan; note?: string } | undefined {
  if (dir === undefined) return undefined;
  const pullable = image.digests.find((d) => registry?.get(d)?.found === true);
  if (pullable !== undefined) return { note: `not archived: its registry has ${pullable}, so it can be pulled again` };
  const plan = { dir, estimatedBytes: image.content ?? image.size };
  const first = image.digests[0];
  if (first === undefined) return { plan };
  const answer = registry?.get(first);
  return { plan, note: `archived first: ${first} is not confirmed in its registry (${answer?.detail ?? 'not asked'})` };
}

// Below this many removals of one kind, a fraction says little (2 of 3 images is 67%).
const FRACTION_FLOOR = 10;

/** Why safety limits forbid this plan, if they do: then nothing at all is removed. */
function blockedBy(config: Config, snapshot: Snapshot, actions: readonly Action[]): string | undefined {
  const limit = config.limits.maxRemovalsPerRun;
  if (actions.length > limit)
    return `the plan removes ${actions.length} objects, more than limits.maxRemovalsPerRun (${limit}); nothing will be removed`;
  const fraction = config.limits.maxRemovalFraction;
  if (fraction === undefined) return undefined;
  const totals = {
    image: snapshot.images.length,
    container: snapshot.containers.length,
    volume: snapshot.volumes.length,
    network: snapshot.networks?.length ?? 0,
    buildCache: snapshot.buildCache?.length ?? 0,
  };
  for (const resource of ['image', 'container', 'volume', 'network', 'buildCache'] as const) {
    // A build-cache prune is one request but removes many records; the records are what count.
    const n = actions
      .filter((a) => a.resource === resource)
      .reduce((sum, a) => sum + (a.resource === 'buildCache' ? a.prune.records.length : 1), 0);
    if (n >= FRACTION_FLOOR && n / totals[resource] > fraction) {
      return `the plan removes ${n} of ${totals[resource]} ${resource === 'buildCache' ? 'build cache records' : `${resource}s`}, more than limits.maxRemovalFraction (${fraction}); nothing will be removed`;
    }
  }
  return undefined;
}

/** Policy order is already in the ledger; within a resource, order by ID for stable output. */
function sorted<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
