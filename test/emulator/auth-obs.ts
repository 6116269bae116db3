/**
 * Verification of the OBS signature (`OBS AK:base64(hmac-sha1)`, also the AWS V2 form), written
 * from `shared/spec/huawei-api.md` independently of the action's signer.
 *
 * The canonicalized resource is `/{bucket}/{key}` whatever the addressing style. Where the spec is
 * silent (the key's exact encoding) a signature is accepted when it matches either the path exactly
 * as it came over the wire or the key re-encoded the way esdk-obs-nodejs does (encodeURIComponent,
 * `/` kept, `!*'()` escaped) — a client that signs one thing and sends another still fails.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type HeaderBag, headerValue } from './auth-apig.js';
import type { Credential } from './types.js';

export const OBS_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** Query parameters that are part of the canonicalized resource (compared lower-case). */
const SUB_RESOURCES = new Set([
  'acl',
  'append',
  'attname',
  'backtosource',
  'cors',
  'customdomain',
  'delete',
  'deletebucket',
  'directcoldaccess',
  'encryption',
  'inventory',
  'length',
  'lifecycle',
  'location',
  'logging',
  'metadata',
  'modify',
  'name',
  'notification',
  'object-lock',
  'partnumber',
  'policy',
  'position',
  'quota',
  'rename',
  'replication',
  'requestpayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'retention',
  'storageclass',
  'storageinfo',
  'storagepolicy',
  'tagging',
  'torrent',
  'truncate',
  'uploadid',
  'uploads',
  'versionid',
  'versioning',
  'versions',
  'website',
  'x-image-process',
  'x-image-save-bucket',
  'x-image-save-object',
  'x-obs-security-token',
]);

export interface ObsRequest {
  method: string;
  /** Path as received, without the query. */
  rawPath: string;
  rawQuery: string;
  headers: HeaderBag;
  bucket: string;
  /** Decoded object key; undefined for bucket-level requests. */
  key: string | undefined;
  /** True when the bucket was in the Host header (the wire path then lacks `/{bucket}`). */
  virtualHosted: boolean;
}

export type ObsVerifyResult =
  | { ok: true; credential: Credential }
  | {
      ok: false;
      status: number;
      code: string;
      reason: string;
      /** Present on SignatureDoesNotMatch (may contain the security token). */
      stringToSign?: string;
      accessKeyId?: string;
    };

/** Key encoding of esdk-obs-nodejs: encodeURIComponent, `/` kept, `!*'()` escaped too. */
export function encodeObjectKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/')
    .replace(/[!*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `?a&b=c` of the sub-resources in the query, sorted by name; '' when there are none. */
export function canonicalSubResources(rawQuery: string): string {
  const items: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    if (SUB_RESOURCES.has(name.toLowerCase())) items.push([name, value]);
  }
  if (items.length === 0) return '';
  items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `?${items.map(([n, v]) => (v === '' ? n : `${n}=${v}`)).join('&')}`;
}

/**
 * StringToSign = Verb \n Content-MD5 \n Content-Type \n Date \n CanonicalizedHeaders CanonicalizedResource.
 * `prefix` is `x-obs-` (OBS form) or `x-amz-` (AWS V2 form).
 */
export function obsStringToSign(
  method: string,
  headers: HeaderBag,
  canonicalResource: string,
  prefix = 'x-obs-',
): string {
  const dateLine =
    headerValue(headers, `${prefix}date`) !== undefined ? '' : (headerValue(headers, 'date') ?? '');
  const canonicalHeaders = Object.keys(headers)
    .map((n) => n.toLowerCase())
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => `${n}:${(headerValue(headers, n) ?? '').trim()}\n`)
    .join('');
  return [
    method.toUpperCase(),
    headerValue(headers, 'content-md5') ?? '',
    headerValue(headers, 'content-type') ?? '',
    dateLine,
    `${canonicalHeaders}${canonicalResource}`,
  ].join('\n');
}

