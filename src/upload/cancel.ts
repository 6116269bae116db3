/**
 * What an upload does with the run's cancellation: stop at once, but still clean up. Clean-up
 * requests (aborting the multipart upload, the strays) must not be stopped by the same signal
 * that stopped the upload, or a cancelled run would leave billed parts behind; they get a short
 * deadline of their own instead, so the run still ends within the runner's grace period.
 */

/** How long clean-up requests may take once the run is cancelled. */
export const CLEANUP_GRACE_MS = 3000;

/**
 * The error an upload rejects with when `signal` stopped it: the signal's reason, which is what
 * the pipeline aborted with (a DOMException named `AbortError` when it gave none).
 */
export function cancelledError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The upload was cancelled.', 'AbortError');
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A signal for clean-up requests: unaffected by `run` until it aborts, then aborted
 * `graceMs` later. Without a run signal there is nothing to follow.
 */
export function cleanupSignal(
  run: AbortSignal | undefined,
  graceMs = CLEANUP_GRACE_MS,
): AbortSignal | undefined {
  if (!run) return undefined;
  if (run.aborted) return AbortSignal.timeout(graceMs);
  const controller = new AbortController();
  run.addEventListener(
    'abort',
    () => {
      const timer = setTimeout(
        () => controller.abort(new DOMException('The clean-up ran out of time.', 'TimeoutError')),
        graceMs,
      );
      timer.unref();
    },
    { once: true },
  );
  return controller.signal;
}
