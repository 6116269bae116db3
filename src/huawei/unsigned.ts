/**
 * What the unsigned IAM calls of keyless sign-in (IamClient) run with: they are how credentials
 * are obtained, so they have none.
 */
import type { ClientContext } from './context.js';

/** Everything a client needs but credentials: these requests are how credentials are obtained. */
export type UnsignedContext = Omit<ClientContext, 'credentials'>;
