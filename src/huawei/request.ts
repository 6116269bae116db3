/**
 * The one request path of every Huawei call (CPH, IAM, OBS; signed or not): sign each attempt
 * with fresh credentials, send, classify, retry by policy, and turn any failure into one
 * ServiceError carrying service, operation, HTTP status, error code, request id and a hint.
 * Clients (CphClient, IamClient, ObsClient) are small classes over it.
 */
import { CancelledError, ServiceError, type ServiceName, SignInError } from '../errors.js';
import { answerHint, hintFor } from '../hints.js';
import { type AttemptOutcome, judgeIdempotent, judgeNonIdempotent, withRetry } from '../http/retry.js';
import {
  type BodySource,
  type HttpMethod,
  type HttpResponse,
  NetworkError,
  send,
} from '../http/transport.js';
import { errorMessage, snippet } from '../util/text.js';
import { type ClientContext, retryHooks } from './context.js';
import type { Credentials, CredentialsProvider } from './credentials.js';

/** Unsigned calls (how keyless sign-in gets its credentials) run without a provider. */
export type RequestContext = Omit<ClientContext, 'credentials'> & { credentials?: CredentialsProvider };

export interface HuaweiCall {
  service: ServiceName;
  operation: string;
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  body?: string | Uint8Array | BodySource;
  /** The signature headers of one attempt; without it the request goes unsigned. */
  sign?: (headers: Record<string, string>, credentials: Credentials, now: Date) => Record<string, string>;
  /** False: the request changes state; repeat it only when the service surely did not act. */
  idempotent: boolean;
  /**
   * A request already sent is finished even when the run is cancelled (a push cannot be
   * recalled, so its answer is worth having); no new attempt starts after it.
   */
  finishOnCancel?: boolean;
  /** Statuses that are answers, not failures (HEAD's 404). */
  accept?: number[];
  /**
   * A 2xx that is a failure all the same (OBS's `<Error>` inside a 200), retried when idempotent:
   * what it has, for the retry notice (`with an <Error> body`), or undefined when it is fine.
   */
  failsDespiteStatus?: (response: HttpResponse) => string | undefined;
  /** Deadline of one attempt; the context's API deadline by default. */
  timeoutMs?: number;
  /** No retry wait runs past this absolute time (ms since the epoch). */
  deadline?: number;
  /** Called before each repeated attempt (an upload undoes its progress there). */
  onRetry?: () => void;
  /** What to check next; `hintFor` by default. */
  hint?: (status: number | undefined, code: string | undefined) => string | undefined;
}

/** Sends `call` until it succeeds or must stop; returns a 2xx (or accepted) answer, else throws ServiceError. */
export async function huaweiRequest(ctx: RequestContext, call: HuaweiCall): Promise<HttpResponse> {
  const base = call.idempotent ? judgeIdempotent : judgeNonIdempotent;
  const hooks = retryHooks(ctx, `${call.service} ${call.operation}`, call.onRetry);
  if (call.deadline !== undefined) hooks.deadline = call.deadline;
  let response: HttpResponse;
  try {
    response = await withRetry(
      async () => {
        const headers: Record<string, string> = { 'User-Agent': ctx.userAgent, ...call.headers };
        if (call.sign) {
          if (!ctx.credentials) throw new Error(`${call.operation} is signed but no credentials were given`);
          const credentials = await ctx.credentials.get(ctx.signal);
          Object.assign(headers, call.sign(headers, credentials, ctx.now?.() ?? new Date()));
        }
        return send(ctx.dispatcher, {
          method: call.method,
          url: call.url,
          headers,
          body: call.body,
          timeoutMs: call.timeoutMs ?? ctx.timeoutMs,
          signal: call.finishOnCancel ? undefined : ctx.signal,
        });
      },
      (outcome) => {
        const decision = base(outcome as AttemptOutcome);
        const failure = 'value' in outcome ? failsDespite(call, outcome.value) : undefined;
        if ('value' in outcome && !decision.retry && call.idempotent && failure) {
          return { retry: true, reason: `HTTP ${outcome.value.status} ${failure}` };
        }
        return decision;
      },
      ctx.retry,
      hooks,
    );
  } catch (error) {
    throw networkFailure(ctx, call, error);
  }
  const ok = response.status >= 200 && response.status < 300 && failsDespite(call, response) === undefined;
  if (!ok && !call.accept?.includes(response.status)) throw serviceFailure(ctx, call, response);
  return response;
}

function failsDespite(call: HuaweiCall, response: HttpResponse): string | undefined {
  return response.status >= 200 && response.status < 300 ? call.failsDespiteStatus?.(response) : undefined;
}

/** A failure before any answer: the credentials' own failure, a cancel, or the network. */
function networkFailure(ctx: RequestContext, call: HuaweiCall, error: unknown): Error {
  // A failed keyless renewal (before this request was signed) keeps its own message and hint.
  if (error instanceof ServiceError || error instanceof CancelledError || error instanceof SignInError)
    return error;
  const detail = errorMessage(error);
  const unsure = error instanceof NetworkError && error.maybeSent && !call.idempotent;
  return new ServiceError({
    service: call.service,
    operation: call.operation,
    detail: ctx.redactor.redact(
      unsure ? `${detail}; the request may have reached the service, so it was not repeated` : detail,
    ),
    hint: (call.hint ?? defaultHint(call.service))(undefined, undefined),
    cause: error,
  });
}

