/**
 * Runs `worker` over `items` with at most `limit` in flight (a number, or an
 * `AdjustableLimit` that may change meanwhile); results keep the input order. After the first failure, or once `signal` is aborted, no new item
 * is started, and the call settles only when the items in flight have, so a
 * caller's clean-up (such as aborting a multipart upload) never races with work
 * still running. Stopping the items in flight is the worker's business (it has
 * the signal too); when the signal stopped the pool, the call rejects with its reason.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number | AdjustableLimit,
  worker: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const max = () => Math.max(1, typeof limit === 'number' ? limit : limit.value);
  let next = 0;
  let inFlight = 0;
  let failure: { error: unknown } | undefined;
  return new Promise<R[]>((resolve, reject) => {
    let unsubscribe = () => {};
    const settle = () => {
      if (inFlight > 0 || (next < items.length && !failure && !signal?.aborted)) return;
      unsubscribe();
      if (signal?.aborted) reject(signal.reason);
      else if (failure) reject(failure.error);
      else resolve(results);
    };
    const pump = () => {
      while (!failure && !signal?.aborted && next < items.length && inFlight < max()) {
        const index = next++;
        inFlight++;
        Promise.resolve()
          .then(() => worker(items[index] as T, index))
          .then(
            (result) => {
              results[index] = result;
            },
            (error: unknown) => {
              failure ??= { error };
            },
          )
          .finally(() => {
            inFlight--;
            pump();
          });
      }
      settle();
    };
    if (typeof limit !== 'number') unsubscribe = limit.onRaise(pump);
    pump();
  });
}

/** A limit that can change while a pool runs; raising it starts more items at once. */
export class AdjustableLimit {
  private readonly listeners = new Set<() => void>();
  constructor(private current: number) {}

  get value(): number {
    return this.current;
  }

  set(value: number): void {
    const raised = value > this.current;
    this.current = value;
    if (raised) for (const listener of this.listeners) listener();
  }

  /** Calls `listener` whenever the limit goes up; returns the unsubscribe. */
  onRaise(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Splits `items` into consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
