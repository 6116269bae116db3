/**
 * JSON requests that carry no AK/SK signature: the two IAM calls of keyless sign-in, which
 * authenticate with a Bearer ID token or an IAM token instead. Same transport, retry policy and
 * error type as signed requests; safe to repeat, so retried like reads (network errors, 408,
 * 429, 5xx). The caller supplies the hint, since what to check depends on the call.
 */
import { CancelledError, ServiceError } from '../errors.js';
import { type AttemptOutcome, judgeIdempotent, withRetry } from '../http/retry.js';
import { type HttpResponse, send } from '../http/transport.js';
import { snippet } from '../util/text.js';
import { type ClientContext, retryHooks } from './context.js';

/** Everything a client needs but credentials: these requests are how credentials are obtained. */
export type UnsignedContext = Omit<ClientContext, 'credentials'>;

export interface UnsignedCall {
  operation: string;
  url: URL;
  /** Authentication headers (`Authorization: Bearer …`, `X-Auth-Token`): secrets, never logged. */
  headers: Record<string, string>;
  body: unknown;
  /** What to check next, from the HTTP status and IAM's error code. */
  hint: (status: number | undefined, code: string | undefined) => string | undefined;
}

export interface UnsignedResult<T> {
  data: T;
  /** Lower-case names. */
  headers: Record<string, string>;
  requestId: string | undefined;
}

export async function unsignedPost<T>(ctx: UnsignedContext, call: UnsignedCall): Promise<UnsignedResult<T>> {
  const body = JSON.stringify(call.body);
  let response: HttpResponse;
  try {
    response = await withRetry(
      () =>
        send(ctx.dispatcher, {
          method: 'POST',
          url: call.url,
          headers: { 'User-Agent': ctx.userAgent, 'Content-Type': 'application/json', ...call.headers },
          body,
          timeoutMs: ctx.timeoutMs,
          signal: ctx.signal,
        }),
      (outcome) => judgeIdempotent(outcome as AttemptOutcome),
      ctx.retry,
      retryHooks(ctx as ClientContext, `IAM ${call.operation}`),
    );
  } catch (error) {
    if (error instanceof CancelledError) throw error;
    throw new ServiceError({
      service: 'IAM',
      operation: call.operation,
      detail: ctx.redactor.redact(error instanceof Error ? error.message : String(error)),
      hint: call.hint(undefined, undefined),
      cause: error,
    });
  }
  const parsed = parseJson(response.body);
  const requestId = response.headers['x-request-id'];
  if (response.status < 200 || response.status >= 300) {
    const { code, message } = iamError(parsed);
    throw new ServiceError({
      service: 'IAM',
      operation: call.operation,
      status: response.status,
      code,
      requestId,
      detail: ctx.redactor.redact(message ?? snippet(response.body.toString('utf8'))),
      hint: call.hint(response.status, code),
    });
  }
  if (!parsed || typeof parsed !== 'object') {
    throw new ServiceError({
      service: 'IAM',
      operation: call.operation,
      status: response.status,
      requestId,
      detail: `the answer is not a JSON object: ${ctx.redactor.redact(snippet(response.body.toString('utf8')))}`,
      hint: 'a proxy or gateway may be answering instead of IAM: check iam-endpoint and the proxy settings',
    });
  }
  return { data: parsed as T, headers: response.headers, requestId };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * IAM answers `{"error": {"code": 401, "message", "title"}}` (Keystone; the code is a number)
 * or `{"error_code", "error_msg"}` (gateway). A numeric code only repeats the HTTP status, so it
 * is left out.
 */
export function iamError(parsed: unknown): { code?: string; message?: string } {
  const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const nested = (obj.error && typeof obj.error === 'object' ? obj.error : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const out: { code?: string; message?: string } = {};
  const code = text(obj.error_code) ?? text(nested.code);
  const message = text(obj.error_msg) ?? text(nested.message);
  if (code) out.code = code;
  if (message) out.message = message;
  return out;
}
