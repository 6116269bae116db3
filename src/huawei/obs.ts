/**
 * The OBS calls of an upload: HEAD, PUT, multipart, and the listing of open uploads. Signed with the OBS
 * signature, retried by policy (every call here is safe to repeat), and XML
 * read without depending on its namespace.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { BodySource, HttpMethod, HttpResponse } from '../http/transport.js';
import { plural, snippet } from '../util/text.js';
import type { ClientContext } from './context.js';
import { huaweiRequest, unexpectedAnswer, xmlElements, xmlRoot, xmlText } from './request.js';
import { signObsRequest } from './sign-obs.js';

export interface ObsTarget {
  endpoint: URL;
  bucket: string;
}

export interface ObsObjectInfo {
  size: number;
  etag: string | undefined;
  /** Our own `x-obs-meta-sha256` metadata: hex SHA-256 of the whole object. */
  sha256Hex: string | undefined;
}

/** One open multipart upload, as ListMultipartUploads shows it. */
export interface ListedUpload {
  key: string;
  uploadId: string;
  /** `<Initiated>`, ms since the epoch on OBS's clock; NaN when unreadable. */
  initiatedMs: number;
}

export interface UploadListing {
  uploads: ListedUpload[];
  /** OBS's clock (`Date` of the first page's answer) and ours when it arrived. */
  serverNowMs: number;
  localNowMs: number;
}

interface ObsCall {
  operation: string;
  method: HttpMethod;
  key: string;
  subresources?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: string | Uint8Array | BodySource;
  timeoutMs?: number;
  /** Statuses that are answers, not failures (HEAD's 404). */
  accept?: number[];
  onRetry?: () => void;
}

