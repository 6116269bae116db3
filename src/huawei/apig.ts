/**
 * JSON requests to APIs behind Huawei's API gateway (CPH, IAM), signed with SDK-HMAC-SHA256, over
 * the one request path (./request.ts).
 */
import type { ServiceName } from '../errors.js';
import type { HttpMethod } from '../http/transport.js';
import type { ClientContext } from './context.js';
import { huaweiRequest, readJsonObject } from './request.js';
import { signApigRequest } from './sign-apig.js';

export interface ApigCall {
  service: ServiceName;
  operation: string;
  method: HttpMethod;
  url: URL;
  body?: unknown;
  /** False: the request changes state; repeat it only when the service surely did not act. */
  idempotent: boolean;
  /**
   * A request already sent is finished even when the run is cancelled (a push cannot be
   * recalled, so its answer — the job ids — is worth having); no new attempt starts after it.
   */
  finishOnCancel?: boolean;
  /** No retry wait runs past this absolute time (ms since the epoch). */
  deadline?: number;
}

export interface ApigResult<T> {
  data: T;
  requestId: string | undefined;
}

/** A signed JSON call; the answer must be a JSON object. */
export async function apigRequest<T>(ctx: ClientContext, call: ApigCall): Promise<ApigResult<T>> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const response = await huaweiRequest(ctx, {
    service: call.service,
    operation: call.operation,
    method: call.method,
    url: call.url,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body,
    sign: (headers, credentials, now) =>
      signApigRequest({ method: call.method, url: call.url, headers, body }, credentials, now),
    idempotent: call.idempotent,
    finishOnCancel: call.finishOnCancel,
    deadline: call.deadline,
  });
  const { data, requestId } = readJsonObject(ctx, call, response);
  return { data: data as T, requestId };
}
