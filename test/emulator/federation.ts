/**
 * IAM federation for keyless sign-in, unsigned like the real calls:
 *   POST /v3/OS-FEDERATION/identity_providers/{idp}/protocols/oidc/auth  (Bearer ID token)
 *     → 201, unscoped token in X-Subject-Token;
 *   POST /v3.0/OS-CREDENTIAL/securitytokens  (X-Auth-Token)
 *     → 201 {"credential": {access, secret, securitytoken, expires_at}}.
 * The ID token is checked as IAM does: signature against the provider's pasted signing keys,
 * issuer, audience = client ID, expiry, then a mapping rule on the claims. Temporary credentials
 * join the accepted credentials with an expiry; requests signed with them after it are refused.
 */
import { randomBytes } from 'node:crypto';
import { GITHUB_ISSUER } from './github-oidc.js';
import { type Jwks, verifyJwtSignature } from './jwt.js';
import type { Credential, EmulatorSettings, HandlerResponse } from './types.js';

/** One condition of a mapping rule, in the Keystone form IAM uses. */
export interface RemoteCondition {
  /** The claim, e.g. `sub`, `repository`, `ref`. */
  type: string;
  any_one_of?: string[];
  not_any_of?: string[];
  /** Values are regular expressions matched against the whole claim. */
  regex?: boolean;
}

export interface MappingRule {
  local: Array<{ user?: { name: string }; group?: { name: string } }>;
  remote: RemoteCondition[];
}

/** An IAM identity provider of protocol `oidc` with programmatic access. */
export interface IdentityProviderDef {
  id: string;
  /** Identity provider URL (the `iss` expected); default GitHub's. */
  issuer?: string;
  /** The client ID: the only `aud` accepted. */
  clientId: string;
  /** The pasted signing keys; default GitHub's JWKS as it was when the emulator started. */
  signingKeys?: Jwks;
  rules: MappingRule[];
  /** Default true. */
  enabled?: boolean;
  /** `program` (API) or `program_console`; `console` alone refuses API sign-in. Default `program`. */
  accessType?: 'program' | 'program_console' | 'console';
}

export const DEFAULT_IDENTITY_PROVIDER_ID = 'github-actions';

/** The default provider: GitHub's default audience for owner `example`, tags of `example/game`. */
export function defaultIdentityProvider(): IdentityProviderDef {
  return {
    id: DEFAULT_IDENTITY_PROVIDER_ID,
    clientId: 'https://github.com/example',
    rules: [
      {
        local: [{ user: { name: 'github-release' } }, { group: { name: 'cph-publishers' } }],
        remote: [{ type: 'sub', any_one_of: ['repo:example/game:ref:refs/tags/.*'], regex: true }],
      },
    ],
  };
}

/** Temporary credentials handed out, with what they were obtained from. */
export interface IssuedCredential extends Required<Omit<Credential, 'expiresAt'>> {
  expiresAt: number;
  unscopedToken: string;
  identityProvider: string;
  subject: string;
}

interface UnscopedToken {
  expiresAt: number;
  identityProvider: string;
  user: string;
  subject: string;
}

/** IAM's Keystone-style error body: `{"error": {"code": 401, "message", "title"}}`. */
export function keystoneError(status: number, message: string, detail?: string): HandlerResponse {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    500: 'Internal Server Error',
  };
  return {
    status,
    errorCode: String(status),
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: JSON.stringify({
      error: {
        code: status,
        message: detail ? `${message} ${detail}` : message,
        title: titles[status] ?? '',
      },
    }),
  };
}

/** IAM's `expires_at`: ISO 8601 UTC with microseconds, `2026-11-30T14:39:50.123000Z`. */
export function iamTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function claimText(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v));
  return value === undefined || value === null ? [] : [String(value)];
}

function conditionHolds(condition: RemoteCondition, claims: Record<string, unknown>): boolean {
  const values = claimText(claims[condition.type]);
  if (values.length === 0) return false;
  const matches = (pattern: string) =>
    values.some((v) => (condition.regex ? new RegExp(`^(?:${pattern})$`).test(v) : v === pattern));
  if (condition.any_one_of && !condition.any_one_of.some(matches)) return false;
  if (condition.not_any_of?.some(matches)) return false;
  return true;
}

/** The first rule whose every remote condition holds, as IAM's mapping engine picks it. */
export function matchRule(rules: MappingRule[], claims: Record<string, unknown>): MappingRule | undefined {
  return rules.find((rule) => rule.remote.length > 0 && rule.remote.every((c) => conditionHolds(c, claims)));
}

const UNAUTHORIZED = 'The request you have made requires authentication.';
const FORBIDDEN = 'You are not authorized to perform the requested action.';

export class Federation {
  readonly providers: IdentityProviderDef[] = [];
  readonly issued: IssuedCredential[] = [];
  readonly unscopedTokens = new Map<string, UnscopedToken>();

  constructor(
    private readonly settings: EmulatorSettings,
    private readonly credentials: Credential[],
    private readonly clock: () => number,
  ) {}

  reset(providers: IdentityProviderDef[]): void {
    this.providers.splice(0, this.providers.length, ...providers);
    this.issued.length = 0;
    this.unscopedTokens.clear();
  }

