/**
 * Keyless sign-in: the job's GitHub OIDC ID token is exchanged with IAM for an unscoped token
 * (identity provider of protocol `oidc`), and that for temporary AK/SK/token, which sign every
 * later request. Credentials renew themselves before any request once less than a quarter of
 * their lifetime (at most 10 minutes) is left, so a wait of hours never meets an expired key.
 */
import { SignInError } from '../errors.js';
import type { Credentials, CredentialsProvider, SignInInfo } from '../huawei/credentials.js';
import { IamClient } from '../huawei/iam.js';
import { nonEmptyString } from '../huawei/request.js';
import type { UnsignedContext } from '../huawei/unsigned.js';
import { errorMessage, pluralWord } from '../util/text.js';
import { decodeIdTokenClaims, type IdTokenClaims } from './id-token-claims.js';
import { needsRenewal } from './renewal.js';

/** The variables the runner sets when the job has `permissions: id-token: write`. */
const ID_TOKEN_VARIABLES = ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'] as const;

const GITHUB_JWKS_URL = 'https://token.actions.githubusercontent.com/.well-known/jwks';

/** Asked of IAM; it may grant less, and the renewal follows what it grants. */
const CREDENTIALS_DURATION_SECONDS = 3600;

/** Without an ID token there is nothing to sign in with: say why before any request is made. */
export function checkIdTokenEnvironment(env: NodeJS.ProcessEnv): void {
  const missing = ID_TOKEN_VARIABLES.filter((name) => !env[name]);
  if (missing.length === 0) return;
  throw new SignInError(
    `keyless sign-in (identity-provider) needs a GitHub ID token, but ${missing.join(' and ')} ${pluralWord(missing.length, 'is', 'are')} not set`,
    'add `permissions: id-token: write` to the job (or the workflow); pull requests from forks get no ID token, ' +
      'so run the publish job on tags or branches of this repository, or sign in with access-key-id and secret-access-key',
  );
}

export interface KeylessOptions {
  identityProvider: string;
  /** Empty or undefined: GitHub's default audience. */
  audience: string | undefined;
  iamEndpoint: URL;
  /** `@actions/core` getIDToken in the action; called without an argument when there is no audience. */
  getIdToken: (audience?: string) => Promise<string>;
  /** Masks a secret everywhere at once (the action: core.setSecret and the Redactor). */
  onSecret: (value: string) => void;
  /** Clock for renewal decisions, ms; tests move it. */
  now?: () => number;
  /** Sign-in and renewal notices (the action: core.info). */
  log?: (message: string) => void;
}

interface Held {
  credentials: Credentials;
  obtainedAt: number;
  expiresAt: number;
}

interface SecurityTokensAnswer {
  credential?: { access?: unknown; secret?: unknown; securitytoken?: unknown; expires_at?: unknown };
}

