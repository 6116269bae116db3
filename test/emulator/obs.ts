/**
 * OBS object store and request handlers (path-style `/{bucket}/{key}`; virtual-hosted works too).
 * Bodies are streamed to files while hashed, never buffered whole, so benchmarks can push GiBs.
 * A multipart object is kept as its part files (no copy at complete); `objectPath()` joins them
 * into one file only when someone asks for a single path.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { obsErrorXml, xmlEscape } from './faults.js';
import type { EmulatorSettings, HandlerResponse, Op } from './types.js';

const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** A CompleteMultipartUpload listing 10,000 parts is about 1 MB. */
const MAX_XML_BODY = 4 * 1024 * 1024;
/** `getObject()` returns the bytes up to this size. */
const SMALL_OBJECT = 32 * 1024 * 1024;
const XMLNS = 'http://obs.myhwclouds.com/doc/2015-06-30/';

export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  /** As sent in the ETag header, quotes included. Multipart: `"<md5 of part md5s>-<parts>"`. */
  etag: string;
  contentType: string;
  /** `x-obs-meta-*` headers, names without the prefix (lower-case). */
  metadata: Record<string, string>;
  /** Files holding the data in order; null when data is discarded. */
  segments: string[] | null;
  /** Hex MD5 of the content; computed lazily for multipart objects (null if data was discarded). */
  md5Hex: string | null | undefined;
  lastModified: number;
  /** Number of parts for a multipart object. */
  parts?: number;
}

export interface ObjectInfo {
  /** The bytes, when the object is at most 32 MiB and its data was kept. */
  data?: Buffer;
  size: number;
  /** Hex MD5 of the content; null when the data of a multipart object was discarded. */
  md5Hex: string | null;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  /** Part count for an object assembled by CompleteMultipartUpload. */
  parts?: number;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  md5Hex: string;
  etag: string;
  file: string | null;
}

export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  /** Ms since the epoch on the emulator's clock (`clockSkewMs` included), as `<Initiated>` lists it. */
  initiated: number;
  parts: Map<number, StoredPart>;
}

export interface ObsContext {
  op: Op;
  method: string;
  bucket: string;
  key: string | undefined;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  requestId: string;
  /** Called once the body has been fully received, before anything is committed (the `delay` fault). */
  afterBody: () => Promise<void>;
  /** Filled with what the body held. */
  bodyStats: { bytes: number; md5Hex: string };
}

function objectId(bucket: string, key: string): string {
  return `${bucket}\n${key}`;
}

