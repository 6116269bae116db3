/**
 * Puts the scanned file into OBS: skipped when the same bytes are already
 * there, one PUT up to 16 MiB, otherwise multipart with a few parts in flight.
 * A multipart upload that fails is aborted, so nothing half-done is left (and
 * the caller pushes nothing).
 */
import { open } from 'node:fs/promises';
import { ServiceError } from '../errors.js';
import type { ObsClient } from '../huawei/obs.js';
import type { FileScan } from '../tar/scan.js';
import { mapPool } from '../util/pool.js';

export const PARTS_IN_FLIGHT = 4;
export const TAR_CONTENT_TYPE = 'application/x-tar';

export interface UploadRequest {
  path: string;
  key: string;
  scan: FileScan;
  skipUnchanged: boolean;
}

export interface UploadResult {
  uploaded: boolean;
  /** Why nothing was sent, when `uploaded` is false. */
  skipped?: string;
  multipart: boolean;
  parts: number;
  seconds: number;
}

export interface UploadEvents {
  /** Bytes sent so far (retried bytes counted once), of `total`. */
  progress?(sent: number, total: number): void;
  log?(message: string): void;
  warn?(message: string): void;
}

const CHUNK_BYTES = 1024 * 1024;
/**
 * Buffers per body, reused in turn. undici asks for the next chunk only once the
 * socket has taken the previous one below its high-water mark (it awaits 'drain'
 * otherwise), so a buffer handed out two chunks ago is no longer referenced.
 * Content-MD5 on every request would make OBS refuse anything else.
 */
const RING_SIZE = 3;

/**
 * Reads `[offset, offset + length)` of `path` as an async iterable for undici.
 *
 * A read stream allocates a fresh buffer for every chunk, 1,024 per GiB, and the
 * garbage piles up to 60-70 MiB before a collection (bench/upload.ts); a small
 * ring of reused buffers keeps the upload's memory flat and saves the allocations.
 */
async function* readRange(
  path: string,
  offset: number,
  length: number,
  onChunk: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const ring = Array.from({ length: Math.min(RING_SIZE, Math.ceil(length / CHUNK_BYTES)) }, () =>
      Buffer.allocUnsafeSlow(CHUNK_BYTES),
    );
    for (let done = 0, turn = 0; done < length; turn++) {
      const buffer = ring[turn % ring.length] as Buffer;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, length - done), offset + done);
      if (bytesRead === 0) throw new Error(`file '${path}' shrank while it was being uploaded`);
      done += bytesRead;
      onChunk(bytesRead);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Counts bytes as the HTTP client takes them, undoing an attempt that failed. */
class Progress {
  private sent = 0;
  constructor(
    private readonly total: number,
    private readonly report?: (sent: number, total: number) => void,
  ) {}

  /** A body factory for `[offset, offset + length)` of `path` (one call per attempt) and its undo. */
  opener(
    path: string,
    offset: number,
    length: number,
  ): { open: () => AsyncIterable<Uint8Array>; retried: () => void } {
    let counted = 0;
    return {
      open: () =>
        readRange(path, offset, length, (bytes) => {
          counted += bytes;
          this.sent += bytes;
          this.report?.(this.sent, this.total);
        }),
      retried: () => {
        this.sent -= counted;
        counted = 0;
      },
    };
  }
}

export async function uploadFile(
  obs: ObsClient,
  request: UploadRequest,
  events: UploadEvents = {},
): Promise<UploadResult> {
  const started = Date.now();
  const { scan, key, path } = request;
  const multipart = scan.parts.length > 0;
  const elapsed = () => (Date.now() - started) / 1000;

  if (request.skipUnchanged) {
    const existing = await obs.headObject(key);
    if (existing && existing.size === scan.size && existing.md5Hex?.toLowerCase() === scan.md5Hex) {
      return {
        uploaded: false,
        skipped: `the object already exists with the same size and MD5 (${scan.md5Hex})`,
        multipart,
        parts: 0,
        seconds: elapsed(),
      };
    }
  }

  const headers = { 'Content-Type': TAR_CONTENT_TYPE, 'x-obs-meta-md5': scan.md5Hex };
  const progress = new Progress(scan.size, events.progress);

  if (!multipart) {
    const body = progress.opener(path, 0, scan.size);
    await obs.putObject(
      key,
      { body: body.open, length: scan.size, md5Base64: scan.md5Base64, headers },
      body.retried,
    );
    return { uploaded: true, multipart, parts: 1, seconds: elapsed() };
  }

  const uploadId = await obs.initiateMultipartUpload(key, headers);
  try {
    const etags = await mapPool(scan.parts, PARTS_IN_FLIGHT, async (part) => {
      const body = progress.opener(path, part.offset, part.length);
      const etag = await obs.uploadPart(
        key,
        uploadId,
        { partNumber: part.partNumber, length: part.length, md5Base64: part.md5Base64, body: body.open },
        body.retried,
      );
      return { partNumber: part.partNumber, etag };
    });
    try {
      await obs.completeMultipartUpload(key, uploadId, etags);
    } catch (error) {
      // A retried complete meets NoSuchUpload when OBS completed the first attempt but its
      // answer was lost: the object is then there, with our size and MD5.
      if (!(error instanceof ServiceError && error.code === 'NoSuchUpload')) throw error;
      const existing = await obs.headObject(key);
      if (!(existing && existing.size === scan.size && existing.md5Hex?.toLowerCase() === scan.md5Hex))
        throw error;
      events.log?.(
        `CompleteMultipartUpload's answer was lost, but the object is complete (size and MD5 match)`,
      );
    }
  } catch (error) {
    try {
      await obs.abortMultipartUpload(key, uploadId);
      events.log?.(`Aborted multipart upload ${uploadId}; nothing was left in the bucket.`);
    } catch (abortError) {
      events.warn?.(
        `could not abort multipart upload ${uploadId} of ${key}: ${abortError instanceof Error ? abortError.message : String(abortError)}; ` +
          'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
      );
    }
    throw error;
  }
  return { uploaded: true, multipart, parts: scan.parts.length, seconds: elapsed() };
}