export function keylessCredentials(ctx: UnsignedContext, options: KeylessOptions): CredentialsProvider {
  const now = options.now ?? Date.now;
  const audience = options.audience || undefined;
  const iam = new IamClient(ctx, options.iamEndpoint);
  let held: Held | undefined;
  let pending: Promise<Held> | undefined;
  let claims: IdTokenClaims = {};

  const info: SignInInfo & { method: 'keyless' } = {
    method: 'keyless',
    identityProvider: options.identityProvider,
  };

  /** What to check when IAM refuses: everything the refusal can come from, with the token's claims. */
  const refusalHint = () =>
    `IAM refused the GitHub ID token: check identity provider '${options.identityProvider}' in IAM ` +
    `(protocol OpenID Connect, programmatic access enabled, identity provider URL https://token.actions.githubusercontent.com), ` +
    `that its client ID equals the token's aud '${claims.aud ?? '(unknown)'}'` +
    `${audience ? ' (the audience input)' : " (GitHub's default audience; set the audience input to the client ID)"}, ` +
    `that its signing keys are GitHub's current keys from ${GITHUB_JWKS_URL}, ` +
    `and that a mapping rule matches the token's sub '${claims.sub ?? '(unknown)'}'`;

  const hint = (status: number | undefined, code: string | undefined): string | undefined => {
    if (status === 401 || status === 403) return refusalHint();
    if (status === 404)
      return `identity provider '${options.identityProvider}' or its OpenID Connect protocol was not found: check identity-provider and iam-endpoint`;
    if (status === undefined)
      return "check iam-endpoint, the network and the runner's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)";
    if (status >= 500 || status === 429) return 'IAM failed or throttled the sign-in; run again later';
    return code ? undefined : 'check identity-provider and iam-endpoint';
  };

  async function idToken(): Promise<string> {
    let token: string;
    try {
      token = audience === undefined ? await options.getIdToken() : await options.getIdToken(audience);
    } catch (error) {
      throw new SignInError(
        `cannot get an ID token from GitHub: ${errorMessage(error)}`,
        'check that the job has `permissions: id-token: write`, and that the audience input is the client ID of the identity provider',
        { cause: error },
      );
    }
    options.onSecret(token);
    return token;
  }

  async function signIn(): Promise<Held> {
    const token = await idToken();
    claims = decodeIdTokenClaims(token);
    if (claims.sub !== undefined) info.subject = claims.sub;
    if (claims.aud !== undefined) info.audience = claims.aud;

    const federation = await iam.unscopedToken(options.identityProvider, token, hint);
    const unscoped = federation.headers['x-subject-token'];
    if (!unscoped) {
      throw new SignInError(
        `IAM CreateUnscopedTokenWithIdToken answered without an X-Subject-Token header${federation.requestId ? ` (request id ${federation.requestId})` : ''}`,
        'a proxy may be removing response headers: check iam-endpoint and the proxy settings',
      );
    }
    options.onSecret(unscoped);

    const answer = await iam.temporaryCredentials(unscoped, CREDENTIALS_DURATION_SECONDS, hint);
    const c = (answer.data as SecurityTokensAnswer).credential;
    const accessKeyId = nonEmptyString(c?.access);
    const secretAccessKey = nonEmptyString(c?.secret);
    const securityToken = nonEmptyString(c?.securitytoken);
    // Masked before anything else can show them, even when the answer is incomplete.
    for (const secret of [accessKeyId, secretAccessKey, securityToken]) if (secret) options.onSecret(secret);
    const serverExpiry = Date.parse(nonEmptyString(c?.expires_at) ?? '');
    if (!accessKeyId || !secretAccessKey || !securityToken || Number.isNaN(serverExpiry)) {
      throw new SignInError(
        `IAM CreateTemporaryAccessKeyByToken answered without access, secret, securitytoken and expires_at${answer.requestId ? ` (request id ${answer.requestId})` : ''}`,
        'check iam-endpoint: it must be the IAM endpoint of the region',
      );
    }
    const obtainedAt = now();
    return {
      credentials: { accessKeyId, secretAccessKey, securityToken },
      obtainedAt,
      expiresAt: localExpiry(serverExpiry, answer.headers.date, obtainedAt),
    };
  }

  function renew(): Promise<Held> {
    // Concurrent requests (upload parts, batches) share one sign-in.
    pending ??= (async () => {
      try {
        const renewing = held !== undefined;
        const next = await signIn();
        held = next;
        const until = new Date(next.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
        options.log?.(
          renewing
            ? `Renewed the temporary credentials through identity provider ${options.identityProvider} (valid until ${until})`
            : `Signed in without keys through identity provider ${options.identityProvider} as ${claims.sub ?? '(no sub claim)'} ` +
                `(audience ${claims.aud ?? '(none)'}); temporary credentials valid until ${until}`,
        );
        return next;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  }

  return {
    info,
    async get(signal?: AbortSignal): Promise<Credentials> {
      signal?.throwIfAborted();
      if (held && !needsRenewal(now(), held.obtainedAt, held.expiresAt)) return held.credentials;
      return (await renew()).credentials;
    },
  };
}

/**
 * The expiry on our clock. IAM states it on its own clock; its `Date` header tells how far that is
 * from ours, so a runner whose clock is a few minutes off still renews in time. The header has
 * whole seconds: one second is taken off to stay on the safe side.
 */
export function localExpiry(serverExpiry: number, dateHeader: string | undefined, localNow: number): number {
  const serverNow = dateHeader ? Date.parse(dateHeader) : Number.NaN;
  if (Number.isNaN(serverNow)) return serverExpiry;
  return localNow + (serverExpiry - serverNow) - 1000;
}
