/**
 * Asking a registry, through the engine, whether it has an image: the evidence that the image
 * can be pulled again (see archiveOf in src/core/planner/plan.ts). The engine resolves the reference
 * with its own registry settings (mirrors, insecure registries, proxies); it has no credentials
 * of ours, so a registry that wants them says no, and the image is archived: the safe answer.
 */
import type Docker from 'dockerode';
import type { RegistryAnswer } from '../core/model/snapshot.js';
import { classify, EngineError } from './errors.js';

/** A registry that does not answer within this is taken as not having the image. */
const REGISTRY_TIMEOUT_MS = 10_000;

// `host[:port]/path@sha256:<64 hex>` in lower case, as the engine names repository digests:
// nothing else goes into the request path.
const DIGEST_REFERENCE =
  /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*@sha256:[0-9a-f]{64}$/;

/** GET /distribution/{reference}/json: found when the registry answers with that very digest. */
export async function registryHas(
  docker: Docker,
  reference: string,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<RegistryAnswer> {
  if (!DIGEST_REFERENCE.test(reference))
    return { found: false, detail: `not a repository digest reclaimd can ask about: ${JSON.stringify(reference)}` };
  const digest = reference.slice(reference.indexOf('@') + 1);
  try {
    const answer = await call(
      () =>
        new Promise<{ Descriptor?: { digest?: string } }>((resolve, reject) => {
          docker.modem.dial(
            {
              path: `/distribution/${reference}/json`,
              method: 'GET',
              abortSignal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS),
              statusCodes: { 200: true, 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 500: 'server error' },
            } as Parameters<Docker['modem']['dial']>[0],
            (err: unknown, data: unknown) =>
              err ? reject(err) : resolve((data ?? {}) as { Descriptor?: { digest?: string } }),
          );
        }),
    );
    const got = answer.Descriptor?.digest;
    return got === digest
      ? { found: true }
      : { found: false, detail: `the registry answered with ${JSON.stringify(got)}` };
  } catch (err) {
    const e = classify(err);
    if (isAbort(err)) return { found: false, detail: `no answer within ${REGISTRY_TIMEOUT_MS / 1000} s` };
    // The engine itself gone is the cycle's failure, not the registry's.
    if (e.kind === 'unreachable') throw e;
    return { found: false, detail: e.message };
  }
}

function isAbort(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | undefined;
  return (
    e?.name === 'AbortError' ||
    e?.name === 'TimeoutError' ||
    e?.code === 'ABORT_ERR' ||
    (err instanceof EngineError && /aborted/i.test(err.message))
  );
}