export function obsSignature(secretAccessKey: string, stringToSign: string): string {
  return createHmac('sha1', secretAccessKey).update(stringToSign, 'utf8').digest('base64');
}

/** The canonicalized resources a correct client may have signed for this request. */
export function candidateResources(req: ObsRequest): string[] {
  const sub = canonicalSubResources(req.rawQuery);
  const wirePath = req.virtualHosted
    ? `/${req.bucket}${req.rawPath === '' ? '/' : req.rawPath}`
    : req.rawPath;
  const encoded = req.key === undefined ? `/${req.bucket}/` : `/${req.bucket}/${encodeObjectKey(req.key)}`;
  const out = new Set([`${wirePath}${sub}`, `${encoded}${sub}`]);
  if (req.key === undefined) out.add(`/${req.bucket}${sub}`);
  return [...out];
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function verifyObsRequest(
  req: ObsRequest,
  findCredential: (accessKeyId: string) => Credential | undefined,
  nowMs: number,
): ObsVerifyResult {
  const authorization = headerValue(req.headers, 'authorization');
  if (!authorization) {
    return {
      ok: false,
      status: 403,
      code: 'AccessDenied',
      reason: 'Anonymous access is forbidden for this operation',
    };
  }
  const m = /^(OBS|AWS) ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) {
    return { ok: false, status: 400, code: 'InvalidArgument', reason: 'Authorization header is invalid' };
  }
  const prefix = m[1] === 'OBS' ? 'x-obs-' : 'x-amz-';
  const accessKeyId = m[2]!;
  const signature = m[3]!;
  const credential = findCredential(accessKeyId);
  const tokenHeader = headerValue(req.headers, `${prefix}security-token`);
  if (!credential || (credential.securityToken !== undefined && tokenHeader === undefined)) {
    return {
      ok: false,
      status: 403,
      code: 'InvalidAccessKeyId',
      reason: 'The access key Id you provided does not exist in our records.',
      accessKeyId,
    };
  }

  const dateValue = headerValue(req.headers, `${prefix}date`) ?? headerValue(req.headers, 'date');
  if (dateValue === undefined) {
    return {
      ok: false,
      status: 403,
      code: 'AccessDenied',
      reason: 'Date or x-obs-date header is required',
      accessKeyId,
    };
  }
  const dateMs = Date.parse(dateValue);
  if (Number.isNaN(dateMs)) {
    return {
      ok: false,
      status: 403,
      code: 'AccessDenied',
      reason: `Invalid date: ${dateValue}`,
      accessKeyId,
    };
  }
  if (Math.abs(nowMs - dateMs) > OBS_MAX_CLOCK_SKEW_MS) {
    return {
      ok: false,
      status: 403,
      code: 'RequestTimeTooSkewed',
      reason: 'The difference between the request time and the server time is too large.',
      accessKeyId,
    };
  }

  if (
    credential.securityToken !== undefined
      ? tokenHeader !== credential.securityToken
      : tokenHeader !== undefined
  ) {
    return {
      ok: false,
      status: 400,
      code: 'InvalidToken',
      reason: 'The provided token is malformed or otherwise invalid.',
      accessKeyId,
    };
  }

  let resources: string[];
  try {
    resources = candidateResources(req);
  } catch {
    return {
      ok: false,
      status: 400,
      code: 'InvalidURI',
      reason: 'Could not parse the specified URI.',
      accessKeyId,
    };
  }
  let firstStringToSign = '';
  for (const resource of resources) {
    const stringToSign = obsStringToSign(req.method, req.headers, resource, prefix);
    firstStringToSign ||= stringToSign;
    if (sameText(obsSignature(credential.secretAccessKey, stringToSign), signature))
      return { ok: true, credential };
  }
  return {
    ok: false,
    status: 403,
    code: 'SignatureDoesNotMatch',
    reason:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    stringToSign: firstStringToSign,
    accessKeyId,
  };
}
