/**
 * Runs `worker` over `items` with at most `limit` in flight; results keep the
 * input order. After the first failure, or once `signal` is aborted, no new item
 * is started, and the call settles only when the items in flight have, so a
 * caller's clean-up (such as aborting a multipart upload) never races with work
 * still running. Stopping the items in flight is the worker's business (it has
 * the signal too); when the signal stopped the pool, the call rejects with its reason.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && !signal?.aborted && next < items.length) {
      const index = next++;
      try {
        results[index] = await worker(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const settled = await Promise.allSettled(lanes);
  signal?.throwIfAborted();
  const rejection = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejection) throw rejection.reason;
  return results;
}

/** Splits `items` into consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
