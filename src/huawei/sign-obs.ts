/**
 * The OBS signature, `Authorization: OBS AK:base64(hmac_sha1(SK, StringToSign))`
 * (spec: ../shared/spec/huawei-api.md, "OBS signature"). Same algorithm as AWS signature V2.
 *
 * Pure functions of (request, credentials, time): nothing here reads the clock or the environment.
 */
import { createHmac } from 'node:crypto';
import type { Credentials } from './credentials.js';
import { apigEncode } from './sign-apig.js';

export interface ObsSignInput {
  method: string;
  bucket: string;
  /** Object key, not encoded (`dir/app.tar`). */
  key: string;
  /**
   * Query parameters of the request, e.g. `{ uploads: undefined }` or `{ partNumber: '1', uploadId: 'X' }`.
   * Only OBS sub-resources are signed; any other name is ignored here.
   */
  subresources?: Record<string, string | undefined>;
  /** Headers that will be sent: `Content-MD5`, `Content-Type`, `x-obs-*`, … in any case. */
  headers: Record<string, string>;
}

/**
 * The query parameters OBS signs: esdk-obs-nodejs 3.26.8, `allowedResourceParameterNames` in
 * lib/utils.js, lower-cased and deduplicated. Matched case-insensitively, as the SDK does.
 */
// biome-ignore format: a long list of short names reads better packed
const OBS_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'backtosource', 'policy', 'torrent', 'logging', 'location', 'storageinfo', 'quota', 'storageclass',
  'storagepolicy', 'requestpayment', 'versions', 'versioning', 'versionid', 'uploads', 'uploadid', 'partnumber',
  'website', 'notification', 'replication', 'lifecycle', 'deletebucket', 'delete', 'cors', 'restore', 'tagging',
  'append', 'position', 'response-content-type', 'response-content-language', 'response-expires',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding', 'x-image-process',
  'x-oss-process', 'x-image-save-object', 'x-image-save-bucket', 'encryption', 'directcoldaccess', 'rename', 'name',
  'metadata', 'modify', 'attname', 'truncate', 'x-obs-security-token', 'x-workflow-prefix', 'x-workflow-start',
  'x-workflow-limit', 'x-workflow-template-name', 'x-workflow-graph-name', 'x-workflow-execution-state',
  'x-workflow-execution-type', 'x-workflow-next-marker', 'obsworkflowtriggerpolicy', 'obsbucketalias', 'obsalias',
  'publicaccessblock', 'bucketstatus', 'policystatus', 'customdomain', 'inventory', 'object-lock', 'retention',
  'mirrorbacktosource', 'obscompresspolicy', 'length',
]);

export function isObsSubresource(name: string): boolean {
  return OBS_SUBRESOURCES.has(name.toLowerCase());
}

/**
 * Returns the headers to add: `Date` (RFC 1123), `Authorization` and, for a token,
 * `x-obs-security-token` (which is signed like every other `x-obs-*` header).
 */
export function signObsRequest(input: ObsSignInput, creds: Credentials, now: Date): Record<string, string> {
  const added: Record<string, string> = { Date: now.toUTCString() };
  if (creds.securityToken) added['x-obs-security-token'] = creds.securityToken;
  const stringToSign = obsStringToSign({ ...input, headers: { ...input.headers, ...added } });
  added['Authorization'] = `OBS ${creds.accessKeyId}:${obsSignature(creds.secretAccessKey, stringToSign)}`;
  return added;
}

/** `headers` must include the `Date` that will be sent (or `x-obs-date`). */
export function obsStringToSign(input: ObsSignInput): string {
  const headers = new Map(
    Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value.trim()]),
  );
  const obsHeaders = [...headers]
    .filter(([name]) => name.startsWith('x-obs-'))
    .sort(([a], [b]) => compare(a, b))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
  return [
    input.method,
    headers.get('content-md5') ?? '',
    headers.get('content-type') ?? '',
    // With x-obs-date the server takes the time from that (signed) header and Date signs as empty.
    headers.has('x-obs-date') ? '' : (headers.get('date') ?? ''),
    obsHeaders + obsCanonicalResource(input.bucket, input.key, input.subresources),
  ].join('\n');
}

/**
 * `/{bucket}/{key}` even though the bucket travels in the host name. The key is RFC 3986-encoded
 * with `/` kept, like esdk-obs-nodejs's `encodeURIWithSafe(uri, '/')`; sub-resource values are
 * signed decoded, and an empty value signs as the bare name, as in the SDK.
 */
export function obsCanonicalResource(
  bucket: string,
  key: string,
  subresources: Record<string, string | undefined> = {},
): string {
  const path = `/${bucket}/${key}`.split('/').map(apigEncode).join('/');
  const query = Object.entries(subresources)
    .filter(([name]) => isObsSubresource(name))
    .sort(([a], [b]) => compare(a, b))
    .map(([name, value]) => (value ? `${name}=${value}` : name))
    .join('&');
  return query ? `${path}?${query}` : path;
}

export function obsSignature(secretAccessKey: string, stringToSign: string): string {
  return createHmac('sha1', secretAccessKey).update(stringToSign).digest('base64');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
