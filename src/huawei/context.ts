/** What every Huawei client needs to make a request: plain values, no toolkit. */
import type { Dispatcher } from 'undici';
import type { RetryHooks, RetryPolicy } from '../http/retry.js';
import type { Redactor } from '../redact.js';
import type { CredentialsProvider } from './credentials.js';

export interface ClientContext {
  dispatcher: Dispatcher;
  /** Asked before every signed attempt, so renewed credentials take effect at once. */
  credentials: CredentialsProvider;
  /** The run's cancellation: requests and retry waits end at once when it aborts. */
  signal?: AbortSignal;
  redactor: Redactor;
  /** Deadline of one API request (not of an upload part). */
  timeoutMs: number;
  retry: RetryPolicy;
  hooks?: RetryHooks;
  /** Clock for signatures; tests shift it. */
  now?: () => Date;
  /** Where retry notices go (the action: core.info). */
  log?: (message: string) => void;
  userAgent: string;
}

/**
 * The retry hooks every client uses: each retry is logged as
 * `<label>: <reason>; retrying in 1.2 s (attempt 2 of 5)`, scrubbed of secrets,
 * after `beforeEach` (an upload undoes its progress there).
 */
export function retryHooks(
  ctx: Omit<ClientContext, 'credentials'>,
  label: string,
  beforeEach?: () => void,
): RetryHooks {
  return {
    signal: ctx.signal,
    ...ctx.hooks,
    onRetry: (info) => {
      beforeEach?.();
      ctx.log?.(
        `${label}: ${ctx.redactor.redact(info.reason)}; retrying in ${(info.delayMs / 1000).toFixed(1)} s ` +
          `(attempt ${info.attempt + 1} of ${ctx.retry.maxAttempts})`,
      );
      ctx.hooks?.onRetry?.(info);
    },
  };
}
