/**
 * Puts the scanned file into OBS: skipped when the same bytes are already
 * there, one PUT up to 16 MiB, otherwise multipart with `concurrency` parts in
 * flight. A multipart upload that fails or is cancelled is aborted, and so are
 * the extra uploads a repeated Initiate opened (`./strays.ts`), so nothing
 * half-done is left (and the caller pushes nothing).
 */
import { open } from 'node:fs/promises';
import { ServiceError } from '../errors.js';
import type { ObsClient, ObsObjectInfo } from '../huawei/obs.js';
import type { FileScan } from '../tar/scan.js';
import { AdjustableLimit, mapPool } from '../util/pool.js';
import { errorMessage, plural } from '../util/text.js';
import { abortable, CLEANUP_GRACE_MS, cancelledError, cleanupSignal } from './cancel.js';
import { AUTO_START, AutoConcurrency, type AutoTiming } from './concurrency.js';
import { abortStrayUploads } from './strays.js';

/** Parts in flight when the caller does not say (the `upload-concurrency` default): adapted to the link. */
export const DEFAULT_UPLOAD_CONCURRENCY = 'auto' as const;
export const TAR_CONTENT_TYPE = 'application/x-tar';

export interface UploadRequest {
  path: string;
  key: string;
  scan: FileScan;
  skipUnchanged: boolean;
  /** Parts in flight, 1–64, or `auto` (`upload-concurrency`, the default): see `./concurrency.ts`. */
  concurrency?: number | 'auto';
  /** How `auto` measures (tests, benches); the defaults otherwise. */
  autoTiming?: AutoTiming;
  /**
   * The run's cancellation. When it aborts: no new part starts, the parts in flight are
   * stopped (the ObsClient's requests follow the same signal), the multipart upload is
   * aborted within a few seconds, and the call rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface UploadResult {
  uploaded: boolean;
  /** Why nothing was sent, when `uploaded` is false. */
  skipped?: string;
  multipart: boolean;
  parts: number;
  seconds: number;
  /** The most parts that were in flight at once (multipart only). */
  peakInFlight?: number;
}

export interface UploadEvents {
  /** Bytes sent so far (retried bytes counted once), of `total`. */
  progress?(sent: number, total: number): void;
  log?(message: string): void;
  warn?(message: string): void;
}

/**
 * Buffers per body, reused in turn. undici asks for the next chunk only once the
 * socket has taken the previous one below its high-water mark (it awaits 'drain'
 * otherwise), so a buffer handed out two chunks ago is no longer referenced.
 * The body digest on every request (x-obs-content-sha256) would make OBS refuse anything else.
 */
const RING_SIZE = 3;

/**
 * Read size per chunk of a body: 256 KiB, halved (down to 64 KiB) while the rings of all parts in
 * flight would hold more than 12 MiB: 256 KiB up to 16 parts, 128 KiB up to 32, 64 KiB up to 64.
 * Memory then stays the same whether `auto` settles at 8 or climbs to 64 (a far link, a big file),
 * and only links that one connection cannot fill (where the CPU is idle) get the smaller reads. On
 * loopback (CPU-bound, 512 MiB, 2 paired runs on a loaded machine) 256 KiB took the upload's CPU
 * from 1.28× esdk's to 1.15× against 128 KiB; 1 MiB saved no more CPU and took the peak RSS to
 * 194 MiB (bench/README.md).
 */
const CHUNK_BYTES = 256 * 1024;
const MIN_CHUNK_BYTES = 64 * 1024;
const RINGS_BUDGET_BYTES = 12 * 1024 * 1024;
export function chunkBytesFor(inFlight: number): number {
  let chunk = CHUNK_BYTES;
  while (chunk > MIN_CHUNK_BYTES && inFlight * RING_SIZE * chunk > RINGS_BUDGET_BYTES) chunk /= 2;
  return chunk;
}

/**
 * Rings of read buffers, allocated once and lent to one body at a time, all its
 * attempts included; a ring comes back only when the request has settled, so no
 * socket still holds one of its buffers.
 *
 * A read stream allocates a fresh buffer for every chunk (1,024 per GiB) and
 * fresh buffers per part still make 3 GiB of garbage per GiB sent; either way
 * it piles up to 60-70 MiB before a collection (bench/upload.ts). Reused rings
 * keep the upload's memory flat: parts in flight × RING_SIZE × `chunkBytesFor(parts in flight)`,
 * at most 12 MiB. A ring of the other size coming back is let go.
 */
