/**
 * Where signed requests get their keys: one provider the HTTP clients ask before
 * every attempt. Static keys never change; keyless sign-in (src/auth/keyless.ts)
 * renews itself. Clients never know which.
 */
import type { Credentials } from '../huawei/sign-apig.js';

export type { Credentials };

/** How the run signed in, for the summary and the report file (nothing secret). */
export type SignInInfo =
  | { method: 'keys'; temporary: boolean }
  | { method: 'keyless'; identityProvider: string; subject?: string; audience?: string };

export interface CredentialsProvider {
  /** Credentials for the next request; a renewing provider renews first when near expiry. */
  get(signal?: AbortSignal): Promise<Credentials>;
  readonly info: SignInInfo;
}

/** AK/SK (and token) from the inputs or the environment. */
export function staticCredentials(credentials: Credentials): CredentialsProvider {
  const ready = Promise.resolve(credentials);
  return {
    get: () => ready,
    info: { method: 'keys', temporary: credentials.securityToken !== undefined },
  };
}
