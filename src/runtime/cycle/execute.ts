/**
 * Carries out a plan's removals in the order that matters, with bounded concurrency. A
 * refusal from the engine (409) or an object already gone (404) is a counted skip, never an
 * error and never a reason to force; an unreachable engine ends the cycle. A removal whose
 * request went out without an answer that says what the engine did is in doubt (in-doubt.ts):
 * neither removed nor skipped, for the next cycle to settle.
 */
import type { Changes, Engine, RemovalOutcome } from '../../engine/engine.js';
import type { Action, ByteRange, ImageAction, Plan, ResourceKind } from '../../core/model/plan.js';
import type { ContainerObj } from '../../core/model/snapshot.js';
import { classify } from '../../engine/errors.js';
import { limiter, mapLimit } from '../../lib/pool.js';
import type { Logger } from '../logger.js';
import { archiveImage, type Archived } from './archive.js';
import { runPrune, type PlanTime } from './execute-prune.js';
import { leavesInDoubt } from './in-doubt.js';
import type { RemovalRecord } from './removal-record.js';

/** `archive-failed`: the image could not be archived first (see Action.archive), so it stays. */
export const SKIP_REASONS = ['conflict', 'gone', 'error', 'aborted', 'archive-failed'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** An engine outcome, or an archive step that failed; an image removal may carry its archive. */
type Outcome =
  | (RemovalOutcome & { readonly archived?: Archived; readonly unplanned?: readonly string[] })
  | { readonly ok: false; readonly kind: 'archive-failed'; readonly message: string; readonly path: string };

export interface SkipRecord {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  readonly reason: SkipReason;
  readonly message: string;
}

export interface ExecutionResult {
  readonly removed: RemovalRecord[];
  readonly skipped: SkipRecord[];
  /** Removals whose request was sent and whose outcome the answer did not tell, in plan order, with why. */
  readonly inDoubt: ReadonlyArray<{ readonly action: Action; readonly message: string }>;
  /** What the engine said the confirmed image removals deleted (on the classic store, layer chain IDs among them). */
  readonly deleted: readonly string[];
  readonly interrupted: string | undefined;
  /** The engine's image disk usage just before the first image removal and just after the last, when asked for (ExecuteOptions.measureImages). */
  readonly imageUsage?: { readonly before: number | undefined; readonly after: number | undefined };
}

/** How the bytes an image deletion freed are known; see sweep.ts. */
export interface ImageAccounting {
  /** This cycle deleted the image; `deleted` is what the engine said it deleted. */
  freed(action: Action, deleted: readonly string[]): { readonly bytes: number; readonly range?: ByteRange };
  /** The image was gone before this cycle could delete it. */
  gone(id: string): void;
}

export interface ExecuteOptions {
  /** Aborted on shutdown: the removal in flight finishes, no new one starts. */
  readonly signal?: AbortSignal | undefined;
  /** Removal requests in flight at once (default 1). */
  readonly concurrency?: number;
  /** Which removals must wait for the plan's containers (default: all); see dependsOnRemovedContainers. */
  readonly waitsForContainers?: (action: Action) => boolean;
  readonly planTime?: PlanTime;
  /** Default: the sizes of the layers the engine says it deleted (the classic store). */
  readonly images?: ImageAccounting;
  /**
   * The engine's image disk usage, read just before the first image removal and just after the
   * last, with no other removal that changes it in between: containers go before, everything
   * else alongside. Undefined when it could not be read.
   */
  readonly measureImages?: () => Promise<number | undefined>;
  /**
   * Objects an earlier cycle asked the engine to remove without hearing the outcome, and that
   * this cycle's snapshot still listed: a 404 for one of them means that request removed it.
   * Returns what its removal freed (null: unknown), or undefined for any other object.
   */
  readonly removedEarlier?: (action: Action) => { readonly bytes: number | null } | undefined;
  /** Told when a removal starts (+1), its fresh look and archive included, and when it has ended (-1). */
  readonly inFlight?: (change: 1 | -1) => void;
  /**
   * What changed on the engine since the cycle began: while no image can have gained a name,
   * digest or user, an image's fresh look before its removal is what the plan saw, and costs
   * no request. Absent: every image is looked at afresh.
   */
  readonly changes?: Changes;
}

/**
 * Runs the removals with at most `concurrency` requests in flight, in the order that matters:
 * a container must be gone before its image, volume or network can go. With a bound above 1,
 * the images and volumes that `waitsForContainers` says no removed container holds go
 * alongside the containers; the rest of the images, volumes and networks go side by side once
 * every container is gone; build-cache prunes last. Stand-alone images go in parallel; images
 * in a parent/child tree go one at a time, children first, after the stand-alone ones.
 * Without `waitsForContainers`, everything waits for the containers.
 */
export async function execute(
  engine: Engine,
  plan: Plan,
  log: Logger,
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  const { signal, planTime } = options;
  const concurrency = options.concurrency ?? 1;
  const accounting = options.images ?? layersDeleted(engine);
  const measure = options.measureImages;
  // While image removals are measured, none runs alongside the containers.
  const waitsForContainers = measure
    ? (a: Action) => a.resource === 'image' || (options.waitsForContainers?.(a) ?? true)
    : (options.waitsForContainers ?? (() => true));
  const results = new Map<Action, { removed?: RemovalRecord; skipped?: SkipRecord; inDoubt?: string }>();
  const done = new Set<string>();
  const deleted: string[] = [];
  let interrupted: string | undefined;
  // A planned container that stays (refused, failed, in doubt) may hold an image the plan
  // removes, and no event says so: from then on every image is looked at again first.
  let containerKept = false;
  const quiet = () => !containerKept && options.changes?.imagesQuiet() === true;

  const runOne = async (action: Action): Promise<void> => {
    // A reason given with the abort (a mode change) says why; a bare abort is the shutdown.
    if (interrupted === undefined && signal?.aborted)
      interrupted = typeof signal.reason === 'string' ? signal.reason : 'shutting down';
    if (interrupted !== undefined) {
      results.set(action, { skipped: skip(action, 'aborted', interrupted) });
      return;
    }
    // A parent whose planned child stayed would only lose its tags and then meet a 409.
    const stayed = (action.resource === 'image' ? (action.dependsOn ?? []) : []).find((child) => !done.has(child));
    if (stayed !== undefined) {
      results.set(action, { skipped: skip(action, 'conflict', `its child image ${stayed} was not deleted`) });
      return;
    }
    // Set just before the first request that changes anything: until then, a failure leaves
    // the object as it was.
    let sent = false;
    options.inFlight?.(1);
    const outcome = await removeOne(engine, action, log, planTime, quiet, () => (sent = true))
      .catch((err: unknown): Outcome => {
        const e = classify(err);
        return { ok: false, kind: e.kind, message: e.message };
      })
      .finally(() => options.inFlight?.(-1));
    const alog = log.child({ policy: action.policy, resource: action.resource });
    const earlier = !outcome.ok && outcome.kind === 'gone' ? options.removedEarlier?.(action) : undefined;
    if (!outcome.ok && sent && leavesInDoubt(outcome)) {
      // The engine may have carried it out: counted neither as removed nor as skipped, and
      // nothing that waits for it (a parent image) goes on.
      results.set(action, { inDoubt: outcome.message });
      if (outcome.kind === 'unreachable') interrupted ??= `engine unreachable: ${outcome.message}`;
      if (outcome.kind === 'malformed') interrupted ??= `unreadable engine answer: ${outcome.message}`;
      const msg =
        outcome.kind === 'unreachable'
          ? 'engine unreachable; stopping this cycle'
          : outcome.kind === 'malformed'
            ? 'unreadable engine answer; stopping this cycle'
            : 'the engine failed the removal; whether it was carried out, the next cycle sees';
      alog.error({ name: action.name, id: action.id, err: outcome.message, inDoubt: true }, msg);
      return;
    }
    if (outcome.ok) {
      if (action.resource === 'image') deleted.push(...outcome.deleted);
      // Images: what the deletion freed (image accounting); prunes: the engine's SpaceReclaimed; others: as planned.
      const freed: { bytes: number | null; range?: ByteRange } =
        action.resource === 'image'
          ? accounting.freed(action, outcome.deleted)
          : { bytes: outcome.bytes === undefined ? action.bytes : outcome.bytes };
      const bytes = freed.bytes;
      const archived = outcome.archived;
      const unplanned = outcome.unplanned;
      results.set(action, {
        removed: {
          resource: action.resource,
          id: action.id,
          name: action.name,
          policy: action.policy,
          predictedBytes: action.bytes,
          bytes,
          ...(freed.range ? { range: freed.range } : {}),
          ...(archived ? { archived } : {}),
          ...(unplanned ? { unplanned } : {}),
        },
      });
      done.add(action.id);
      alog.info(
        {
          name: action.name,
          id: action.id,
          bytes,
          predictedBytes: action.bytes,
          reason: action.reason,
          ...(archived ? { archive: archived.path, archiveBytes: archived.bytes } : {}),
        },
        'removed',
      );
    } else if (outcome.kind === 'unreachable') {
      interrupted ??= `engine unreachable: ${outcome.message}`;
      results.set(action, { skipped: skip(action, 'aborted', interrupted) });
      alog.error({ name: action.name, id: action.id, err: outcome.message }, 'engine unreachable; stopping this cycle');
    } else if (outcome.kind === 'malformed') {
      // An answer that cannot be read with certainty (a check before the removal, or the
      // removal's own) leaves nothing that rests on it to go on with: no further removal starts.
      interrupted ??= `unreadable engine answer: ${outcome.message}`;
      results.set(action, { skipped: skip(action, 'aborted', interrupted) });
      alog.error(
        { name: action.name, id: action.id, err: outcome.message },
        'unreadable engine answer; stopping this cycle',
      );
    } else if (earlier !== undefined) {
      // An earlier request whose answer was lost removed it: counted now, and once.
      const { bytes } = earlier;
      done.add(action.id);
      if (action.resource === 'image') accounting.gone(action.id);
      results.set(action, {
        removed: {
          resource: action.resource,
          id: action.id,
          name: action.name,
          policy: action.policy,
          predictedBytes: action.bytes,
          bytes,
          earlier: true,
        },
      });
      alog.info(
        { name: action.name, id: action.id, bytes, predictedBytes: action.bytes, reason: action.reason },
        'removed by an earlier request whose answer was lost',
      );
    } else {
      // Gone is as good as removed for what depends on it (a parent waiting for its child).
      if (outcome.kind === 'gone') {
        done.add(action.id);
        if (action.resource === 'image') accounting.gone(action.id);
      }
      const reason: SkipReason = outcome.kind === 'failed' ? 'error' : outcome.kind;
      results.set(action, { skipped: skip(action, reason, outcome.message) });
      const archive = outcome.kind === 'archive-failed' ? { archive: outcome.path } : {};
      alog[reason === 'error' || reason === 'archive-failed' ? 'error' : 'warn'](
        { name: action.name, id: action.id, reason, err: outcome.message, ...archive },
        'removal skipped',
      );
    }
  };

  const bound = Math.max(1, concurrency);
  const slot = limiter(bound);
  const lane = async (steps: ReadonlyArray<{ actions: Action[]; serial: boolean }>) => {
    for (const step of steps)
      await mapLimit(step.actions, step.serial ? 1 : bound, (a) =>
        slot(async () => {
          await runOne(a);
          if (a.resource === 'container' && results.get(a)?.removed === undefined) containerKept = true;
        }),
      );
  };
  const g = groups(plan.actions);
  const measured = measure !== undefined && g.images.actions.length + g.imageTrees.actions.length > 0;
  let imageUsage: { before: number | undefined; after: number | undefined } | undefined;
  // The image removals, with the engine's image disk usage read around them when asked for.
  const imageLane = async (steps: ReadonlyArray<{ actions: Action[]; serial: boolean }>) => {
    const before = measured ? await measure() : undefined;
    await lane(steps);
    if (measured) imageUsage = { before, after: await measure() };
  };
  if (bound === 1) {
    // One request at a time gains nothing from interleaving; plan order is easier to follow.
    await lane([g.containers]);
    await imageLane([g.images, g.imageTrees]);
    await lane([g.volumes, g.networks]);
  } else {
    // Images and volumes that no removed container holds depend on nothing this cycle does,
    // so they share the bound with the containers instead of waiting for the slowest of them.
    const early = (step: { actions: Action[]; serial: boolean }) => ({
      ...step,
      actions: step.actions.filter((a) => !waitsForContainers(a)),
    });
    const late = (step: { actions: Action[]; serial: boolean }) => ({
      ...step,
      actions: step.actions.filter(waitsForContainers),
    });
    await Promise.all([lane([g.containers]), lane([early(g.images)]), lane([early(g.volumes)])]);
    // Once every container is gone, the rest no longer depend on anything this cycle does to
    // the others. Within the image lane, trees still go one at a time, children first, after
    // the stand-alone images.
    await Promise.all([imageLane([late(g.images), g.imageTrees]), lane([late(g.volumes)]), lane([g.networks])]);
  }
  await lane([g.buildCache]);
  // Reported in plan order, whatever order the parallel requests finished in.
  const removed: RemovalRecord[] = [];
  const skipped: SkipRecord[] = [];
  const doubtful: Array<{ action: Action; message: string }> = [];
  for (const action of plan.actions) {
    const r = results.get(action);
    if (r?.removed) removed.push(r.removed);
    if (r?.skipped) skipped.push(r.skipped);
    if (r?.inDoubt !== undefined) doubtful.push({ action, message: r.inDoubt });
  }
  return { removed, skipped, inDoubt: doubtful, deleted, interrupted, ...(imageUsage ? { imageUsage } : {}) };
}

function groups(actions: readonly Action[]) {
  const of = (pred: (a: Action) => boolean, serial: boolean) => ({ actions: actions.filter(pred), serial });
  return {
    containers: of((a) => a.resource === 'container', false),
    images: of((a) => a.resource === 'image' && a.inTree !== true, false),
    imageTrees: of((a) => a.resource === 'image' && a.inTree === true, true),
    volumes: of((a) => a.resource === 'volume', false),
    // After containers: a network is free only once the containers attached to it are gone.
    networks: of((a) => a.resource === 'network', false),
    // Its own step, one prune at a time: the engine runs only one prune at once (409 otherwise).
    buildCache: of((a) => a.resource === 'buildCache', true),
  };
}

/** `sent` is called just before the first request that changes anything on the engine. */
async function removeOne(
  engine: Engine,
  action: Action,
  log: Logger,
  planTime: PlanTime | undefined,
  quiet: () => boolean,
  sent: () => void,
): Promise<Outcome> {
  switch (action.resource) {
    case 'container':
      sent();
      return engine.removeContainer(action.id);
    case 'volume':
      sent();
      return engine.removeVolume(action.id);
    case 'image':
      return removeImage(engine, action, log, quiet, sent);
    case 'network':
      // The engine deletes a network that only stopped or created containers use; one attached
      // since the plan would then never start again, so look just before deleting.
      if (await engine.networkInUse(action.id, action.name))
        return {
          ok: false,
          kind: 'conflict',
          message: 'a container was attached to the network after the plan was made',
        };
      sent();
      return engine.removeNetwork(action.id);
    case 'buildCache':
      // The prune is the one request of runPrune that changes anything.
      sent();
      return runPrune(engine, action, planTime, log);
  }
}

/**
 * Untags extra tags by name, then deletes by ID. The engine refuses to delete by ID an image
 * with several tags unless forced, hence the untagging; but untagging is not guarded by the
 * engine, and a delete by ID of an image with one name is not either, so first look at the
 * image as it is now: if it carries a tag or digest the plan did not see (pushed or pulled
 * since, even onto a dangling image), or a container uses it, leave it alone. Each tag is
 * untagged only if it still names this image, so a tag moved to another image is never touched.
 * `quiet`: the cycle's event watch has seen nothing, since before the listing, that could have
 * given any image a name, digest or user (changes.ts), and every planned container so far is
 * gone, so the image is as the plan saw it, and looking again would only ask the engine what
 * it already said. It is asked at each look.
 * An image whose plan says to archive it is saved first; if that fails, nothing else happens.
 */
async function removeImage(
  engine: Engine,
  action: ImageAction,
  log: Logger,
  quiet: () => boolean,
  sent: () => void,
): Promise<Outcome> {
  const refs = quiet()
    ? { tags: [...(action.tags ?? [])], digests: [...(action.digests ?? [])] }
    : await engine.imageRefs(action.id);
  if (refs === undefined) return { ok: false, kind: 'gone', message: 'the image is already gone' };
  const unplanned = [
    ...refs.tags.filter((t) => !(action.tags ?? []).includes(t)),
    ...refs.digests.filter((d) => !(action.digests ?? []).includes(d)),
  ];
  if (unplanned.length > 0)
    return { ok: false, kind: 'conflict', message: `gained ${unplanned.join(', ')} since the plan was made` };
  // Archive before anything is untagged: a failed archive must leave the image exactly as it was.
  let archived: Archived | undefined;
  if (action.archive !== undefined) {
    const a = await archiveImage(engine, action, refs.tags);
    if (!a.ok)
      return a.kind === 'archive-failed'
        ? { ok: false, kind: a.kind, message: a.message, path: a.path }
        : { ok: false, kind: a.kind, message: a.message };
    archived = { path: a.path, bytes: a.bytes };
  }
  const outcome = await untagAndDelete(engine, action, refs.tags, log, quiet, sent);
  return outcome.ok && archived ? { ...outcome, archived } : outcome;
}

async function untagAndDelete(
  engine: Engine,
  action: Action,
  tags: readonly string[],
  log: Logger,
  quiet: () => boolean,
  sent: () => void,
): Promise<RemovalOutcome> {
  const deleted: string[] = [];
  if (tags.length > 1) {
    if (!quiet() && (await engine.imageInUse(action.id)))
      return {
        ok: false,
        kind: 'conflict',
        message: 'a container uses the image (started after the plan, or its removal failed)',
      };
    for (const reference of tags.slice(0, -1)) {
      if (!quiet() && (await engine.imageIdOf(reference)) !== action.id) continue;
      sent();
      const untagged = await engine.untagImage(reference);
      if (untagged.ok) deleted.push(...untagged.deleted);
      else if (untagged.kind !== 'gone') return untagged;
      const strays = untagged.ok
        ? untagged.deleted.filter(
            (id) => id.startsWith('sha256:') && id !== action.id && engine.layerSize(id) === undefined,
          )
        : [];
      if (strays.length > 0)
        log.error(
          { reference, deleted: strays },
          'untagging deleted an image other than the one planned; its tag had moved',
        );
    }
  }
  sent();
  const outcome = await engine.deleteImage(action.id);
  if (outcome.ok) return { ok: true, deleted: [...deleted, ...outcome.deleted] };
  // Someone removed the last other tag meanwhile, so our untag deleted the image: it is gone,
  // and the layers that went with it were freed by us.
  if (outcome.kind === 'gone' && deleted.includes(action.id)) return { ok: true, deleted };
  return outcome;
}

/** The classic store's accounting: a deletion freed the layers its answer lists as deleted. */
function layersDeleted(engine: Engine): ImageAccounting {
  return {
    freed: (_action, deleted) => ({ bytes: deleted.reduce((sum, id) => sum + (engine.layerSize(id) ?? 0), 0) }),
    gone: () => undefined,
  };
}

function skip(action: Action, reason: SkipReason, message: string): SkipRecord {
  return { resource: action.resource, id: action.id, name: action.name, policy: action.policy, reason, message };
}

/**
 * Which removals must wait until the plan's containers are gone: images a removed container
 * was made from, volumes one mounts, every image in a parent/child tree and every network
 * (a network's attachments are matched by name or ID prefix, which is not worth guessing
 * here). Anything else was held by no container at all when the plan was made; should one
 * appear since, the engine refuses the removal (409), as it would later.
 */
export function dependsOnRemovedContainers(
  plan: Plan,
  containers: readonly ContainerObj[],
): (action: Action) => boolean {
  const removed = new Set(plan.actions.filter((a) => a.resource === 'container').map((a) => a.id));
  const images = new Set<string>();
  const volumes = new Set<string>();
  for (const c of containers) {
    if (!removed.has(c.id)) continue;
    images.add(c.imageId);
    for (const v of c.volumes) volumes.add(v);
  }
  return (a) => {
    if (a.resource === 'image') return a.inTree === true || images.has(a.id);
    if (a.resource === 'volume') return volumes.has(a.id);
    return true;
  };
}
