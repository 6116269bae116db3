/**
 * A tiny signed HTTP client for talking to the emulator from tests without the action's code:
 * its own SDK-HMAC-SHA256 and OBS signers (deliberately written differently from the emulator's
 * verifiers, so the two check each other), and a `send()` on undici that adds no headers of its own.
 *
 * Sign, optionally tamper with the prepared request, then send:
 *   const req = apigPrepare(emu.url, { method: 'GET', path: `/v1/${pid}/cloud-phone/jobs` });
 *   req.headers['x-sdk-date'] = '20000101T000000Z';   // now the signature no longer matches
 *   const res = await send(req);
 */
import { createHash, createHmac } from 'node:crypto';
import { request } from 'undici';
import type { Credential } from './types.js';

export interface PreparedRequest {
  method: string;
  url: string;
  /** Lower-case names. `host` is set (undici sends it as given). */
  headers: Record<string, string>;
  body?: Buffer;
}

export interface SentResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

export const DEFAULT_TEST_CREDENTIAL: Credential = {
  accessKeyId: 'EMULATORAK0000000001',
  secretAccessKey: 'emulator-secret-key-do-not-log',
};

/** RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` percent-encoded. */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sdkDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

type QueryInput = Record<string, string | number | boolean | Array<string | number>>;

function queryPairs(query: QueryInput | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) pairs.push([k, String(item)]);
  }
  return pairs;
}

export interface ApigSignInput {
  method: string;
  /** Path as sent (already encoded where needed). */
  path: string;
  query?: QueryInput;
  headers?: Record<string, string>;
  body?: string | Buffer;
  credential?: Credential;
  date?: Date;
  /** Header names (lower-case) to sign; default: every header given plus host and x-sdk-date. */
  signedHeaders?: string[];
}

/** SDK-HMAC-SHA256 signing. Returns the headers to send (host, x-sdk-date, token, authorization added). */
export function apigSignHeaders(host: string, input: ApigSignInput): Record<string, string> {
  const credential = input.credential ?? DEFAULT_TEST_CREDENTIAL;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] ??= host;
  headers['x-sdk-date'] ??= sdkDate(input.date ?? new Date());
  if (credential.securityToken !== undefined) headers['x-security-token'] ??= credential.securityToken;
  const signed = (input.signedHeaders ?? Object.keys(headers)).map((h) => h.toLowerCase()).sort();
  const segments = input.path.split('/').map((s) => rfc3986(decodeURIComponent(s)));
  let uri = segments.join('/');
  if (!uri.endsWith('/')) uri += '/';
  const query = queryPairs(input.query)
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join('&');
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
  const canonical = [
    input.method,
    uri,
    query,
    signed.map((h) => `${h}:${(headers[h] ?? '').trim()}\n`).join(''),
    signed.join(';'),
    createHash('sha256').update(body).digest('hex'),
  ].join('\n');
  const stringToSign = `SDK-HMAC-SHA256\n${headers['x-sdk-date']}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', credential.secretAccessKey).update(stringToSign).digest('hex');
  headers['authorization'] =
    `SDK-HMAC-SHA256 Access=${credential.accessKeyId}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return headers;
}

function buildUrl(base: string, path: string, query: QueryInput | undefined): string {
  const q = queryPairs(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `${base}${path}${q ? `?${q}` : ''}`;
}

/** A signed CPH/IAM request to `baseUrl` (e.g. `emu.url`). JSON bodies get `content-type: application/json`. */
export function apigPrepare(baseUrl: string, input: ApigSignInput & { json?: unknown }): PreparedRequest {
  const host = new URL(baseUrl).host;
  const withBody = { ...input };
  if (input.json !== undefined) {
    withBody.body = JSON.stringify(input.json);
    withBody.headers = { 'content-type': 'application/json', ...(input.headers ?? {}) };
  }
  const headers = apigSignHeaders(host, withBody);
  const prepared: PreparedRequest = {
    method: input.method,
    url: buildUrl(baseUrl, input.path, input.query),
    headers,
  };
  if (withBody.body !== undefined) prepared.body = Buffer.from(withBody.body);
  return prepared;
}

export interface ObsSignInput {
  method: string;
  bucket: string;
  /** Object key (not encoded); omit for bucket requests. */
  key?: string;
  /** Query, sub-resources included (`{ uploads: '' }`, `{ partNumber: 1, uploadId }`). */
  query?: QueryInput;
  headers?: Record<string, string>;
  body?: string | Buffer;
  credential?: Credential;
  date?: Date;
}

const OBS_SUB_RESOURCES = [
  'partNumber',
  'uploadId',
  'uploads',
  'acl',
  'versionId',
  'delete',
  'append',
  'position',
];

/** The OBS signature's StringToSign, from the spec. */
export function obsStringToSignFor(input: ObsSignInput, headers: Record<string, string>): string {
  const obsHeaders = Object.keys(headers)
    .filter((h) => h.startsWith('x-obs-'))
    .sort()
    .map((h) => `${h}:${headers[h]}\n`)
    .join('');
  const sub = queryPairs(input.query)
    .filter(([k]) => OBS_SUB_RESOURCES.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join('&');
  const resource = `/${input.bucket}/${input.key === undefined ? '' : rfc3986(input.key).replace(/%2F/g, '/')}${sub ? `?${sub}` : ''}`;
  return [
    input.method,
    headers['content-md5'] ?? '',
    headers['content-type'] ?? '',
    'x-obs-date' in headers ? '' : (headers['date'] ?? ''),
    obsHeaders + resource,
  ].join('\n');
}

export function obsSignHeaders(host: string, input: ObsSignInput): Record<string, string> {
  const credential = input.credential ?? DEFAULT_TEST_CREDENTIAL;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] ??= host;
  if (!('x-obs-date' in headers)) headers['date'] ??= (input.date ?? new Date()).toUTCString();
  if (credential.securityToken !== undefined) headers['x-obs-security-token'] ??= credential.securityToken;
  const signature = createHmac('sha1', credential.secretAccessKey)
    .update(obsStringToSignFor(input, headers))
    .digest('base64');
  headers['authorization'] = `OBS ${credential.accessKeyId}:${signature}`;
  return headers;
}

/** A signed path-style OBS request to `baseUrl`. */
export function obsPrepare(baseUrl: string, input: ObsSignInput): PreparedRequest {
  const host = new URL(baseUrl).host;
  const headers = obsSignHeaders(host, input);
  const path = `/${input.bucket}${input.key === undefined ? '' : `/${rfc3986(input.key).replace(/%2F/g, '/')}`}`;
  const q = queryPairs(input.query)
    .map(([k, v]) => (v === '' ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v)}`))
    .join('&');
  const prepared: PreparedRequest = {
    method: input.method,
    url: `${baseUrl}${path}${q ? `?${q}` : ''}`,
    headers,
  };
  if (input.body !== undefined) prepared.body = Buffer.from(input.body);
  return prepared;
}

export function md5Base64(data: string | Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export async function send(
  req: PreparedRequest,
  options: { timeoutMs?: number } = {},
): Promise<SentResponse> {
  const timeout = options.timeoutMs ?? 10_000;
  const res = await request(req.url, {
    method: req.method as 'GET',
    headers: req.headers,
    body: req.body ?? null,
    signal: AbortSignal.timeout(timeout),
  });
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return {
    status: res.statusCode,
    headers,
    text,
    json<T>() {
      return JSON.parse(text) as T;
    },
  };
}
