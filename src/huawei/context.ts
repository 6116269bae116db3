/** What every Huawei client needs to make a request: plain values, no toolkit. */
import type { Dispatcher } from 'undici';
import type { RetryHooks, RetryPolicy } from '../http/retry.js';
import type { Redactor } from '../redact.js';
import type { Credentials } from './sign-apig.js';

export interface ClientContext {
  dispatcher: Dispatcher;
  credentials: Credentials;
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