/** Path-style only where a bucket cannot be a DNS label of the host: IP literals and localhost. */
export function usesPathStyle(endpoint: URL): boolean {
  const host = endpoint.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost';
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** The URL of `key` in the bucket; an empty key addresses the bucket itself. */
export function objectUrl(
  target: ObsTarget,
  key: string,
  subresources?: Record<string, string | undefined>,
): URL {
  const url = new URL(target.endpoint.origin);
  if (usesPathStyle(target.endpoint)) {
    url.pathname = key === '' ? `/${target.bucket}` : `/${target.bucket}/${encodeKey(key)}`;
  } else {
    url.hostname = `${target.bucket}.${url.hostname}`;
    url.pathname = `/${encodeKey(key)}`;
  }
  const query = Object.entries(subresources ?? {})
    .map(([name, value]) => (value === undefined ? name : `${name}=${encodeURIComponent(value)}`))
    .join('&');
  if (query) url.search = `?${query}`;
  return url;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The integrity digest OBS verifies on a PUT or a part: `x-obs-content-sha256` (lower-case hex
 * SHA-256, signed like every `x-obs-*` header).
 */
export interface BodyDigest {
  sha256Hex?: string;
}

function digestHeaders(digest: BodyDigest): Record<string, string> {
  const headers: Record<string, string> = {};
  if (digest.sha256Hex) headers['x-obs-content-sha256'] = digest.sha256Hex;
  return headers;
}

export class ObsClient {
  constructor(
    private readonly ctx: ClientContext,
    private readonly target: ObsTarget,
  ) {}

  /** The same client with some of its context replaced (a clean-up deadline, another signal). */
  withContext(change: Partial<ClientContext>): ObsClient {
    return new ObsClient({ ...this.ctx, ...change }, this.target);
  }

  private call(call: ObsCall): Promise<HttpResponse> {
    const { target } = this;
    return huaweiRequest(this.ctx, {
      service: 'OBS',
      operation: call.operation,
      method: call.method,
      url: objectUrl(target, call.key, call.subresources),
      headers: call.headers,
      body: call.body,
      sign: (headers, credentials, now) =>
        signObsRequest(
          {
            method: call.method,
            bucket: target.bucket,
            key: call.key,
            subresources: call.subresources,
            headers,
          },
          credentials,
          now,
        ),
      // Every OBS call here is safe to repeat.
      idempotent: true,
      accept: call.accept,
      // An <Error> inside a 200 (documented for CompleteMultipartUpload) is a failure; retried like a 500.
      failsDespiteStatus: errorBodyIn,
      timeoutMs: call.timeoutMs,
      onRetry: call.onRetry,
    });
  }

  /** A 2xx answer without what OBS promises in it. */
  private unexpected(operation: string, response: HttpResponse, detail: string) {
    return unexpectedAnswer(
      this.ctx,
      { service: 'OBS', operation },
      { status: response.status, requestId: response.headers['x-obs-request-id'] },
      detail,
    );
  }

  async headObject(key: string): Promise<ObsObjectInfo | undefined> {
    const res = await this.call({ operation: 'HeadObject', method: 'HEAD', key, accept: [404] });
    if (res.status === 404) return undefined;
    return {
      size: Number(res.headers['content-length'] ?? Number.NaN),
      etag: res.headers.etag,
      sha256Hex: res.headers['x-obs-meta-sha256'],
    };
  }

  /**
   * One PUT of a whole object, carrying the digest(s) OBS verifies; returns the new ETag. The body
   * is a factory for streamed data (opened again on a retry), or the bytes themselves.
   */
  async putObject(
    key: string,
    object: BodyDigest & {
      body: BodySource | string | Uint8Array;
      length: number;
      headers: Record<string, string>;
    },
    onRetry?: () => void,
  ): Promise<{ etag: string | undefined }> {
    const res = await this.call({
      operation: 'PutObject',
      method: 'PUT',
      key,
      headers: { ...object.headers, 'Content-Length': String(object.length), ...digestHeaders(object) },
      body: object.body,
      timeoutMs: transferTimeoutMs(this.ctx.timeoutMs, object.length),
      onRetry,
    });
    return { etag: res.headers.etag };
  }

  /** A small text object (the ledger, a manifest), with `x-obs-content-sha256` of its bytes. */
  async putObjectText(
    key: string,
    text: string,
    contentType = 'application/json',
  ): Promise<{ etag: string | undefined }> {
    const body = Buffer.from(text, 'utf8');
    return this.putObject(key, {
      body,
      length: body.length,
      sha256Hex: createHash('sha256').update(body).digest('hex'),
      headers: { 'Content-Type': contentType },
    });
  }

  /** A small object's text and ETag, or null when there is none (404). */
  async getObjectText(key: string): Promise<{ body: string; etag: string | undefined } | null> {
    const res = await this.call({ operation: 'GetObject', method: 'GET', key, accept: [404] });
    if (res.status === 404) return null;
    return { body: res.body.toString('utf8'), etag: res.headers.etag };
  }

  /** `onRetry` is called before each repeated request: each may have opened an upload of its own. */
  async initiateMultipartUpload(
    key: string,
    headers: Record<string, string>,
    onRetry?: () => void,
  ): Promise<string> {
    const res = await this.call({
      operation: 'InitiateMultipartUpload',
      method: 'POST',
      key,
      subresources: { uploads: undefined },
      headers,
      onRetry,
    });
    const text = res.body.toString('utf8');
    const uploadId = xmlText(text, 'UploadId');
    if (!uploadId) {
      throw this.unexpected(
        'InitiateMultipartUpload',
        res,
        `the answer has no UploadId: ${snippet(text, 200)}`,
      );
    }
    return uploadId;
  }

  /**
   * Returns the part's ETag verbatim, quotes included, as CompleteMultipartUpload wants it. The
   * part carries `x-obs-content-sha256` when given.
   */
  async uploadPart(
    key: string,
    uploadId: string,
    part: BodyDigest & { partNumber: number; length: number; body: BodySource },
    onRetry?: () => void,
  ): Promise<string> {
    const res = await this.call({
      operation: 'UploadPart',
      method: 'PUT',
      key,
      subresources: { partNumber: String(part.partNumber), uploadId },
      headers: { 'Content-Length': String(part.length), ...digestHeaders(part) },
      body: part.body,
      timeoutMs: transferTimeoutMs(this.ctx.timeoutMs, part.length),
      onRetry,
    });
    const etag = res.headers.etag;
    if (!etag) throw this.unexpected('UploadPart', res, 'the answer has no ETag header');
    return etag;
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    const xml = `<CompleteMultipartUpload>${parts
      .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    await this.call({
      operation: 'CompleteMultipartUpload',
      method: 'POST',
      key,
      subresources: { uploadId },
      headers: { 'Content-Type': 'application/xml' },
      body: xml,
    });
  }

  /**
   * The open multipart uploads of keys starting with `prefix`, every page. Their own keys are
   * returned: a prefix matches longer keys too.
   */
  async listMultipartUploads(prefix: string): Promise<UploadListing> {
    const uploads: ListedUpload[] = [];
    let clock: { serverNowMs: number; localNowMs: number } | undefined;
    let markers: { 'key-marker': string; 'upload-id-marker': string } | undefined;
    for (let page = 1; ; page++) {
      const res = await this.call({
        operation: 'ListMultipartUploads',
        method: 'GET',
        key: '',
        subresources: { uploads: undefined, prefix, ...markers },
      });
      clock ??= { serverNowMs: Date.parse(res.headers.date ?? '') || Date.now(), localNowMs: Date.now() };
      const xml = res.body.toString('utf8');
      for (const entry of xmlElements(xml, 'Upload')) {
        const upload = { key: xmlText(entry, 'Key'), uploadId: xmlText(entry, 'UploadId') };
        if (!upload.key || !upload.uploadId) {
          throw this.unexpected(
            'ListMultipartUploads',
            res,
            `an <Upload> without Key or UploadId on page ${page}, after ${uploadCount(uploads.length)}`,
          );
        }
        uploads.push({
          key: upload.key,
          uploadId: upload.uploadId,
          initiatedMs: Date.parse(xmlText(entry, 'Initiated') ?? ''),
        });
      }
      if (xmlText(xml, 'IsTruncated') !== 'true') break;
      const next = {
        'key-marker': xmlText(xml, 'NextKeyMarker') ?? '',
        'upload-id-marker': xmlText(xml, 'NextUploadIdMarker') ?? '',
      };
      // A truncated page without new markers would list the same page again, forever.
      if (
        page >= 1000 ||
        (next['key-marker'] === (markers?.['key-marker'] ?? '') &&
          next['upload-id-marker'] === (markers?.['upload-id-marker'] ?? ''))
      ) {
        throw this.unexpected(
          'ListMultipartUploads',
          res,
          `a truncated page (page ${page}, after ${uploadCount(uploads.length)}) came without new NextKeyMarker/NextUploadIdMarker`,
        );
      }
      markers = next;
    }
    return { uploads, ...clock! };
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.call({
      operation: 'AbortMultipartUpload',
      method: 'DELETE',
      key,
      subresources: { uploadId },
      accept: [404],
    });
  }
}

function uploadCount(n: number): string {
  return plural(n, 'upload');
}

function errorBodyIn(response: HttpResponse): string | undefined {
  return response.body.length > 0 && xmlRoot(response.body.toString('utf8')) === 'Error'
    ? 'with an <Error> body'
    : undefined;
}

/**
 * A transfer may take its time on a slow runner: the API deadline once, plus
 * once more per 8 MiB (with the default 30 s, at least about 280 KiB/s).
 */
function transferTimeoutMs(apiTimeoutMs: number, length: number): number {
  return Math.ceil(apiTimeoutMs * (1 + length / (8 * 1024 * 1024)));
}
