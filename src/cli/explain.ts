/**
 * `reclaimd explain`: the inputs of a cycle, gathered as `plan` gathers them, then the pure
 * explanation (src/core/explain/explain.ts) of the object asked about. Never removes anything.
 */
import type { Engine } from '../engine/engine.js';
import type { Config, Mode } from '../core/config/config.js';
import { explain, findObject } from '../core/explain/explain.js';
import { explainJson, explainText } from './render-explain.js';
import { withRegistryAnswers } from '../runtime/cycle/sweep.js';
import { gatherInputs } from '../runtime/cycle/inputs.js';
import { openOneShotLastUse } from '../runtime/last-use/one-shot.js';
import { EngineProvider } from '../runtime/engine-provider.js';
import type { Logger } from '../runtime/logger.js';
import { EXIT } from './exit-codes.js';

export interface ExplainOutput {
  /** 0 explained, 3 no such object (or more than one matched). */
  readonly code: 0 | 3;
  readonly stdout: string;
  readonly stderr: string;
}

/** Exit code when the object is not found or the query names several objects. */
export const EXIT_NOT_FOUND = EXIT.notFound;

/**
 * Explains `query` against what the engine holds now, with the last use recorded for the engine
 * `engineId` names; engine errors are thrown to the caller.
 */
export async function runExplain(
  engine: Engine,
  config: Config,
  query: string,
  options: { json: boolean; mode: Mode; now: number; engineId: string },
  log: Logger,
): Promise<ExplainOutput> {
  // The inputs a cycle gathers, gathered the same way: the same listing (container finish
  // times, deployed images), last use read from the state file as `plan` reads it, and the
  // disk figures pressure policies judge by. So the verdict is the plan's at this moment.
  const lastUse = await openOneShotLastUse(config, log, options.engineId, { readOnly: true, now: options.now });
  const inputs = await gatherInputs(engine, config, lastUse.usage, log);
  const disk = inputs.disk?.figures;
  const snapshot = await withRegistryAnswers(engine, config, inputs.snapshot, options.now, disk);
  const found = findObject(snapshot, query);
  if (!found.ok) {
    const detail =
      found.reason === 'ambiguous'
        ? `"${query}" names more than one object:\n${found.candidates.map((c) => `  ${c}`).join('\n')}\nuse a full ID or name`
        : `no image, container or volume "${query}" on the engine`;
    return { code: EXIT_NOT_FOUND, stdout: '', stderr: `reclaimd: explain: ${detail}\n` };
  }
  const e = explain(config, snapshot, options.now, found.target, disk);
  const text = options.json
    ? JSON.stringify(explainJson(e, options.mode, options.now), null, 2)
    : explainText(e, options.mode, options.now);
  return { code: 0, stdout: `${text}\n`, stderr: '' };
}

/** `reclaimd explain`: connects to the engine and prints runExplain's answer. */
export async function explainCommand(
  config: Config,
  query: string,
  mode: Mode,
  log: Logger,
  json: boolean,
): Promise<number> {
  const provider = new EngineProvider(config.dockerHost, log, config.requestTimeoutMs);
  try {
    const engine = await provider.get();
    const now = Date.now();
    const out = await runExplain(engine, config, query, { json, mode, now, engineId: engine.cache.engineId }, log);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.code;
  } catch (err) {
    process.stderr.write(`reclaimd: explain failed: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}