function defaultHint(service: ServiceName) {
  return (status: number | undefined, code: string | undefined) => hintFor(service, status, code);
}

/** An answer the service gave as a failure, read from whichever error shape it has. */
function serviceFailure(
  ctx: Pick<RequestContext, 'redactor'>,
  call: Pick<HuaweiCall, 'service' | 'operation' | 'hint'>,
  response: HttpResponse,
): ServiceError {
  const { code, message, requestId } = readErrorBody(response);
  const text = response.body.toString('utf8');
  return new ServiceError({
    service: call.service,
    operation: call.operation,
    status: response.status,
    code,
    requestId,
    detail: ctx.redactor.redact(message ?? code ?? (text.trim() ? snippet(text) : 'the answer has no body')),
    hint: (call.hint ?? defaultHint(call.service))(response.status, code),
  });
}

/**
 * The error of any Huawei answer: the gateway's `{error_code, error_msg, request_id}`, IAM's
 * `{error: {code, message}}` (a numeric code only repeats the status and is left out), OBS's
 * `<Error><Code/><Message/><RequestId/></Error>`, and the headers a body-less answer (HEAD) has.
 */
export function readErrorBody(response: HttpResponse): {
  code?: string;
  message?: string;
  requestId?: string;
} {
  const text = response.body.toString('utf8');
  const json = parseJson(text);
  const obj = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const nested = (obj.error && typeof obj.error === 'object' ? obj.error : {}) as Record<string, unknown>;
  const xml = json === undefined && xmlRoot(text) === 'Error' ? text : '';
  const h = response.headers;
  const out: { code?: string; message?: string; requestId?: string } = {};
  const code =
    nonEmptyString(obj.error_code) ??
    nonEmptyString(nested.code) ??
    nonEmptyString(xmlText(xml, 'Code')) ??
    nonEmptyString(h['x-obs-error-code']);
  const message =
    nonEmptyString(obj.error_msg) ??
    nonEmptyString(nested.message) ??
    nonEmptyString(xmlText(xml, 'Message')) ??
    nonEmptyString(h['x-obs-error-message']);
  const requestId =
    nonEmptyString(obj.request_id) ??
    nonEmptyString(xmlText(xml, 'RequestId')) ??
    nonEmptyString(h['x-request-id']) ??
    nonEmptyString(h['x-obs-request-id']);
  if (code) out.code = code;
  if (message) out.message = message;
  if (requestId) out.requestId = requestId;
  return out;
}

/** The JSON object of a 2xx answer and its request id (body `request_id`, else `X-Request-Id`). */
export function readJsonObject(
  ctx: RequestContext,
  call: Pick<HuaweiCall, 'service' | 'operation'>,
  response: HttpResponse,
): { data: Record<string, unknown>; requestId: string | undefined } {
  const text = response.body.toString('utf8');
  const parsed = parseJson(text);
  const headerId = nonEmptyString(response.headers['x-request-id']);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw unexpectedAnswer(
      ctx,
      call,
      { status: response.status, requestId: headerId },
      `the answer is not a JSON object: ${snippet(text)}`,
    );
  }
  const data = parsed as Record<string, unknown>;
  return { data, requestId: nonEmptyString(data.request_id) ?? headerId };
}

/** A 2xx answer that lacks what the API promises: something else may be answering. */
export function unexpectedAnswer(
  ctx: Pick<RequestContext, 'redactor'>,
  call: Pick<HuaweiCall, 'service' | 'operation'>,
  answer: { status?: number; requestId?: string | undefined },
  detail: string,
): ServiceError {
  return new ServiceError({
    service: call.service,
    operation: call.operation,
    status: answer.status,
    requestId: answer.requestId,
    detail: ctx.redactor.redact(detail),
    hint: answerHint(call.service),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The value when it is a non-empty string. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The text of the first `<Name>` element, whatever namespace prefix or default namespace is used. */
export function xmlText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`).exec(
    xml,
  );
  return match?.[1] === undefined ? undefined : decodeXml(match[1].trim());
}

/** The contents of every `<Name>` element, in order (for repeated elements such as `<Upload>`). */
export function xmlElements(xml: string, name: string): string[] {
  const re = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (entity, name: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[name.toLowerCase()]) return named[name.toLowerCase()] as string;
    const code =
      name[1]?.toLowerCase() === 'x'
        ? Number.parseInt(name.slice(2), 16)
        : Number.parseInt(name.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}

/** The root element's local name, or undefined when the body is not XML. */
export function xmlRoot(xml: string): string | undefined {
  return /<(?:[\w.-]+:)?([\w.-]+)[\s>/]/.exec(
    xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, ''),
  )?.[1];
}
