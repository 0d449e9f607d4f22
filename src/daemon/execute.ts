/**
 * Carries out a plan's removals in order, one request at a time. A refusal from the engine
 * (409) or an object already gone (404) is a counted skip, never an error and never a reason to
 * force; an unreachable engine ends the cycle.
 */
import type { Engine, RemovalOutcome } from '../docker/engine.js';
import type { Action, Plan, ResourceKind } from '../policy/plan-types.js';
import { classify } from '../docker/errors.js';
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

export async function execute(engine: Engine, plan: Plan, signal: AbortSignal | undefined, log: Logger): Promise<ExecutionResult> {
  const removed: RemovalRecord[] = [];
  const skipped: SkipRecord[] = [];
  let interrupted: string | undefined;
  for (const action of plan.actions) {
    if (interrupted === undefined && signal?.aborted) interrupted = 'shutting down';
    if (interrupted !== undefined) {
      skipped.push(skip(action, 'aborted', interrupted));
      continue;
    }
    const outcome = await removeOne(engine, action).catch((err: unknown): RemovalOutcome => {
      const e = classify(err);
      return { ok: false, kind: e.kind, message: e.message };
    });
    const alog = log.child({ policy: action.policy, resource: action.resource });
    if (outcome.ok) {
      const bytes = action.resource === 'image' ? imageBytes(engine, outcome.deleted) : action.bytes;
      removed.push({ resource: action.resource, id: action.id, name: action.name, policy: action.policy, predictedBytes: action.bytes, bytes });
      alog.info({ name: action.name, id: action.id, bytes, predictedBytes: action.bytes, reason: action.reason }, 'removed');
      continue;
    }
    if (outcome.kind === 'unreachable') {
      interrupted = `engine unreachable: ${outcome.message}`;
      skipped.push(skip(action, 'aborted', interrupted));
      alog.error({ name: action.name, id: action.id, err: outcome.message }, 'engine unreachable; stopping this cycle');
      continue;
    }
    const reason: SkipReason = outcome.kind === 'failed' ? 'error' : outcome.kind;
    skipped.push(skip(action, reason, outcome.message));
    const level = reason === 'error' ? 'error' : 'warn';
    alog[level]({ name: action.name, id: action.id, reason, err: outcome.message }, 'removal skipped');
  }
  return { removed, skipped, interrupted };
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
