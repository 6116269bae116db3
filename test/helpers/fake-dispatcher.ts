/**
 * A dispatcher for unit tests of the request path (src/huawei/*, src/http/transport.ts's
 * `send`): no socket, a script of answers or failures, and every request it was asked for kept
 * (method, path, headers, body read whole). It stands in for undici's `Dispatcher.request()` —
 * the only method `send` uses — so it imports nothing from undici. A ClientContext over it, with
 * fixed keys and no waiting between retries, comes from `fakeContext()`.
 */
import { staticCredentials } from '../../src/auth/credentials.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/http/retry.js';
import type { ClientContext } from '../../src/huawei/context.js';
import { Redactor } from '../../src/redact.js';
import { abortable } from '../../src/upload/cancel.js';

/** One scripted answer: status, headers (as undici gives them) and body. */
export interface FakeAnswer {
  status: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
  /** A body read chunk by chunk instead (it may wait on, or fail with, the request's signal). */
  stream?: (signal: AbortSignal | undefined) => AsyncIterable<Uint8Array>;
}

export interface FakeRequest {
  method: string;
  origin: string;
  /** Path and query, as sent. */
  path: string;
  headers: Record<string, string>;
  /** The body read whole as UTF-8; undefined when there was none. */
  body: string | undefined;
  /** The signal `send` handed over (aborted on timeout or cancel). */
  signal: AbortSignal | undefined;
}

/** An answer, a failure to throw (as undici's `request()` rejects), or a function of the request. */
export type FakeStep = FakeAnswer | Error | ((req: FakeRequest) => FakeAnswer | Error | Promise<FakeAnswer>);

export interface FakeDispatcher {
  /** Typed as undici's so it can go where a Dispatcher goes; only `request()` exists. */
  dispatcher: ClientContext['dispatcher'];
  /** Every request, in order. */
  requests: FakeRequest[];
  /** Appends steps to the script. */
  queue(...steps: FakeStep[]): FakeDispatcher;
}

async function readBody(body: unknown): Promise<string | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** An async iterable body with the `destroy()` that `send` calls on an oversized answer. */
function answerBody(body: Buffer) {
  return {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
    async *[Symbol.asyncIterator]() {
      if (body.length > 0) yield body;
    },
  };
}

/**
 * Answers requests from `steps` in order; past the end of the script, the `fallback` answers
 * (by default the test fails loudly: a request nobody expected).
 */
export function fakeDispatcher(steps: FakeStep[] = [], fallback?: FakeStep): FakeDispatcher {
  const script = [...steps];
  const requests: FakeRequest[] = [];
  const fake: FakeDispatcher = {
    requests,
    queue(...more) {
      script.push(...more);
      return fake;
    },
    dispatcher: {
      async request(options: {
        origin: string;
        path: string;
        method: string;
        headers: Record<string, string>;
        body?: unknown;
        signal?: AbortSignal;
      }) {
        const req: FakeRequest = {
          method: options.method,
          origin: String(options.origin),
          path: options.path,
          headers: { ...options.headers },
          body: await readBody(options.body),
          signal: options.signal,
        };
        requests.push(req);
        const step =
          script.shift() ??
          fallback ??
          new Error(`unexpected request #${requests.length}: ${req.method} ${req.path}`);
        const outcome =
          typeof step === 'function' ? await abortable(Promise.resolve(step(req)), options.signal) : step;
        if (outcome instanceof Error) throw outcome;
        const body = outcome.stream
          ? Object.assign(outcome.stream(options.signal), { destroy() {} })
          : answerBody(Buffer.from(outcome.body ?? ''));
        return { statusCode: outcome.status, headers: outcome.headers ?? {}, body };
      },
    } as unknown as ClientContext['dispatcher'],
  };
  return fake;
}

/** An error as undici's connector raises it, with the OS's code. */
export function osError(code: string, message = `connect ${code} 127.0.0.1:443`): Error {
  return Object.assign(new Error(message), { code });
}

/** A JSON answer (the gateway's `X-Request-Id` when `requestId` is given). */
export function jsonAnswer(status: number, data: unknown, requestId?: string): FakeAnswer {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return { status, headers, body: JSON.stringify(data) };
}

/** An XML answer, with OBS's request id header when given. */
export function xmlAnswer(status: number, xml: string, requestId?: string): FakeAnswer {
  const headers: Record<string, string> = { 'content-type': 'application/xml' };
  if (requestId !== undefined) headers['x-obs-request-id'] = requestId;
  return { status, headers, body: xml };
}

export const FAKE_KEYS = { accessKeyId: 'AKFAKE0000000000', secretAccessKey: 'fake-secret-key-0123456789' };

export interface FakeContext {
  ctx: ClientContext;
  fake: FakeDispatcher;
  /** Retry notices, in order. */
  logs: string[];
  /** Waits the retry loop asked for, in order (it does not wait). */
  sleeps: number[];
}

/** A ClientContext over a fake dispatcher: fixed keys (scrubbed), a fixed clock, no waiting. */
export function fakeContext(
  steps: FakeStep[] = [],
  options: {
    retry?: Partial<RetryPolicy>;
    timeoutMs?: number;
    signal?: AbortSignal;
    fallback?: FakeStep;
  } = {},
): FakeContext {
  const fake = fakeDispatcher(steps, options.fallback);
  const logs: string[] = [];
  const sleeps: number[] = [];
  const redactor = new Redactor();
  redactor.add(FAKE_KEYS.secretAccessKey);
  const ctx: ClientContext = {
    dispatcher: fake.dispatcher,
    credentials: staticCredentials({ ...FAKE_KEYS }),
    signal: options.signal,
    redactor,
    timeoutMs: options.timeoutMs ?? 10_000,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    hooks: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    },
    now: () => new Date('2026-01-02T03:04:05Z'),
    log: (message) => logs.push(message),
    userAgent: 'cph-publish/unit',
  };
  return { ctx, fake, logs, sleeps };
}