class RingPool {
  private readonly free: Buffer[][] = [];

  async lend<T>(chunkBytes: number, use: (ring: Buffer[]) => Promise<T>): Promise<T> {
    let ring = this.free.pop();
    while (ring && ring[0]?.length !== chunkBytes) ring = this.free.pop();
    ring ??= Array.from({ length: RING_SIZE }, () => Buffer.allocUnsafeSlow(chunkBytes));
    try {
      return await use(ring);
    } finally {
      this.free.push(ring);
    }
  }
}

/** Reads `[offset, offset + length)` of `path` through `ring`, as an async iterable for undici. */
async function* readRange(
  path: string,
  range: { offset: number; length: number },
  ring: Buffer[],
  onChunk: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const { offset, length } = range;
  const handle = await open(path, 'r');
  try {
    for (let done = 0, turn = 0; done < length; turn++) {
      const buffer = ring[turn % ring.length] as Buffer;
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(buffer.length, length - done),
        offset + done,
      );
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

  /** A body factory for a range of `path` (one call per attempt) and its undo. */
  opener(
    path: string,
    range: { offset: number; length: number },
    ring: Buffer[],
  ): { open: () => AsyncIterable<Uint8Array>; retried: () => void } {
    let counted = 0;
    return {
      open: () =>
        readRange(path, range, ring, (bytes) => {
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

/** The object in OBS holds exactly the scanned bytes: same size and our own SHA-256 metadata. */
function isSameObject(existing: ObsObjectInfo | undefined, scan: FileScan): boolean {
  return !!existing && existing.size === scan.size && existing.sha256Hex?.toLowerCase() === scan.sha256Hex;
}

/** Uploads `request.scan`'s file; its part digests are closed when this settles. */
export async function uploadFile(
  obs: ObsClient,
  request: UploadRequest,
  events: UploadEvents = {},
): Promise<UploadResult> {
  try {
    return await upload(obs, request, events);
  } catch (error) {
    // Whatever failed last (a part, the HEAD), a cancelled upload reports the cancellation.
    throw request.signal?.aborted ? cancelledError(request.signal) : error;
  } finally {
    await request.scan.partDigests.close();
  }
}

async function upload(obs: ObsClient, request: UploadRequest, events: UploadEvents): Promise<UploadResult> {
  const started = Date.now();
  const { scan, key, path, signal } = request;
  const multipart = scan.parts.length > 0;
  const elapsed = () => (Date.now() - started) / 1000;

  if (request.skipUnchanged) {
    if (isSameObject(await obs.headObject(key), scan)) {
      return {
        uploaded: false,
        skipped: `the object already exists with the same size and SHA-256 (${scan.sha256Hex})`,
        multipart,
        parts: 0,
        seconds: elapsed(),
      };
    }
  }
  signal?.throwIfAborted();

  const headers = { 'Content-Type': TAR_CONTENT_TYPE, 'x-obs-meta-sha256': scan.sha256Hex };
  const rings = new RingPool();
  const mode = request.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
  const limit = new AdjustableLimit(mode === 'auto' ? AUTO_START : mode);
  const auto = mode === 'auto' && multipart ? new AutoConcurrency(request.autoTiming) : undefined;
  let partsStarted = 0;
  const progress = new Progress(scan.size, (sent, total) => {
    events.progress?.(sent, total);
    // Once every part has started, more parts in flight could not be tried, and a falling rate
    // says only that the parts are running out: nothing left to decide.
    if (partsStarted >= scan.parts.length) return;
    const change = auto?.sample(performance.now(), sent);
    if (!change) return;
    limit.set(change.limit);
    events.log?.(`Upload: ${change.reason}`);
  });

  if (!multipart) {
    await rings.lend(CHUNK_BYTES, (ring) => {
      const body = progress.opener(path, { offset: 0, length: scan.size }, ring);
      // The whole file's SHA-256 is the body's digest too: OBS checks every byte against it.
      const object = { body: body.open, length: scan.size, sha256Hex: scan.sha256Hex, headers };
      return obs.putObject(key, object, body.retried);
    });
    return { uploaded: true, multipart, parts: 1, seconds: elapsed() };
  }

  // Every Initiate request that reached OBS opened an upload; only the last answer's id is ours.
  const firstSentAtMs = Date.now();
  let initiateRequests = 1;
  let uploadId: string | undefined;
  let inFlight = 0;
  let peakInFlight = 0;
  try {
    uploadId = await obs.initiateMultipartUpload(key, headers, () => initiateRequests++);
    const inUse = uploadId;
    events.log?.(
      `Upload: ${auto ? auto.start(performance.now()).reason : `${partsText(limit.value)} in flight (upload-concurrency: ${limit.value})`}`,
    );
    const etags = await mapPool(
      scan.parts,
      limit,
      async (part) => {
        partsStarted++;
        const sha256Hex = await abortable(scan.partDigests.sha256Hex(part.partNumber), signal);
        peakInFlight = Math.max(peakInFlight, ++inFlight);
        return rings
          .lend(chunkBytesFor(limit.value), async (ring) => {
            const body = progress.opener(path, part, ring);
            const { partNumber, length } = part;
            const etag = await obs.uploadPart(
              key,
              inUse,
              { partNumber, length, sha256Hex, body: body.open },
              body.retried,
            );
            return { partNumber, etag };
          })
          .finally(() => inFlight--);
      },
      signal,
    );
    try {
      await obs.completeMultipartUpload(key, inUse, etags);
    } catch (error) {
      // A retried complete meets NoSuchUpload when OBS completed the first attempt but its
      // answer was lost: the object is then there, with our size and SHA-256.
      if (!(error instanceof ServiceError && error.code === 'NoSuchUpload')) throw error;
      if (!isSameObject(await obs.headObject(key), scan)) throw error;
      events.log?.(
        `CompleteMultipartUpload's answer was lost, but the object is complete (size and SHA-256 match)`,
      );
    }
  } catch (error) {
    const cleanup = cleanupClient(obs, signal);
    if (uploadId !== undefined) await abortUpload(cleanup, key, uploadId, events);
    if (initiateRequests > 1 || (uploadId === undefined && !answered(error))) {
      await abortStrayUploads(cleanup, { key, keep: undefined, firstSentAtMs }, events);
    }
    throw error;
  }
  if (initiateRequests > 1) {
    await abortStrayUploads(cleanupClient(obs, signal), { key, keep: uploadId, firstSentAtMs }, events);
  }
  events.log?.(
    `Upload: at most ${partsText(peakInFlight)} in flight` +
      (auto ? ` (auto tried ${auto.levels.map((l) => l.limit).join(', ') || 'only the start'})` : ''),
  );
  return { uploaded: true, multipart, parts: scan.parts.length, seconds: elapsed(), peakInFlight };
}

const partsText = (n: number) => plural(n, 'part');

/**
 * The client for clean-up requests: the run's cancellation does not stop them, but once it has
 * come they get `CLEANUP_GRACE_MS` in all (one short attempt or two), so the run still ends in time.
 */
function cleanupClient(obs: ObsClient, signal: AbortSignal | undefined): ObsClient {
  if (!signal) return obs;
  if (!signal.aborted) return obs.withContext({ signal: cleanupSignal(signal) });
  return obs.withContext({
    signal: cleanupSignal(signal),
    timeoutMs: CLEANUP_GRACE_MS / 2,
    retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 },
  });
}

/** Whether OBS answered the request that failed (then it opened nothing). */
function answered(error: unknown): boolean {
  return error instanceof ServiceError && error.status !== undefined;
}

async function abortUpload(obs: ObsClient, key: string, uploadId: string, events: UploadEvents) {
  try {
    await obs.abortMultipartUpload(key, uploadId);
    events.log?.(`Aborted multipart upload ${uploadId}; nothing was left in the bucket.`);
  } catch (abortError) {
    events.warn?.(
      `could not abort multipart upload ${uploadId} of ${key}: ${errorMessage(abortError)}; ` +
        'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
    );
  }
}
