/**
 * JSON requests to APIs behind Huawei's API gateway (CPH, IAM), signed with
 * SDK-HMAC-SHA256, retried by policy, and failures turned into ServiceError.
 */
import { CancelledError, ServiceError, type ServiceName, SignInError } from '../errors.js';
import { hintFor } from '../hints.js';
import { type AttemptOutcome, judgeIdempotent, judgeNonIdempotent, withRetry } from '../http/retry.js';
import { type HttpMethod, type HttpResponse, NetworkError, send } from '../http/transport.js';
import { snippet } from '../util/text.js';
import { type ClientContext, retryHooks } from './context.js';
import { signApigRequest } from './sign-apig.js';

export interface ApigCall {
  service: ServiceName;
  operation: string;
  method: HttpMethod;
  url: URL;
  body?: unknown;
  /** `once`: the request changes state; repeat it only when the service surely did not act. */
  idempotent: boolean;
  /**
   * A request already sent is finished even when the run is cancelled (a push cannot be
   * recalled, so its answer — the job ids — is worth having); no new attempt starts after it.
   */
  finishOnCancel?: boolean;
}

export interface ApigResult<T> {
  data: T;
  requestId: string | undefined;
}

export async function apigRequest<T>(ctx: ClientContext, call: ApigCall): Promise<ApigResult<T>> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const judge = call.idempotent ? judgeIdempotent : judgeNonIdempotent;
  let response: HttpResponse;
  try {
    response = await withRetry(
      async () => {
        const headers: Record<string, string> = { 'User-Agent': ctx.userAgent };
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        const credentials = await ctx.credentials.get(ctx.signal);
        Object.assign(
          headers,
          signApigRequest(
            { method: call.method, url: call.url, headers, body },
            credentials,
            ctx.now?.() ?? new Date(),
          ),
        );
        return send(ctx.dispatcher, {
          method: call.method,
          url: call.url,
          headers,
          body,
          timeoutMs: ctx.timeoutMs,
          signal: call.finishOnCancel ? undefined : ctx.signal,
        });
      },
      (outcome) => judge(outcome as AttemptOutcome),
      ctx.retry,
      retryHooks(ctx, `${call.service} ${call.operation}`),
    );
  } catch (error) {
    throw networkFailure(ctx, call, error);
  }
  const requestId = response.headers['x-request-id'];
  const parsed = parseJson(response.body);
  if (response.status < 200 || response.status >= 300) {
    throw apigFailure(ctx, call, response, parsed);
  }
  if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
    throw new ServiceError({
      service: call.service,
      operation: call.operation,
      status: response.status,
      requestId,
      detail: `the answer is not a JSON object: ${ctx.redactor.redact(snippet(response.body.toString('utf8')))}`,
      hint: 'a proxy or gateway may be answering instead of the service: check the endpoint inputs and proxy settings',
    });
  }
  const bodyRequestId = (parsed as { request_id?: unknown }).request_id;
  return { data: parsed as T, requestId: typeof bodyRequestId === 'string' ? bodyRequestId : requestId };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Reads both error shapes the SDKs accept: `{error_code, error_msg}` and `{error: {code, message}}`. */
function apigFailure(
  ctx: ClientContext,
  call: ApigCall,
  response: HttpResponse,
  parsed: unknown,
): ServiceError {
  const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const nested = (obj.error && typeof obj.error === 'object' ? obj.error : {}) as Record<string, unknown>;
  const code = str(obj.error_code) ?? str(nested.code);
  const message = str(obj.error_msg) ?? str(nested.message) ?? snippet(response.body.toString('utf8'));
  const requestId = str(obj.request_id) ?? response.headers['x-request-id'];
  return new ServiceError({
    service: call.service,
    operation: call.operation,
    status: response.status,
    code,
    requestId,
    detail: ctx.redactor.redact(message),
    hint: hintFor(call.service, response.status, code),
  });
}

function networkFailure(ctx: ClientContext, call: ApigCall, error: unknown): Error {
  // A failed keyless renewal (before this request was signed) keeps its own message and hint.
  if (error instanceof ServiceError || error instanceof CancelledError || error instanceof SignInError)
    return error;
  const detail = error instanceof Error ? error.message : String(error);
  const unsure = error instanceof NetworkError && error.maybeSent && !call.idempotent;
  return new ServiceError({
    service: call.service,
    operation: call.operation,
    detail: ctx.redactor.redact(
      unsure ? `${detail}; the request may have reached the service, so it was not repeated` : detail,
    ),
    hint: hintFor(call.service, undefined, undefined),
    cause: error,
  });
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
