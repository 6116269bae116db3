/**
 * What the unsigned IAM calls of keyless sign-in (IamClient) run with: they are how credentials
 * are obtained, so they have none.
 */
import type { ClientContext } from './context.js';
import { readErrorBody } from './request.js';

/** Everything a client needs but credentials: these requests are how credentials are obtained. */
export type UnsignedContext = Omit<ClientContext, 'credentials'>;

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
