/**
 * The one read pass over the local tar before upload: tar safety check, whole-file MD5 (for
 * `x-obs-meta-md5`) and each multipart part's MD5 (for its `Content-MD5`), so the upload never
 * has to read a part twice or hold one in memory.
 *
 * MD5 runs at ~600 MiB/s on one core, and hashing every byte twice (whole file + its part) on
 * one thread halves that. For multipart files the part hashes are therefore computed by a worker
 * thread that reads the file itself, in parallel with the main thread (see bench/scan.ts for
 * the figures). The worker is inline JavaScript so that the ncc bundle stays one file.
 */

import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { TarInspector, type TarReport, throwIfProblems } from './inspect.js';

/** Files up to this size go up in one PUT; larger ones as multipart. */
export const SINGLE_PUT_LIMIT = 16 * 1024 * 1024;
/** OBS allows at most 10000 parts per multipart upload. */
export const MAX_PARTS = 10_000;
const READ_BUFFER_BYTES = 1024 * 1024;

/** Part size for a multipart upload of `size` bytes: at least 16 MiB, and few enough parts for OBS. */
export function partSizeFor(size: number): number {
  return Math.max(SINGLE_PUT_LIMIT, Math.ceil(size / MAX_PARTS));
}

export interface FilePart {
  partNumber: number;
  offset: number;
  length: number;
  md5Base64: string;
}

export interface FileScan {
  size: number;
  md5Hex: string;
  md5Base64: string;
  /** Consecutive slices of `partSizeFor(size)` bytes; empty when `size <= SINGLE_PUT_LIMIT`. */
  parts: FilePart[];
  tar: TarReport;
}

export interface ScanOptions {
  strictLayout: boolean;
  /** Called after every chunk read by the main pass; throttling is the caller's business. */
  onProgress?: (bytesRead: number, total: number) => void;
  /** Name used in a TarError message; defaults to the path. */
  displayName?: string;
  /**
   * Where part MD5s are computed: `worker` (a worker thread reading the file in parallel),
   * `inline` (in the main pass). `auto` (default) uses the worker for multipart files.
   */
  partHashing?: 'auto' | 'worker' | 'inline';
}

/** Read `path` once; throws TarError when the tar is not safe to push. */
export async function scanFile(path: string, options: ScanOptions): Promise<FileScan> {
  const handle = await open(path, 'r');
  let worker: PartWorker | undefined;
  try {
    const { size } = await handle.stat();
    const multipart = size > SINGLE_PUT_LIMIT;
    const partSize = partSizeFor(size);
    const mode = options.partHashing ?? 'auto';
    const useWorker = multipart && mode !== 'inline';

    worker = useWorker ? startPartWorker(path, size, partSize) : undefined;
    // Surface a worker failure now rather than as an unhandled rejection while we read.
    worker?.parts.catch(() => {});

    const inspector = new TarInspector({ strictLayout: options.strictLayout });
    const whole = createHash('md5');
    const inlineParts = multipart && !useWorker ? new PartHasher(size, partSize) : undefined;

    const bytesRead = await readAll(handle, (chunk, total) => {
      inspector.write(chunk);
      whole.update(chunk);
      inlineParts?.update(chunk);
      options.onProgress?.(total, size);
    });
    if (bytesRead !== size) {
      throw new Error(
        `file '${path}' changed while it was being read (${size} bytes expected, ${bytesRead} read)`,
      );
    }

    const tar = inspector.end();
    throwIfProblems(options.displayName ?? path, tar);

    const digest = whole.digest();
    const parts = worker ? await worker.parts : (inlineParts?.finish() ?? []);
    return { size, md5Hex: digest.toString('hex'), md5Base64: digest.toString('base64'), parts, tar };
  } finally {
    await worker?.stop();
    await handle.close();
  }
}

/**
 * Sequential read with one read always in flight: while chunk N is hashed on this thread, the
 * thread pool reads chunk N+1 into the other buffer. Two buffers, reused: memory stays ~2 MiB.
 */
async function readAll(
  handle: import('node:fs/promises').FileHandle,
  consume: (chunk: Buffer, bytesSoFar: number) => void,
): Promise<number> {
  const buffers = [Buffer.allocUnsafe(READ_BUFFER_BYTES), Buffer.allocUnsafe(READ_BUFFER_BYTES)];
  let position = 0;
  let which = 0;
  let pending = handle.read(buffers[which]!, 0, READ_BUFFER_BYTES, position);
  for (;;) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) return position;
    const chunk = buffers[which]!.subarray(0, bytesRead);
    position += bytesRead;
    which ^= 1;
    pending = handle.read(buffers[which]!, 0, READ_BUFFER_BYTES, position);
    try {
      consume(chunk, position);
    } catch (err) {
      // Let the read in flight finish before the caller closes the handle.
      await pending.catch(() => {});
      throw err;
    }
  }
}

/** MD5 of consecutive `partSize` slices, fed with chunks that may straddle slice boundaries. */
export class PartHasher {
  private readonly parts: FilePart[] = [];
  private hash: Hash = createHash('md5');
  private partOffset = 0;
  private partFill = 0;

  constructor(
    private readonly size: number,
    private readonly partSize: number,
  ) {}

  update(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      const length = Math.min(this.partSize, this.size - this.partOffset);
      const n = Math.min(length - this.partFill, chunk.length - pos);
      if (n <= 0) throw new Error('more bytes than the file size announced');
      this.hash.update(pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n));
      this.partFill += n;
      pos += n;
      if (this.partFill === length) this.closePart(length);
    }
  }

  finish(): FilePart[] {
    if (this.partOffset !== this.size) throw new Error('fewer bytes than the file size announced');
    return this.parts;
  }

  private closePart(length: number): void {
    this.parts.push({
      partNumber: this.parts.length + 1,
      offset: this.partOffset,
      length,
      md5Base64: this.hash.digest('base64'),
    });
    this.partOffset += length;
    this.partFill = 0;
    this.hash = createHash('md5');
  }
}

interface PartWorker {
  parts: Promise<FilePart[]>;
  stop(): Promise<void>;
}

/**
 * Plain JavaScript, run with `eval: true`: the action is bundled into a single dist/index.js, so
 * there is no separate worker file to point at. It reads the file on its own (from the page
 * cache, in practice) with synchronous reads, which are fine on a dedicated thread.
 */
const PART_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { path, size, partSize, bufferBytes } = workerData;
const fd = openSync(path, 'r');
try {
  const buffer = Buffer.allocUnsafe(bufferBytes);
  const parts = [];
  for (let offset = 0; offset < size; offset += partSize) {
    const length = Math.min(partSize, size - offset);
    const hash = createHash('md5');
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buffer, 0, Math.min(bufferBytes, length - done), offset + done);
      if (n === 0) throw new Error('file ' + JSON.stringify(path) + ' shrank while it was being read');
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    parts.push({ partNumber: parts.length + 1, offset, length, md5Base64: hash.digest('base64') });
  }
  parentPort.postMessage(parts);
} finally {
  closeSync(fd);
}
`;

export function startPartWorker(path: string, size: number, partSize: number): PartWorker {
  const worker = new Worker(PART_WORKER_SOURCE, {
    eval: true,
    workerData: { path, size, partSize, bufferBytes: READ_BUFFER_BYTES },
  });
  let settled = false;
  const parts = new Promise<FilePart[]>((resolve, reject) => {
    worker.once('message', (value: FilePart[]) => {
      settled = true;
      resolve(value);
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`part hashing worker exited with code ${code} before finishing`));
    });
  });
  return {
    parts,
    async stop() {
      if (!settled) await worker.terminate();
    },
  };
}
