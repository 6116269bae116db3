/**
 * SDK-HMAC-SHA256, the API gateway signature used by CPH and IAM
 * (spec: ../shared/spec/huawei-api.md, "API signing: SDK-HMAC-SHA256").
 *
 * Pure functions of (request, credentials, time): nothing here reads the clock or the environment.
 */
import { createHash, createHmac } from 'node:crypto';

import type { Credentials } from './credentials.js';

export interface ApigRequest {
  method: string;
  /** Full URL including the query; the signed `host` comes from here. */
  url: URL;
  /** Headers that will be sent, in any case. Only those the gateway expects signed are signed. */
  headers: Record<string, string>;
  /** Empty or absent means no body. */
  body?: string | Uint8Array;
}

const ALGORITHM = 'SDK-HMAC-SHA256';

/**
 * Caller headers that are signed when sent. Everything else (content-length, user-agent, connection, …)
 * stays unsigned because the HTTP client may add, drop or rewrite it.
 */
const SIGNED_CALLER_HEADERS = new Set(['content-type', 'x-project-id']);

/** Returns the headers to add to the request: `X-Sdk-Date`, `Authorization` and, for a token, `X-Security-Token`. */
export function signApigRequest(req: ApigRequest, creds: Credentials, now: Date): Record<string, string> {
  const added: Record<string, string> = { 'X-Sdk-Date': formatSdkDate(now) };
  if (creds.securityToken) added['X-Security-Token'] = creds.securityToken;

  const toSign: Record<string, string> = { host: req.url.host };
  for (const [name, value] of Object.entries(req.headers)) {
    if (SIGNED_CALLER_HEADERS.has(name.toLowerCase())) toSign[name] = value;
  }
  // Added last so a stale X-Sdk-Date / X-Security-Token among the caller's headers cannot win.
  Object.assign(toSign, added);

  const canonicalRequest = buildCanonicalRequest({ ...req, headers: toSign });
  const stringToSign = apigStringToSign(added['X-Sdk-Date']!, canonicalRequest);
  const signature = createHmac('sha256', creds.secretAccessKey).update(stringToSign).digest('hex');
  const signedHeaders = canonicalHeaderEntries(toSign)
    .map(([name]) => name)
    .join(';');
  added['Authorization'] =
    `${ALGORITHM} Access=${creds.accessKeyId}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return added;
}

/**
 * The canonical request for exactly the headers given in `headers` (include `host` yourself);
 * `signApigRequest` decides which headers those are.
 */
export function buildCanonicalRequest(req: ApigRequest): string {
  const entries = canonicalHeaderEntries(req.headers);
  return [
    req.method,
    canonicalUri(req.url.pathname),
    canonicalQuery(req.url.searchParams),
    entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    entries.map(([name]) => name).join(';'),
    createHash('sha256')
      .update(req.body ?? '')
      .digest('hex'),
  ].join('\n');
}

export function apigStringToSign(sdkDate: string, canonicalRequest: string): string {
  return [ALGORITHM, sdkDate, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
}

/**
 * `pathname` as WHATWG `URL` gives it (already percent-encoded). Each segment is decoded and
 * re-encoded so nothing is encoded twice, and split before decoding so an encoded `/` (`%2F`)
 * stays inside its segment. The trailing `/` exists only in the signature, never on the wire.
 */
export function canonicalUri(pathname: string): string {
  const uri = pathname
    .split('/')
    .map((segment) => encodeBytes(percentDecodeToBytes(segment)))
    .join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/**
 * `URLSearchParams` has already decoded the values (`+` and `%20` both become a space); they are
 * re-encoded with `apigEncode`. Sorted by raw name, then raw value, in code-unit order as the
 * official Node SDK does; a name without a value signs as `name=`.
 */
export function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .sort(([n1, v1], [n2, v2]) => compare(n1, n2) || compare(v1, v2))
    .map(([name, value]) => `${apigEncode(name)}=${apigEncode(value)}`)
    .join('&');
}

/** RFC 3986 percent-encoding of the UTF-8 bytes: only `A-Z a-z 0-9 - _ . ~` kept, upper-case hex. */
export function apigEncode(s: string): string {
  return encodeBytes(Buffer.from(s, 'utf8'));
}

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function formatSdkDate(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Lower-cased names, trimmed values, sorted by name. */
function canonicalHeaderEntries(headers: Record<string, string>): [string, string][] {
  return Object.entries(headers)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value.trim()])
    .sort(([a], [b]) => compare(a, b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    out += isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Percent-decoding to bytes rather than to a string, so it cannot throw: a malformed escape such as
 * `%zz` stays literal (its `%` is then encoded as `%25`) and an escape that is not valid UTF-8 such
 * as a lone `%C3` is kept as that byte.
 */
function percentDecodeToBytes(s: string): Uint8Array {
  // split() with a capturing group puts the escapes at the odd indices.
  const chunks = s
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part, i) =>
      i % 2 ? Uint8Array.of(Number.parseInt(part.slice(1), 16)) : Buffer.from(part, 'utf8'),
    );
  return Buffer.concat(chunks);
}
