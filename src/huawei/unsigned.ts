/**
 * JSON requests that carry no AK/SK signature: the two IAM calls of keyless sign-in, which
 * authenticate with a Bearer ID token or an IAM token instead. The one request path
 * (./request.ts); safe to repeat, so retried like reads (network errors, 408, 429, 5xx). The
 * caller supplies the hint, since what to check depends on the call.
 */
import type { ClientContext } from './context.js';
import { huaweiRequest, readErrorBody, readJsonObject } from './request.js';

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
  const response = await huaweiRequest(ctx, {
    service: 'IAM',
    operation: call.operation,
    method: 'POST',
    url: call.url,
    headers: { 'Content-Type': 'application/json', ...call.headers },
    body: JSON.stringify(call.body),
    idempotent: true,
    hint: call.hint,
  });
  const { data, requestId } = readJsonObject(ctx, { service: 'IAM', operation: call.operation }, response);
  return { data: data as T, headers: response.headers, requestId };
}

/** IAM's error code and message, from either shape it answers (see readErrorBody). */
export function iamError(parsed: unknown): { code?: string; message?: string } {
  const { code, message } = readErrorBody({
    status: 0,
    headers: {},
    body: Buffer.from(JSON.stringify(parsed ?? null)),
  });
  const out: { code?: string; message?: string } = {};
  if (code) out.code = code;
  if (message) out.message = message;
  return out;
}
