/**
 * Verification of `SDK-HMAC-SHA256` (API gateway signing, used by CPH and IAM), written from
 * `shared/spec/huawei-api.md` independently of the action's signer. The canonical request is rebuilt
 * from what arrived on the wire, as a gateway must: paths and queries are decoded and re-encoded, so
 * `a,b` and `a%2Cb` are the same query value.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Credential } from './types.js';

export const APIG_ALGORITHM = 'SDK-HMAC-SHA256';
/** The gateway refuses a request whose X-Sdk-Date is further than this from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface ApigRequest {
  method: string;
  /** Path as received, without the query. */
  rawPath: string;
  /** Query as received, without the `?`; '' for none. */
  rawQuery: string;
  /** Lower-case header names, as node:http gives them. */
  headers: HeaderBag;
  body: Buffer;
}

export interface ApigVerifyOptions {
  /** Emulator clock, ms since epoch. */
  nowMs: number;
  /** Headers that must be among the signed ones; default `['host', 'x-sdk-date']`. */
  requiredSignedHeaders?: string[];
}

export type ApigVerifyResult =
  | { ok: true; credential: Credential }
  | {
      ok: false;
      /** For the error message; never contains a secret key. */
      reason: string;
      /** Present when the failure is a signature mismatch (the canonical request may contain the token). */
      canonicalRequest?: string;
      stringToSign?: string;
      accessKeyId?: string;
    };

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** Percent-encode the UTF-8 bytes of `s`, keeping only unreserved characters, upper-case hex. */
export function uriEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Decode one path segment or query component; throws on malformed escapes. */
function decodeComponent(s: string, plusIsSpace: boolean): string {
  return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
}

export function canonicalUri(rawPath: string): string {
  const encoded = rawPath
    .split('/')
    .map((segment) => uriEncode(decodeComponent(segment, false)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/** Parse a raw query string into decoded pairs, in wire order (`+` is a space, as Go's ParseQuery has it). */
export function parseQueryPairs(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([decodeComponent(name, true), decodeComponent(value, true)]);
  }
  return pairs;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function canonicalQuery(rawQuery: string): string {
  return parseQueryPairs(rawQuery)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort((a, b) => compareCodeUnits(a[0], b[0]) || compareCodeUnits(a[1], b[1]))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function buildCanonicalRequest(req: ApigRequest, signedHeaders: string[]): string {
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(headerValue(req.headers, name) ?? '').trim()}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    canonicalUri(req.rawPath),
    canonicalQuery(req.rawQuery),
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256Hex(req.body),
  ].join('\n');
}

export function buildStringToSign(sdkDate: string, canonicalRequest: string): string {
  return `${APIG_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
}

export function apigSignature(secretAccessKey: string, stringToSign: string): string {
  return createHmac('sha256', secretAccessKey).update(stringToSign).digest('hex');
}

export interface ParsedApigAuthorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

export function parseApigAuthorization(value: string): ParsedApigAuthorization | undefined {
  const m =
    /^SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/.exec(
      value,
    );
  if (!m) return undefined;
  return { accessKeyId: m[1]!, signedHeaders: m[2]!.split(';'), signature: m[3]!.toLowerCase() };
}

/** `YYYYMMDDTHHMMSSZ` → ms since epoch, NaN when malformed. */
export function parseSdkDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function verifyApigRequest(
  req: ApigRequest,
  findCredential: (accessKeyId: string) => Credential | undefined,
  options: ApigVerifyOptions,
): ApigVerifyResult {
  const authorization = headerValue(req.headers, 'authorization');
  if (!authorization) return { ok: false, reason: 'Authorization header is missing' };
  const auth = parseApigAuthorization(authorization);
  if (!auth)
    return {
      ok: false,
      reason: `Authorization header is not ${APIG_ALGORITHM} Access=, SignedHeaders=, Signature=`,
    };
  const accessKeyId = auth.accessKeyId;
  const credential = findCredential(accessKeyId);
  if (!credential) return { ok: false, reason: `ak ${accessKeyId} not exist`, accessKeyId };

  const signed = auth.signedHeaders;
  const sorted = [...signed].map((h) => h.toLowerCase()).sort(compareCodeUnits);
  if (signed.some((h, i) => h !== sorted[i]) || new Set(signed).size !== signed.length) {
    return { ok: false, reason: 'SignedHeaders must be lower-case, sorted and unique', accessKeyId };
  }
  for (const required of options.requiredSignedHeaders ?? ['host', 'x-sdk-date']) {
    if (!signed.includes(required))
      return { ok: false, reason: `header ${required} is not signed`, accessKeyId };
  }
  for (const name of signed) {
    if (headerValue(req.headers, name) === undefined) {
      return { ok: false, reason: `signed header ${name} is missing from the request`, accessKeyId };
    }
  }

  const sdkDate = headerValue(req.headers, 'x-sdk-date');
  if (!sdkDate) return { ok: false, reason: 'X-Sdk-Date header is missing', accessKeyId };
  const dateMs = parseSdkDate(sdkDate);
  if (Number.isNaN(dateMs))
    return { ok: false, reason: `X-Sdk-Date ${sdkDate} is not YYYYMMDDTHHMMSSZ`, accessKeyId };
  if (Math.abs(options.nowMs - dateMs) > MAX_CLOCK_SKEW_MS) {
    return {
      ok: false,
      reason: 'the request time differs from the server time by more than 15 minutes',
      accessKeyId,
    };
  }

  const token = headerValue(req.headers, 'x-security-token');
  if (credential.securityToken !== undefined) {
    if (token === undefined)
      return { ok: false, reason: 'X-Security-Token is required for temporary credentials', accessKeyId };
    if (!signed.includes('x-security-token'))
      return { ok: false, reason: 'X-Security-Token is not signed', accessKeyId };
    if (token.trim() !== credential.securityToken)
      return { ok: false, reason: 'security token is invalid', accessKeyId };
  } else if (token !== undefined) {
    return { ok: false, reason: 'X-Security-Token sent with a permanent access key', accessKeyId };
  }

  let canonicalRequest: string;
  try {
    canonicalRequest = buildCanonicalRequest(req, signed);
  } catch {
    return { ok: false, reason: 'malformed percent-encoding in the path or query', accessKeyId };
  }
  const stringToSign = buildStringToSign(sdkDate, canonicalRequest);
  const expected = apigSignature(credential.secretAccessKey, stringToSign);
  if (!sameHex(expected, auth.signature)) {
    return { ok: false, reason: 'verify aksk signature fail', canonicalRequest, stringToSign, accessKeyId };
  }
  return { ok: true, credential };
}
