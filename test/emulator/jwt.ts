/**
 * RS256 JSON Web Tokens with node:crypto only: what GitHub's token service signs and what IAM
 * checks against the signing keys pasted into an identity provider.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public half as GitHub publishes it in its JWKS. */
  jwk: PublicJwk;
}

export interface PublicJwk extends JsonWebKey {
  kty: 'RSA';
  kid: string;
  alg: 'RS256';
  use: 'sig';
  n: string;
  e: string;
}

export interface Jwks {
  keys: PublicJwk[];
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const exported = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  // GitHub's key ids are opaque strings; a thumbprint of the key is as good as any.
  const kid = createHash('sha256').update(exported.n).digest('hex').slice(0, 40).toUpperCase();
  return {
    kid,
    privateKey,
    jwk: { kty: 'RSA', kid, alg: 'RS256', use: 'sig', n: exported.n, e: exported.e },
  };
}

export function signJwt(claims: Record<string, unknown>, key: SigningKey): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${b64url(signature)}`;
}

export type JwtCheck =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; reason: string; claims?: Record<string, unknown> };

function parsePart(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Signature only: the header's `kid` must name one of `jwks`' keys, and the RS256 signature must hold. */
export function verifyJwtSignature(token: string, jwks: Jwks): JwtCheck {
  const parts = token.split('.');
  const header = parsePart(parts[0]);
  const claims = parsePart(parts[1]);
  if (parts.length !== 3 || !header || !claims) return { ok: false, reason: 'the ID token is not a JWT' };
  if (header.alg !== 'RS256')
    return { ok: false, reason: `the ID token's algorithm ${String(header.alg)} is not RS256`, claims };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) {
    return {
      ok: false,
      reason: `the ID token was signed with key ${String(header.kid)}, which is not among the identity provider's signing keys`,
      claims,
    };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return {
      ok: false,
      reason: `signing key ${jwk.kid} of the identity provider is not a valid RSA key`,
      claims,
    };
  }
  const valid = verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    key,
    Buffer.from(parts[2] as string, 'base64url'),
  );
  return valid ? { ok: true, claims } : { ok: false, reason: 'the ID token signature is invalid', claims };
}
