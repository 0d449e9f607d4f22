/**
 * Carries out a plan's removals in order, one request at a time. A refusal from the engine
 * (409) or an object already gone (404) is a counted skip, never an error and never a reason to
 * force; an unreachable engine ends the cycle.
 */
import type { Engine, RemovalOutcome } from '../docker/engine.js';
import type { Action, Plan, ResourceKind } from '../policy/plan-types.js';
import { classify } from '../docker/errors.js';
import { mapLimit } from '../docker/pool.js';
import type { Logger } from './logger.js';

export interface RemovalRecord {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  /** What the plan predicted. */
  readonly predictedBytes: number | null;
  /** What the engine reported freed. */
  readonly bytes: number | null;
}

export type SkipReason = 'conflict' | 'gone' | 'error' | 'aborted';

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
  readonly interrupted: string | undefined;
}

/**
 * Runs the removals with at most `concurrency` requests in flight, in groups that keep the
 * order that matters: containers, then images, then volumes, each group finished before the
 * next starts (a container must be gone before its image or volume can go). Images in a
 * parent/child tree go one at a time, children first, so the engine's auto-prune of parents
 * happens exactly as planned; unrelated images go in parallel.
 */
export async function execute(engine: Engine, plan: Plan, signal: AbortSignal | undefined, log: Logger, concurrency = 1): Promise<ExecutionResult> {
  const results = new Map<Action, { removed?: RemovalRecord; skipped?: SkipRecord }>();
  let interrupted: string | undefined;

  const runOne = async (action: Action): Promise<void> => {
    if (interrupted === undefined && signal?.aborted) interrupted = 'shutting down';
    if (interrupted !== undefined) {
      results.set(action, { skipped: skip(action, 'aborted', interrupted) });
      return;
    }
    const outcome = await removeOne(engine, action).catch((err: unknown): RemovalOutcome => {
      const e = classify(err);
      return { ok: false, kind: e.kind, message: e.message };
    });
    const alog = log.child({ policy: action.policy, resource: action.resource });
    if (outcome.ok) {
      const bytes = action.resource === 'image' ? imageBytes(engine, outcome.deleted) : action.bytes;
      results.set(action, { removed: { resource: action.resource, id: action.id, name: action.name, policy: action.policy, predictedBytes: action.bytes, bytes } });
      alog.info({ name: action.name, id: action.id, bytes, predictedBytes: action.bytes, reason: action.reason }, 'removed');
    } else if (outcome.kind === 'unreachable') {
      interrupted ??= `engine unreachable: ${outcome.message}`;
      results.set(action, { skipped: skip(action, 'aborted', interrupted) });
      alog.error({ name: action.name, id: action.id, err: outcome.message }, 'engine unreachable; stopping this cycle');
    } else {
      const reason: SkipReason = outcome.kind === 'failed' ? 'error' : outcome.kind;
      results.set(action, { skipped: skip(action, reason, outcome.message) });
      alog[reason === 'error' ? 'error' : 'warn']({ name: action.name, id: action.id, reason, err: outcome.message }, 'removal skipped');
    }
  };

  for (const group of groups(plan.actions)) {
    await mapLimit(group.actions, group.serial ? 1 : Math.max(1, concurrency), runOne);
  }
  // Reported in plan order, whatever order the parallel requests finished in.
  const removed: RemovalRecord[] = [];
  const skipped: SkipRecord[] = [];
  for (const action of plan.actions) {
    const r = results.get(action);
    if (r?.removed) removed.push(r.removed);
    if (r?.skipped) skipped.push(r.skipped);
  }
  return { removed, skipped, interrupted };
}

function groups(actions: readonly Action[]): Array<{ actions: Action[]; serial: boolean }> {
  const of = (pred: (a: Action) => boolean) => actions.filter(pred);
  return [
    { actions: of((a) => a.resource === 'container'), serial: false },
    { actions: of((a) => a.resource === 'image' && a.inTree !== true), serial: false },
    { actions: of((a) => a.resource === 'image' && a.inTree === true), serial: true },
    { actions: of((a) => a.resource === 'volume'), serial: false },
  ];
}

async function removeOne(engine: Engine, action: Action): Promise<RemovalOutcome> {
  switch (action.resource) {
    case 'container':
      return engine.removeContainer(action.id);
    case 'volume':
      return engine.removeVolume(action.id);
    case 'image': {
      // The engine refuses to delete by ID an image with several tags unless forced, so extra
      // tags go first, by name; the image itself then goes by ID, without force. Untagging is
      // not guarded by the engine, so first make sure no container started using the image
      // since the plan; otherwise the image would lose names and then stay (409) anyway.
      const untag = action.untag ?? [];
      if (untag.length > 0 && (await engine.imageInUse(action.id))) {
        return { ok: false, kind: 'conflict', message: 'a container started using the image after the plan was made' };
      }
      for (const reference of untag) {
        const untagged = await engine.untagImage(reference);
        if (!untagged.ok && untagged.kind !== 'gone') return untagged;
      }
      return engine.deleteImage(action.id, action.noprune === true);
    }
  }
}

/** Bytes freed by an image deletion: the sizes of the layer chain IDs the engine deleted. */
function imageBytes(engine: Engine, deleted: readonly string[]): number {
  return deleted.reduce((sum, id) => sum + (engine.layerSize(id) ?? 0), 0);
}

function skip(action: Action, reason: SkipReason, message: string): SkipRecord {
  return { resource: action.resource, id: action.id, name: action.name, policy: action.policy, reason, message };
}
