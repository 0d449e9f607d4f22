/** Runs `fn` over `items` with at most `limit` calls in flight, keeping results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A bound shared by several independent runs of work: at most `limit` calls of the returned
 * function are in flight at once, whichever run they come from; the others wait their turn,
 * first come first served.
 */
export function limiter(limit: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next in line, so `active` never drops and rises again
      // between them and a newcomer cannot jump the queue.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
