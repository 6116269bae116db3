/**
 * What signed requests need from whoever holds the keys: the HTTP layer asks one provider before
 * every attempt. src/auth/ implements it (static keys, keyless sign-in that renews itself);
 * clients never know which.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary (STS) credentials; then it is sent and signed. */
  securityToken?: string;
}

/** How the run signed in, for the summary and the report file (nothing secret). */
export type SignInInfo =
  | { method: 'keys'; temporary: boolean }
  | { method: 'keyless'; identityProvider: string; subject?: string; audience?: string };

export interface CredentialsProvider {
  /** Credentials for the next request; a renewing provider renews first when near expiry. */
  get(signal?: AbortSignal): Promise<Credentials>;
  readonly info: SignInInfo;
}
