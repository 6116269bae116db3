/**
 * Static keys: the simplest CredentialsProvider (the interface lives with the clients, in
 * src/huawei/credentials.ts); keyless sign-in (src/auth/keyless.ts) is the other.
 */
import type { Credentials, CredentialsProvider } from '../huawei/credentials.js';

/** AK/SK (and token) from the inputs or the environment. */
export function staticCredentials(credentials: Credentials): CredentialsProvider {
  const ready = Promise.resolve(credentials);
  return {
    get: () => ready,
    info: { method: 'keys', temporary: credentials.securityToken !== undefined },
  };
}