function header(headers: ObsContext['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function metadataOf(headers: ObsContext['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // x-amz-meta-* is what clients signing in the AWS V2 form send; OBS takes both.
    const m = /^x-(?:obs|amz)-meta-(.+)$/.exec(name);
    if (m && value !== undefined) out[m[1]!] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

export function obsErrorResponse(
  status: number,
  code: string,
  message: string,
  requestId: string,
  extra = '',
): HandlerResponse {
  return {
    status,
    errorCode: code,
    headers: { 'content-type': 'application/xml', 'x-obs-error-code': code },
    body: obsErrorXml(code, message, requestId, extra),
  };
}

function xmlResponse(body: string): HandlerResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`,
  };
}

/** Read and discard a body, hashing it for the recording. */
export async function drainBody(req: IncomingMessage, stats: ObsContext['bodyStats']): Promise<void> {
  const hash = createHash('md5');
  let bytes = 0;
  await pipeline(
    req,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb();
      },
    }),
  );
  stats.bytes = bytes;
  stats.md5Hex = hash.digest('hex');
}

function parseContentMd5(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const buf = Buffer.from(value, 'base64');
  if (buf.length !== 16 || buf.toString('base64') !== value.trim()) return null;
  return buf.toString('hex');
}

export class ObsStore {
  readonly buckets: Set<string>;
  readonly objects = new Map<string, StoredObject>();
  /** Open multipart uploads by upload id. */
  readonly uploads = new Map<string, MultipartUpload>();
  private fileCounter = 0;

  constructor(
    private readonly dir: string,
    private readonly settings: EmulatorSettings,
    private readonly initialBuckets: string[],
  ) {
    mkdirSync(dir, { recursive: true });
    this.buckets = new Set(initialBuckets);
  }

  private newFile(tag: string): string {
    this.fileCounter += 1;
    return join(this.dir, `${this.fileCounter}.${tag}`);
  }

  private removeFiles(files: readonly (string | null)[] | null): void {
    // With phonesDir set, a job may still unpack an object that has since been replaced.
    if (!files || this.settings.phonesDir) return;
    for (const f of files) if (f) rmSync(f, { force: true });
  }

  hasObject(bucket: string, key: string): boolean {
    return this.objects.has(objectId(bucket, key));
  }

  storedObject(bucket: string, key: string): StoredObject | undefined {
    return this.objects.get(objectId(bucket, key));
  }

  /** Seed an object directly (no HTTP, no signature). The bucket must exist. */
  putObject(
    bucket: string,
    key: string,
    data: Buffer | string,
    options: { contentType?: string; metadata?: Record<string, string> } = {},
  ): ObjectInfo {
    if (!this.buckets.has(bucket)) throw new Error(`emulator OBS: no bucket ${bucket}`);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const md5Hex = createHash('md5').update(buf).digest('hex');
    let segments: string[] | null = null;
    if (!this.settings.discardObjectData) {
      const file = this.newFile('obj');
      writeFileSync(file, buf);
      segments = [file];
    }
    this.commit({
      bucket,
      key,
      size: buf.length,
      etag: `"${md5Hex}"`,
      contentType: options.contentType ?? 'binary/octet-stream',
      metadata: { ...(options.metadata ?? {}) },
      segments,
      md5Hex,
      lastModified: Date.now(),
    });
    return this.getObject(bucket, key)!;
  }

  private commit(obj: StoredObject): void {
    const id = objectId(obj.bucket, obj.key);
    const old = this.objects.get(id);
    this.objects.set(id, obj);
    if (old) this.removeFiles(old.segments);
  }

  getObject(bucket: string, key: string): ObjectInfo | undefined {
    const obj = this.objects.get(objectId(bucket, key));
    if (!obj) return undefined;
    if (obj.md5Hex === undefined) obj.md5Hex = obj.segments ? md5OfFiles(obj.segments) : null;
    const info: ObjectInfo = {
      size: obj.size,
      md5Hex: obj.md5Hex,
      etag: obj.etag,
      contentType: obj.contentType,
      metadata: { ...obj.metadata },
    };
    if (obj.parts !== undefined) info.parts = obj.parts;
    if (obj.segments && obj.size <= SMALL_OBJECT)
      info.data = Buffer.concat(obj.segments.map((f) => readFileSync(f)));
    return info;
  }

  /** One file on disk holding the object (joined on first call for multipart objects); undefined when absent or discarded. */
  objectPath(bucket: string, key: string): string | undefined {
    const obj = this.objects.get(objectId(bucket, key));
    if (!obj?.segments) return undefined;
    if (obj.segments.length > 1) {
      const file = this.newFile('obj');
      concatFilesSync(obj.segments, file);
      const old = obj.segments;
      obj.segments = [file];
      this.removeFiles(old);
    }
    return obj.segments[0];
  }

  deleteObject(bucket: string, key: string): boolean {
    const id = objectId(bucket, key);
    const old = this.objects.get(id);
    if (!old) return false;
    this.objects.delete(id);
    this.removeFiles(old.segments);
    return true;
  }

  private dropUpload(upload: MultipartUpload): void {
    this.uploads.delete(upload.uploadId);
    this.removeFiles([...upload.parts.values()].map((p) => p.file));
  }

  reset(options: { keepObjects?: boolean } = {}): void {
    for (const upload of [...this.uploads.values()]) this.dropUpload(upload);
    this.uploads.clear();
    if (!options.keepObjects) {
      this.objects.clear();
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(this.dir, { recursive: true });
      this.buckets.clear();
      for (const b of this.initialBuckets) this.buckets.add(b);
    }
  }

  private readonly sharedLink: SharedLink = { freeAtMs: 0 };

  /** Stream a body to a new file (or nowhere) while hashing it. */
  private async receive(
    req: IncomingMessage,
    ctx: ObsContext,
  ): Promise<{ file: string | null; size: number; md5Hex: string; sha256Hex: string | undefined }> {
    const file = this.settings.discardObjectData ? null : this.newFile('tmp');
    const hash = createHash('md5');
    // Only when the request carries x-obs-content-sha256: the benches' loopback figures stay honest.
    const sha256 =
      header(ctx.headers, 'x-obs-content-sha256') === undefined ? undefined : createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        sha256?.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const sink = file
      ? createWriteStream(file)
      : new Writable({
          write(_chunk, _enc, cb) {
            cb();
          },
        });
    const throttle = this.settings.throttle;
    try {
      if (throttle) {
        const total = throttle.totalBytesPerSecond
          ? { bytesPerSecond: throttle.totalBytesPerSecond, link: this.sharedLink }
          : undefined;
        await pipeline(req, rateLimit(throttle.bytesPerSecond, total), tap, sink);
      } else await pipeline(req, tap, sink);
    } catch (err) {
      if (file) rmSync(file, { force: true });
      throw err;
    }
    const md5Hex = hash.digest('hex');
    ctx.bodyStats.bytes = size;
    ctx.bodyStats.md5Hex = md5Hex;
    return { file, size, md5Hex, sha256Hex: sha256?.digest('hex') };
  }

  private async readSmallBody(req: IncomingMessage, ctx: ObsContext): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_XML_BODY) chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    ctx.bodyStats.bytes = size;
    ctx.bodyStats.md5Hex = createHash('md5').update(body).digest('hex');
    return size > MAX_XML_BODY ? undefined : body;
  }

  /** Handle one authenticated OBS request. */
  async handle(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    const { requestId, bucket, key } = ctx;
    if (!this.buckets.has(bucket)) {
      await drainBody(req, ctx.bodyStats);
      return obsErrorResponse(404, 'NoSuchBucket', 'The specified bucket does not exist', requestId);
    }
    switch (ctx.op) {
      case 'HeadBucket':
        await drainBody(req, ctx.bodyStats);
        return { status: 200 };
      case 'HeadObject':
      case 'GetObject':
        await drainBody(req, ctx.bodyStats);
        return this.readObject(ctx);
      case 'DeleteObject':
        await drainBody(req, ctx.bodyStats);
        await ctx.afterBody();
        this.deleteObject(bucket, key!);
        return { status: 204 };
      case 'PutObject':
        return this.putFromRequest(req, ctx);
      case 'InitiateMultipartUpload':
        return this.initiate(req, ctx);
      case 'UploadPart':
        return this.uploadPart(req, ctx);
      case 'CompleteMultipartUpload':
        return this.complete(req, ctx);
      case 'AbortMultipartUpload':
        return this.abort(req, ctx);
      case 'ListMultipartUploads':
        await drainBody(req, ctx.bodyStats);
        await ctx.afterBody();
        return this.listUploads(ctx);
      default:
        await drainBody(req, ctx.bodyStats);
        return obsErrorResponse(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          requestId,
        );
    }
  }

  private readObject(ctx: ObsContext): HandlerResponse {
    const obj = this.objects.get(objectId(ctx.bucket, ctx.key!));
    if (!obj) {
      if (ctx.op === 'HeadObject') {
        return { status: 404, errorCode: 'NoSuchKey', headers: { 'x-obs-error-code': 'NoSuchKey' } };
      }
      return obsErrorResponse(404, 'NoSuchKey', 'The specified key does not exist.', ctx.requestId);
    }
    const headers: Record<string, string> = {
      'content-length': String(obj.size),
      'content-type': obj.contentType,
      etag: obj.etag,
      'last-modified': new Date(obj.lastModified).toUTCString(),
    };
    const awsForm = /^AWS /.test(header(ctx.headers, 'authorization') ?? '');
    for (const [name, value] of Object.entries(obj.metadata))
      headers[`x-${awsForm ? 'amz' : 'obs'}-meta-${name}`] = value;
    if (ctx.op === 'HeadObject') return { status: 200, headers };
    if (!obj.segments) {
      return obsErrorResponse(
        501,
        'NotImplemented',
        'The emulator discarded this object data (discardObjectData).',
        ctx.requestId,
      );
    }
    return { status: 200, headers, files: [...obj.segments] };
  }

  /** Checks shared by PutObject and UploadPart before the body is read; a response means "refuse". */
  private precheckUpload(
    ctx: ObsContext,
    maxSize: number,
  ): { expectMd5: string | undefined; expectSha256: string | undefined } | { response: HandlerResponse } {
    const length = header(ctx.headers, 'content-length');
    if (length === undefined || !/^\d+$/.test(length)) {
      const response = obsErrorResponse(
        411,
        'MissingContentLength',
        'You must provide the Content-Length HTTP header.',
        ctx.requestId,
      );
      return { response: { ...response, closeConnection: true } };
    }
    if (Number(length) > maxSize) {
      const response = obsErrorResponse(
        400,
        'EntityTooLarge',
        'Your proposed upload exceeds the maximum allowed object size.',
        ctx.requestId,
      );
      return { response: { ...response, closeConnection: true } };
    }
    const expect = parseContentMd5(header(ctx.headers, 'content-md5'));
    if (expect === null) {
      const response = obsErrorResponse(
        400,
        'InvalidDigest',
        'The Content-MD5 you specified was invalid.',
        ctx.requestId,
      );
      return { response: { ...response, closeConnection: true } };
    }
    const expectSha256 = header(ctx.headers, 'x-obs-content-sha256');
    if (expectSha256 !== undefined && !/^[0-9a-f]{64}$/.test(expectSha256)) {
      const response = obsErrorResponse(
        400,
        'InvalidDigest',
        'The x-obs-content-sha256 you specified was invalid.',
        ctx.requestId,
      );
      return { response: { ...response, closeConnection: true } };
    }
    return { expectMd5: expect, expectSha256 };
  }

  /** The refusal of a body whose digests do not match what was received, as OBS answers it. */
  private digestMismatch(
    check: { expectMd5: string | undefined; expectSha256: string | undefined },
    got: { md5Hex: string; sha256Hex: string | undefined },
    ctx: ObsContext,
  ): HandlerResponse | undefined {
    if (check.expectMd5 !== undefined && check.expectMd5 !== got.md5Hex) {
      return obsErrorResponse(
        400,
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.',
        ctx.requestId,
      );
    }
    if (check.expectSha256 !== undefined && check.expectSha256 !== got.sha256Hex) {
      return obsErrorResponse(
        400,
        'BadDigest',
        'The x-obs-content-sha256 you specified did not match what we received.',
        ctx.requestId,
      );
    }
    return undefined;
  }

  private async putFromRequest(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    const check = this.precheckUpload(ctx, MAX_SINGLE_PUT);
    if ('response' in check) return check.response;
    const got = await this.receive(req, ctx);
    await ctx.afterBody();
    const mismatch = this.digestMismatch(check, got, ctx);
    if (mismatch) {
      this.removeFiles([got.file]);
      return mismatch;
    }
    let segments: string[] | null = null;
    if (got.file) {
      const file = this.newFile('obj');
      renameSync(got.file, file);
      segments = [file];
    }
    this.commit({
      bucket: ctx.bucket,
      key: ctx.key!,
      size: got.size,
      etag: `"${got.md5Hex}"`,
      contentType: header(ctx.headers, 'content-type') ?? 'binary/octet-stream',
      metadata: metadataOf(ctx.headers),
      segments,
      md5Hex: got.md5Hex,
      lastModified: Date.now(),
    });
    return { status: 200, headers: { etag: `"${got.md5Hex}"` } };
  }

  private async initiate(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    await drainBody(req, ctx.bodyStats);
    await ctx.afterBody();
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    this.uploads.set(uploadId, {
      uploadId,
      bucket: ctx.bucket,
      key: ctx.key!,
      contentType: header(ctx.headers, 'content-type') ?? 'binary/octet-stream',
      metadata: metadataOf(ctx.headers),
      // On the emulator's clock, like the `Date` of its answers.
      initiated: Date.now() + this.settings.clockSkewMs,
      parts: new Map(),
    });
    return xmlResponse(
      `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(ctx.bucket)}</Bucket>` +
        `<Key>${xmlEscape(ctx.key!)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    );
  }

  private findUpload(ctx: ObsContext): MultipartUpload | undefined {
    const upload = this.uploads.get(ctx.query['uploadId'] ?? '');
    return upload && upload.bucket === ctx.bucket && upload.key === ctx.key ? upload : undefined;
  }

  private noSuchUpload(ctx: ObsContext): HandlerResponse {
    return obsErrorResponse(
      404,
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      ctx.requestId,
    );
  }

  private async uploadPart(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    const partText = ctx.query['partNumber'] ?? '';
    const partNumber = /^\d{1,5}$/.test(partText) ? Number(partText) : Number.NaN;
    if (!(partNumber >= 1 && partNumber <= 10000)) {
      await drainBody(req, ctx.bodyStats);
      return obsErrorResponse(
        400,
        'InvalidArgument',
        'Part number must be an integer between 1 and 10000, inclusive',
        ctx.requestId,
      );
    }
    if (!this.findUpload(ctx)) {
      await drainBody(req, ctx.bodyStats);
      return this.noSuchUpload(ctx);
    }
    const check = this.precheckUpload(ctx, MAX_SINGLE_PUT);
    if ('response' in check) return check.response;
    const got = await this.receive(req, ctx);
    await ctx.afterBody();
    const upload = this.findUpload(ctx);
    const mismatch = this.digestMismatch(check, got, ctx);
    if (mismatch) {
      this.removeFiles([got.file]);
      return mismatch;
    }
    if (!upload) {
      // Aborted while this part was in flight.
      this.removeFiles([got.file]);
      return this.noSuchUpload(ctx);
    }
    const old = upload.parts.get(partNumber);
    const etag = `"${got.md5Hex}"`;
    upload.parts.set(partNumber, { partNumber, size: got.size, md5Hex: got.md5Hex, etag, file: got.file });
    if (old) this.removeFiles([old.file]);
    return { status: 200, headers: { etag } };
  }

  private async complete(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    const body = await this.readSmallBody(req, ctx);
    await ctx.afterBody();
    const upload = this.findUpload(ctx);
    if (!upload) return this.noSuchUpload(ctx);
    const expectMd5 = parseContentMd5(header(ctx.headers, 'content-md5'));
    if (expectMd5 === null)
      return obsErrorResponse(
        400,
        'InvalidDigest',
        'The Content-MD5 you specified was invalid.',
        ctx.requestId,
      );
    if (expectMd5 !== undefined && expectMd5 !== ctx.bodyStats.md5Hex) {
      return obsErrorResponse(
        400,
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.',
        ctx.requestId,
      );
    }
    const listed = body ? parseCompleteXml(body.toString('utf8')) : undefined;
    if (!listed || listed.length === 0) {
      return obsErrorResponse(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema.',
        ctx.requestId,
      );
    }
    const chosen: StoredPart[] = [];
    let previous = 0;
    for (const item of listed) {
      if (item.partNumber <= previous) {
        return obsErrorResponse(
          400,
          'InvalidPartOrder',
          'The list of parts was not in ascending order.',
          ctx.requestId,
        );
      }
      previous = item.partNumber;
      const part = upload.parts.get(item.partNumber);
      if (!part || unquote(part.etag) !== unquote(item.etag)) {
        return obsErrorResponse(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
          ctx.requestId,
        );
      }
      chosen.push(part);
    }
    for (const part of chosen.slice(0, -1)) {
      if (part.size < this.settings.minPartSize) {
        return obsErrorResponse(
          400,
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          ctx.requestId,
        );
      }
    }
    const digest = createHash('md5');
    for (const part of chosen) digest.update(Buffer.from(part.md5Hex, 'hex'));
    const etag = `"${digest.digest('hex')}-${chosen.length}"`;
    this.uploads.delete(upload.uploadId);
    const chosenNumbers = new Set(chosen.map((p) => p.partNumber));
    this.removeFiles(
      [...upload.parts.values()].filter((p) => !chosenNumbers.has(p.partNumber)).map((p) => p.file),
    );
    this.commit({
      bucket: upload.bucket,
      key: upload.key,
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag,
      contentType: upload.contentType,
      metadata: upload.metadata,
      segments:
        this.settings.discardObjectData || chosen.some((p) => !p.file) ? null : chosen.map((p) => p.file!),
      md5Hex: this.settings.discardObjectData ? null : undefined,
      lastModified: Date.now(),
      parts: chosen.length,
    });
    return xmlResponse(
      `<CompleteMultipartUploadResult xmlns="${XMLNS}"><Location>/${xmlEscape(upload.bucket)}/${xmlEscape(upload.key)}</Location>` +
        `<Bucket>${xmlEscape(upload.bucket)}</Bucket><Key>${xmlEscape(upload.key)}</Key><ETag>${xmlEscape(etag)}</ETag>` +
        '</CompleteMultipartUploadResult>',
    );
  }

  /**
   * Open uploads of the bucket whose key starts with `prefix`, ordered by key, then initiation
   * time, then id; a page ends after `max-uploads` (at most `listUploadsPageSize`), and the next
   * one starts after (`key-marker`, `upload-id-marker`), or after every upload of `key-marker`
   * when no upload id marker is given.
   */
  private listUploads(ctx: ObsContext): HandlerResponse {
    const prefix = ctx.query['prefix'] ?? '';
    const keyMarker = ctx.query['key-marker'] ?? '';
    const idMarker = ctx.query['upload-id-marker'] ?? '';
    const asked = Number(ctx.query['max-uploads'] ?? 1000);
    if (!Number.isInteger(asked) || asked < 1 || asked > 1000) {
      return obsErrorResponse(
        400,
        'InvalidArgument',
        'Argument max-uploads must be an integer between 1 and 1000.',
        ctx.requestId,
      );
    }
    const max = Math.min(asked, this.settings.listUploadsPageSize);
    const all = [...this.uploads.values()]
      .filter((u) => u.bucket === ctx.bucket && u.key.startsWith(prefix))
      .sort((a, b) => compare(a.key, b.key) || a.initiated - b.initiated || compare(a.uploadId, b.uploadId));
    let start = 0;
    if (keyMarker !== '') {
      const marked =
        idMarker === '' ? -1 : all.findIndex((u) => u.key === keyMarker && u.uploadId === idMarker);
      start = marked >= 0 ? marked + 1 : all.findIndex((u) => u.key > keyMarker);
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + max);
    const truncated = start + max < all.length;
    const last = page.at(-1);
    const text = (name: string, value: string) => `<${name}>${xmlEscape(value)}</${name}>`;
    return xmlResponse(
      `<ListMultipartUploadsResult xmlns="${XMLNS}">${text('Bucket', ctx.bucket)}` +
        `${text('KeyMarker', keyMarker)}${text('UploadIdMarker', idMarker)}` +
        (truncated && last
          ? `${text('NextKeyMarker', last.key)}${text('NextUploadIdMarker', last.uploadId)}`
          : '') +
        `${text('MaxUploads', String(max))}${text('IsTruncated', String(truncated))}${text('Prefix', prefix)}` +
        page
          .map(
            (u) =>
              `<Upload>${text('Key', u.key)}${text('UploadId', u.uploadId)}` +
              '<Initiator><ID>emulator-domain-id</ID></Initiator><Owner><ID>emulator-domain-id</ID></Owner>' +
              `<StorageClass>STANDARD</StorageClass>${text('Initiated', new Date(u.initiated).toISOString())}</Upload>`,
          )
          .join('') +
        '</ListMultipartUploadsResult>',
    );
  }

  private async abort(req: IncomingMessage, ctx: ObsContext): Promise<HandlerResponse> {
    await drainBody(req, ctx.bodyStats);
    await ctx.afterBody();
    const upload = this.findUpload(ctx);
    if (!upload) return this.noSuchUpload(ctx);
    this.dropUpload(upload);
    return { status: 204 };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Passes bytes on no faster than `bytesPerSecond` (one request, so one connection, at a time). */
/** When the shared link is next free, ms (a capped link: every connection's bytes queue on it). */
interface SharedLink {
  freeAtMs: number;
}

function rateLimit(bytesPerSecond: number, total?: { bytesPerSecond: number; link: SharedLink }): Transform {
  const started = Date.now();
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      let due = started + (bytes / bytesPerSecond) * 1000;
      if (total) {
        total.link.freeAtMs =
          Math.max(Date.now(), total.link.freeAtMs) + (chunk.length / total.bytesPerSecond) * 1000;
        due = Math.max(due, total.link.freeAtMs);
      }
      const wait = due - Date.now();
      if (wait > 1) setTimeout(() => cb(null, chunk), wait);
      else cb(null, chunk);
    },
  });
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1');
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

