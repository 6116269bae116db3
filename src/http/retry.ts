/**
 * One retry loop for every request the action makes: exponential backoff with
 * full jitter (AWS's "Exponential Backoff And Jitter"), an injectable sleep and
 * random source so tests need not wait, and a server-provided delay
 * (Retry-After) honoured when it is longer than the computed one.
 */
import { errorMessage } from '../util/text.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  /** Backoff ceiling for attempt n is min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 };

export interface RetryDecision {
  retry: boolean;
  /** A delay the server asked for (Retry-After), in ms. */
  afterMs?: number;
}

export interface RetryHooks {
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The run's cancellation: no new attempt starts once it is aborted, and waits end at once. */
  signal?: AbortSignal;
  random?: () => number;
  /**
   * An absolute time (ms since the epoch, on `now`'s clock) past which no wait may run: a retry
   * whose wait would end after it is not made, and the last outcome stands (contract: a wait's
   * `wait-timeout` bounds every sleep, `Retry-After` included).
   */
  deadline?: number;
  /** The clock `deadline` is on; Date.now by default. */
  now?: () => number;
  /** Called before each wait; `attempt` is the attempt that just failed (1-based). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A wait that ends early, rejecting with the signal's reason, when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `attempt` until it returns a value that `judge` does not want retried,
 * or throws an error that `judge` does not want retried, or attempts run out.
 * The last result is returned (or the last error thrown) so callers can turn it
 * into a precise error message.
 */
export async function withRetry<T>(
  attemptFn: (attempt: number) => Promise<T>,
  judge: (outcome: { value: T } | { error: unknown }) => RetryDecision & { reason: string },
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    hooks.signal?.throwIfAborted();
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await attemptFn(attempt) };
    } catch (error) {
      outcome = { error };
    }
    const decision = judge(outcome);
    if (!decision.retry || attempt >= policy.maxAttempts) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    const delayMs = Math.max(
      backoffDelay(policy, attempt, hooks.random),
      Math.min(decision.afterMs ?? 0, 60_000),
    );
    if (hooks.deadline !== undefined && (hooks.now ?? Date.now)() + delayMs > hooks.deadline) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    hooks.onRetry?.({ attempt, delayMs, reason: decision.reason });
    await wait(delayMs, hooks.signal);
  }
}

/** What a failed attempt looked like, for the retry judges below. */
export type AttemptOutcome =
  | { value: { status: number; headers: Record<string, string> } }
  | { error: unknown };

function retryAfterMs(headers: Record<string, string>): number | undefined {
  const raw = headers['retry-after'];
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Reads and upload parts: safe to repeat, so retry network errors, timeouts,
 * 408, 429 and 5xx.
 */
export function judgeIdempotent(outcome: AttemptOutcome): RetryDecision & { reason: string } {
  if ('error' in outcome) {
    return { retry: isNetworkError(outcome.error), reason: errorMessage(outcome.error) };
  }
  const { status, headers } = outcome.value;
  const retry = status === 408 || status === 429 || status >= 500;
  return { retry, afterMs: retryAfterMs(headers), reason: `HTTP ${status}` };
}

/**
 * PushShareFiles: repeating a request the server may have acted on would push
 * twice, so retry only what the service promises it did not act on (429, 503)
 * and connections that failed before anything was sent.
 */
export function judgeNonIdempotent(outcome: AttemptOutcome): RetryDecision & { reason: string } {
  if ('error' in outcome) {
    const error = outcome.error;
    return {
      retry: isNetworkError(error) && !(error as { maybeSent: boolean }).maybeSent,
      reason: errorMessage(error),
    };
  }
  const { status, headers } = outcome.value;
  return {
    retry: status === 429 || status === 503,
    afterMs: retryAfterMs(headers),
    reason: `HTTP ${status}`,
  };
}

function isNetworkError(error: unknown): boolean {
  return error instanceof Error && error.name === 'NetworkError';
}
