/**
 * Puts the scanned file into OBS: skipped when the same bytes are already
 * there, one PUT up to 16 MiB, otherwise multipart with a few parts in flight.
 * A multipart upload that fails is aborted, so nothing half-done is left (and
 * the caller pushes nothing).
 */
import { createReadStream } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
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

/** Counts bytes as a stream is read by the HTTP client, undoing an attempt that failed. */
class Progress {
  private sent = 0;
  constructor(
    private readonly total: number,
    private readonly report?: (sent: number, total: number) => void,
  ) {}

  /** Opens `[offset, offset + length)` of `path`, counting what is read; one call per attempt. */
  opener(path: string, offset: number, length: number): { open: () => Readable; retried: () => void } {
    let counted = 0;
    return {
      open: () => {
        const file = createReadStream(path, {
          start: offset,
          end: offset + length - 1,
          highWaterMark: 1024 * 1024,
        });
        // Count in a pass-through, not with a 'data' listener: that would set the file flowing
        // before the HTTP client reads it, and the bytes read meanwhile (while a connection,
        // a TLS handshake or a proxy tunnel is still being set up) would be lost.
        const progress = this;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            counted += chunk.length;
            progress.sent += chunk.length;
            progress.report?.(progress.sent, progress.total);
            callback(null, chunk);
          },
        });
        pipeline(file, counter, (error) => {
          if (error) counter.destroy(error);
        });
        return counter;
      },
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