/** Parts listed in a CompleteMultipartUpload body, in document order; undefined when malformed. */
export function parseCompleteXml(xml: string): Array<{ partNumber: number; etag: string }> | undefined {
  if (!/<(?:\w+:)?CompleteMultipartUpload[\s>]/.test(xml)) return undefined;
  const parts: Array<{ partNumber: number; etag: string }> = [];
  for (const m of xml.matchAll(/<(?:\w+:)?Part>([\s\S]*?)<\/(?:\w+:)?Part>/g)) {
    const inner = m[1]!;
    const num = /<(?:\w+:)?PartNumber>\s*(\d+)\s*<\/(?:\w+:)?PartNumber>/.exec(inner);
    const etag = /<(?:\w+:)?ETag>([\s\S]*?)<\/(?:\w+:)?ETag>/.exec(inner);
    if (!num || !etag) return undefined;
    parts.push({ partNumber: Number(num[1]), etag: xmlUnescape(etag[1]!) });
  }
  return parts;
}

function md5OfFiles(files: string[]): string {
  const hash = createHash('md5');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  return hash.digest('hex');
}

function concatFilesSync(files: string[], target: string): void {
  const out = openSync(target, 'w');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  try {
    for (const f of files) {
      const fd = openSync(f, 'r');
      try {
        for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) writeSync(out, buf, 0, n);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(out);
  }
}
