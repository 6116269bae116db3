/**
 * The OBS calls of an upload: HEAD, PUT, multipart, and the listing of open uploads. Signed with the OBS
 * signature, retried by policy (every call here is safe to repeat), and XML
 * read without depending on its namespace.
 */
import { isIP } from 'node:net';
import { CancelledError, ServiceError, SignInError } from '../errors.js';
import { hintFor } from '../hints.js';
import { type AttemptOutcome, judgeIdempotent, withRetry } from '../http/retry.js';
import { type BodySource, type HttpMethod, type HttpResponse, send } from '../http/transport.js';
import { snippet } from '../util/text.js';
import { type ClientContext, retryHooks } from './context.js';
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

/** The contents of every `<Name>` element, in order (for repeated elements such as `<Upload>`). */
export function xmlElements(xml: string, name: string): string[] {
  const re = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

/** The text of the first `<Name>` element, whatever namespace prefix or default namespace is used. */
export function xmlText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`).exec(
    xml,
  );
  return match?.[1] === undefined ? undefined : decodeXml(match[1].trim());
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (entity, name: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[name.toLowerCase()]) return named[name.toLowerCase()] as string;
    const code =
      name[1]?.toLowerCase() === 'x'
        ? Number.parseInt(name.slice(2), 16)
        : Number.parseInt(name.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : entity;
  });
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The root element's local name, or undefined when the body is not XML. */
function xmlRoot(xml: string): string | undefined {
  return /<(?:[\w.-]+:)?([\w.-]+)[\s>/]/.exec(
    xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, ''),
  )?.[1];
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

  private async call(call: ObsCall): Promise<HttpResponse> {
    const { ctx, target } = this;
    const url = objectUrl(target, call.key, call.subresources);
    let response: HttpResponse;
    try {
      response = await withRetry(
        async () => {
          const headers: Record<string, string> = { 'User-Agent': ctx.userAgent, ...call.headers };
          const credentials = await ctx.credentials.get(ctx.signal);
          Object.assign(
            headers,
            signObsRequest(
              {
                method: call.method,
                bucket: target.bucket,
                key: call.key,
                subresources: call.subresources,
                headers,
              },
              credentials,
              ctx.now?.() ?? new Date(),
            ),
          );
          return send(ctx.dispatcher, {
            method: call.method,
            url,
            headers,
            body: call.body,
            timeoutMs: call.timeoutMs ?? ctx.timeoutMs,
            signal: ctx.signal,
          });
        },
        (outcome) => {
          const decision = judgeIdempotent(outcome as AttemptOutcome);
          // An <Error> inside a 200 (documented for CompleteMultipartUpload) is a
          // failure; retry it like a 500 since the request is safe to repeat.
          // Only a 2xx: a 4xx with its <Error> body is as final as any other 4xx.
          if (
            'value' in outcome &&
            !decision.retry &&
            outcome.value.status >= 200 &&
            outcome.value.status < 300 &&
            isErrorBody(outcome.value as HttpResponse)
          ) {
            return { retry: true, reason: `HTTP ${outcome.value.status} with an <Error> body` };
          }
          return decision;
        },
        ctx.retry,
        retryHooks(ctx, `OBS ${call.operation}`, call.onRetry),
      );
    } catch (error) {
      // Only the credentials can fail with these before a request is sent: a failed keyless
      // renewal keeps IAM's (or GitHub's) message and hint.
      if (error instanceof CancelledError || error instanceof ServiceError || error instanceof SignInError)
        throw error;
      throw new ServiceError({
        service: 'OBS',
        operation: call.operation,
        detail: ctx.redactor.redact(error instanceof Error ? error.message : String(error)),
        hint: hintFor('OBS', undefined, undefined),
        cause: error,
      });
    }
    const ok = response.status >= 200 && response.status < 300 && !isErrorBody(response);
    if (!ok && !call.accept?.includes(response.status)) throw this.failure(call.operation, response);
    return response;
  }

  private failure(operation: string, response: HttpResponse): ServiceError {
    const xml = response.body.toString('utf8');
    const code = xmlText(xml, 'Code') ?? response.headers['x-obs-error-code'];
    const message = xmlText(xml, 'Message') ?? response.headers['x-obs-error-message'];
    return new ServiceError({
      service: 'OBS',
      operation,
      status: response.status,
      code,
      requestId: xmlText(xml, 'RequestId') ?? response.headers['x-obs-request-id'],
      detail: this.ctx.redactor.redact(message ?? (code ? code : `HTTP ${response.status}`)),
      hint: hintFor('OBS', response.status, code),
    });
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

  async putObject(
    key: string,
    object: {
      body: BodySource;
      length: number;
      md5Base64?: string;
      sha256Hex?: string;
      headers: Record<string, string>;
    },
    onRetry?: () => void,
  ): Promise<void> {
    await this.call({
      operation: 'PutObject',
      method: 'PUT',
      key,
      headers: {
        ...object.headers,
        'Content-Length': String(object.length),
        ...bodyDigestHeaders(object),
      },
      body: object.body,
      timeoutMs: transferTimeoutMs(this.ctx.timeoutMs, object.length),
      onRetry,
    });
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
      throw new ServiceError({
        service: 'OBS',
        operation: 'InitiateMultipartUpload',
        status: res.status,
        requestId: res.headers['x-obs-request-id'],
        detail: this.ctx.redactor.redact(`the answer has no UploadId: ${snippet(text, 200)}`),
        hint: 'a proxy or gateway may be answering instead of OBS: check obs-endpoint and the proxy settings',
      });
    }
    return uploadId;
  }

  /** Returns the part's ETag verbatim, quotes included, as CompleteMultipartUpload wants it. */
  async uploadPart(
    key: string,
    uploadId: string,
    part: { partNumber: number; length: number; md5Base64?: string; sha256Hex?: string; body: BodySource },
    onRetry?: () => void,
  ): Promise<string> {
    const res = await this.call({
      operation: 'UploadPart',
      method: 'PUT',
      key,
      subresources: { partNumber: String(part.partNumber), uploadId },
      headers: { 'Content-Length': String(part.length), ...bodyDigestHeaders(part) },
      body: part.body,
      timeoutMs: transferTimeoutMs(this.ctx.timeoutMs, part.length),
      onRetry,
    });
    const etag = res.headers.etag;
    if (!etag) throw this.failure('UploadPart', res);
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
        uploads.push({
          key: xmlText(entry, 'Key') ?? '',
          uploadId: xmlText(entry, 'UploadId') ?? '',
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
        throw new ServiceError({
          service: 'OBS',
          operation: 'ListMultipartUploads',
          status: res.status,
          requestId: res.headers['x-obs-request-id'],
          detail: 'a truncated page came without new NextKeyMarker/NextUploadIdMarker',
          hint: 'a proxy or gateway may be answering instead of OBS: check obs-endpoint and the proxy settings',
        });
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

/** The digests of a body that OBS verifies: `x-obs-content-sha256` (hex SHA-256) and/or `Content-MD5`. */
function bodyDigestHeaders(digests: { md5Base64?: string; sha256Hex?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (digests.md5Base64 !== undefined) headers['Content-MD5'] = digests.md5Base64;
  if (digests.sha256Hex !== undefined) headers['x-obs-content-sha256'] = digests.sha256Hex;
  return headers;
}

function isErrorBody(response: HttpResponse): boolean {
  return response.body.length > 0 && xmlRoot(response.body.toString('utf8')) === 'Error';
}

/**
 * A transfer may take its time on a slow runner: the API deadline once, plus
 * once more per 8 MiB (with the default 30 s, at least about 280 KiB/s).
 */
function transferTimeoutMs(apiTimeoutMs: number, length: number): number {
  return Math.ceil(apiTimeoutMs * (1 + length / (8 * 1024 * 1024)));
}
