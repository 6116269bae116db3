/**
 * A ClientContext for in-process tests of the clients and the upload against the emulator: the
 * action's own dispatcher, the emulator's credentials, no waiting between retries, and every
 * retry notice kept.
 */
import type { Dispatcher } from 'undici';
import { staticCredentials } from '../../src/auth/credentials.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/http/retry.js';
import { createDispatcher } from '../../src/http/transport.js';
import type { ClientContext } from '../../src/huawei/context.js';
import { Redactor } from '../../src/redact.js';
import { DEFAULT_CREDENTIALS } from '../emulator/index.js';

export interface TestContext {
  ctx: ClientContext;
  /** Retry notices, in order. */
  logs: string[];
  /** Delays the retry loop asked to sleep, in order (it does not sleep). */
  sleeps: number[];
  close(): Promise<void>;
}

export function testContext(
  options: { timeoutMs?: number; retry?: Partial<RetryPolicy>; dispatcher?: Dispatcher } = {},
): TestContext {
  const logs: string[] = [];
  const sleeps: number[] = [];
  const dispatcher = options.dispatcher ?? createDispatcher();
  const redactor = new Redactor();
  redactor.add(DEFAULT_CREDENTIALS.secretAccessKey);
  const ctx: ClientContext = {
    dispatcher,
    credentials: staticCredentials({ ...DEFAULT_CREDENTIALS }),
    redactor,
    timeoutMs: options.timeoutMs ?? 10_000,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    hooks: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    },
    log: (message) => logs.push(message),
    userAgent: 'cph-publish/test',
  };
  return { ctx, logs, sleeps, close: () => dispatcher.close() };
}