  /** Every secret handed out so far (unscoped tokens, temporary AK, SK, token), for secret scans. */
  secrets(): string[] {
    return [
      ...this.unscopedTokens.keys(),
      ...this.issued.flatMap((c) => [c.accessKeyId, c.secretAccessKey, c.securityToken]),
    ];
  }

  /** `POST /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`. */
  authenticate(idpId: string, protocol: string, authorization: string | undefined): HandlerResponse {
    const provider = this.providers.find((p) => p.id === idpId);
    if (!provider) return keystoneError(404, `Could not find identity provider: ${idpId}.`);
    if (protocol !== 'oidc') return keystoneError(404, `Could not find protocol: ${protocol}.`);
    if (provider.enabled === false) return keystoneError(403, FORBIDDEN, '(identity provider disabled)');
    if (provider.accessType === 'console')
      return keystoneError(403, FORBIDDEN, '(programmatic access is not enabled)');
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!bearer) return keystoneError(401, UNAUTHORIZED, '(no Bearer ID token)');

    const signature = verifyJwtSignature(bearer, provider.signingKeys ?? { keys: [] });
    if (!signature.ok) return keystoneError(401, UNAUTHORIZED, `(${signature.reason})`);
    const claims = signature.claims;
    const now = this.clock() / 1000;
    const issuer = provider.issuer ?? GITHUB_ISSUER;
    if (claims.iss !== issuer)
      return keystoneError(401, UNAUTHORIZED, `(issuer ${String(claims.iss)} is not ${issuer})`);
    if (!claimText(claims.aud).includes(provider.clientId)) {
      return keystoneError(401, UNAUTHORIZED, '(the audience of the ID token is not the client ID)');
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now)
      return keystoneError(401, UNAUTHORIZED, '(the ID token has expired)');
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60)
      return keystoneError(401, UNAUTHORIZED, '(the ID token is not valid yet)');
    const rule = matchRule(provider.rules, claims);
    if (!rule) return keystoneError(403, FORBIDDEN, '(no mapping rule matches the ID token)');

    const user = rule.local.find((l) => l.user)?.user?.name ?? 'FederationUser';
    const groups = rule.local.flatMap((l) => (l.group ? [l.group] : []));
    const token = `MIIT${randomBytes(96).toString('base64url')}`;
    const issuedAt = this.clock();
    const expiresAt = issuedAt + this.settings.unscopedTokenLifetimeMs;
    this.unscopedTokens.set(token, {
      expiresAt,
      identityProvider: provider.id,
      user,
      subject: String(claims.sub),
    });
    return {
      status: 201,
      headers: { 'content-type': 'application/json;charset=UTF-8', 'x-subject-token': token },
      body: JSON.stringify({
        token: {
          expires_at: iamTime(expiresAt),
          issued_at: iamTime(issuedAt),
          methods: ['mapped'],
          user: {
            'OS-FEDERATION': {
              identity_provider: { id: provider.id },
              protocol: { id: 'oidc' },
              groups: groups.map((g) => ({ name: g.name, id: `group-${g.name}` })),
            },
            domain: { id: 'd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0', name: 'emulator-domain' },
            name: user,
            id: `fed-${randomBytes(8).toString('hex')}`,
          },
        },
      }),
    };
  }

  /** `POST /v3.0/OS-CREDENTIAL/securitytokens` with an unscoped token. */
  securityTokens(authToken: string | undefined, body: unknown): HandlerResponse {
    const token = authToken ? this.unscopedTokens.get(authToken) : undefined;
    if (!token) return keystoneError(401, UNAUTHORIZED, '(X-Auth-Token is missing or unknown)');
    if (token.expiresAt <= this.clock()) return keystoneError(401, UNAUTHORIZED, '(the token has expired)');
    const identity = (body as { auth?: { identity?: Record<string, unknown> } } | undefined)?.auth?.identity;
    const methods = identity?.methods;
    const duration = (identity?.token as { duration_seconds?: unknown } | undefined)?.duration_seconds;
    if (!Array.isArray(methods) || methods.length !== 1 || methods[0] !== 'token') {
      return keystoneError(400, "Request parameter 'auth.identity.methods' is invalid.");
    }
    if (
      duration !== undefined &&
      !(typeof duration === 'number' && Number.isInteger(duration) && duration >= 900 && duration <= 86400)
    ) {
      return keystoneError(400, "Request parameter 'duration_seconds' is invalid.");
    }
    const lifetimeMs =
      this.settings.credentialsLifetimeMs ?? ((duration as number | undefined) ?? 900) * 1000;
    const expiresAt = this.clock() + lifetimeMs;
    const credential: IssuedCredential = {
      accessKeyId: `TEMP${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
      secretAccessKey: randomBytes(30).toString('base64url'),
      securityToken: `gQpjbi1lYXN0LTM${randomBytes(240).toString('base64url')}`,
      expiresAt,
      unscopedToken: authToken as string,
      identityProvider: token.identityProvider,
      subject: token.subject,
    };
    this.issued.push(credential);
    this.credentials.push({
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      securityToken: credential.securityToken,
      expiresAt,
    });
    return {
      status: 201,
      headers: { 'content-type': 'application/json;charset=UTF-8' },
      body: JSON.stringify({
        credential: {
          access: credential.accessKeyId,
          secret: credential.secretAccessKey,
          securitytoken: credential.securityToken,
          expires_at: iamTime(expiresAt),
        },
      }),
    };
  }
}
