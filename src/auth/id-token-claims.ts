/**
 * The claims of a GitHub ID token that a user compares with the identity provider's mapping
 * rules. Decoded without verifying the signature: IAM verifies it; we only show `sub` and `aud`,
 * which are not secret, when IAM refuses the token.
 */
export interface IdTokenClaims {
  sub?: string;
  /** `aud` joined with ', ' when it is a list. */
  aud?: string;
  /** Expiry, ms since the epoch. */
  expiresAt?: number;
}

export function decodeIdTokenClaims(token: string): IdTokenClaims {
  const payload = token.split('.')[1];
  if (!payload) return {};
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return {};
  }
  if (!claims || typeof claims !== 'object') return {};
  const { sub, aud, exp } = claims as Record<string, unknown>;
  const out: IdTokenClaims = {};
  if (typeof sub === 'string') out.sub = sub;
  if (typeof aud === 'string') out.aud = aud;
  else if (Array.isArray(aud)) out.aud = aud.filter((a) => typeof a === 'string').join(', ');
  if (typeof exp === 'number' && Number.isFinite(exp)) out.expiresAt = exp * 1000;
  return out;
}
