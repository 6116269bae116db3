/**
 * The MD5 of each multipart part (its `Content-MD5`), computed on a worker thread that reads the
 * file on its own and hands over each part's digest as soon as it has it. The upload asks for
 * part N's digest right before sending part N, so the first part goes out long before the last
 * part is hashed, and the hashing runs on the second core while the main thread inspects the tar,
 * hashes the whole file (SHA-256) and sends parts (figures in bench/README.md).
 *
 * The worker is inline JavaScript (`eval: true`) so that the ncc bundle stays one file. It holds
 * one 1 MiB read buffer and a table of at most 10,000 short strings: nothing grows with the file.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface PartRange {
  partNumber: number;
  offset: number;
  length: number;
}

/** Base64 MD5s of a file's parts, by part number (1-based), available as they are computed. */
export interface PartDigests {
  md5Base64(partNumber: number): Promise<string>;
  /** Stops the hashing when the digests are no longer needed; a pending `md5Base64` rejects. Idempotent. */
  close(): Promise<void>;
}

const READ_BUFFER_BYTES = 1024 * 1024;

/** Consecutive slices of `partSize` bytes covering `size`. */
export function partRanges(size: number, partSize: number): PartRange[] {
  const parts: PartRange[] = [];
  for (let offset = 0; offset < size; offset += partSize) {
    parts.push({ partNumber: parts.length + 1, offset, length: Math.min(partSize, size - offset) });
  }
  return parts;
}

/** Digests already known (computed inline by the scan, or given by a test). */
export function knownPartDigests(md5s: readonly string[]): PartDigests {
  return {
    md5Base64: async (partNumber) => {
      const md5 = md5s[partNumber - 1];
      if (md5 === undefined) throw new Error(`no part ${partNumber}`);
      return md5;
    },
    close: async () => {},
  };
}

/** MD5 of consecutive `partSize` slices, fed with chunks that may straddle slice boundaries. */
export class PartHasher {
  readonly md5s: string[] = [];
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

  finish(): PartDigests {
    if (this.partOffset !== this.size) throw new Error('fewer bytes than the file size announced');
    return knownPartDigests(this.md5s);
  }

  private closePart(length: number): void {
    this.md5s.push(this.hash.digest('base64'));
    this.partOffset += length;
    this.partFill = 0;
    this.hash = createHash('md5');
  }
}

/**
 * Plain JavaScript run with `eval: true`. Synchronous reads are fine on a dedicated thread; the
 * file is in the page cache in practice (the main pass reads it at the same time).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { path, size, partSize, bufferBytes } = workerData;
const fd = openSync(path, 'r');
try {
  const buffer = Buffer.allocUnsafe(bufferBytes);
  for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
    const length = Math.min(partSize, size - offset);
    const hash = createHash('md5');
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buffer, 0, Math.min(bufferBytes, length - done), offset + done);
      if (n === 0) throw new Error('file ' + JSON.stringify(path) + ' shrank while its parts were being hashed');
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    parentPort.postMessage([partNumber, hash.digest('base64')]);
  }
} finally {
  closeSync(fd);
}
`;

/**
 * Starts hashing the parts of `path` at once. The worker does not keep the process alive on its
 * own (a run that fails before the upload exits without waiting for it), only while someone is
 * waiting for a digest it has not delivered yet.
 */
export function hashPartsInWorker(path: string, size: number, partSize: number): PartDigests {
  const total = Math.ceil(size / partSize);
  const done = new Map<number, string>();
  const waiting = new Map<number, Array<{ resolve: (md5: string) => void; reject: (e: Error) => void }>>();
  let failure: Error | undefined;
  let finished = false;

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, size, partSize, bufferBytes: READ_BUFFER_BYTES },
  });
  worker.unref();
  const holdProcess = () => (waiting.size > 0 ? worker.ref() : worker.unref());

  const fail = (error: Error) => {
    failure ??= error;
    for (const waiters of waiting.values()) for (const w of waiters) w.reject(failure);
    waiting.clear();
    holdProcess();
  };
  worker.on('message', ([partNumber, md5]: [number, string]) => {
    done.set(partNumber, md5);
    for (const w of waiting.get(partNumber) ?? []) w.resolve(md5);
    waiting.delete(partNumber);
    if (done.size === total) finished = true;
    holdProcess();
  });
  worker.once('error', (error) => fail(error));
  worker.once('exit', (code) => {
    if (!finished) fail(new Error(`the part hashing worker stopped (exit code ${code}) before it finished`));
  });

  return {
    md5Base64(partNumber) {
      const md5 = done.get(partNumber);
      if (md5 !== undefined) return Promise.resolve(md5);
      if (failure) return Promise.reject(failure);
      if (!(partNumber >= 1 && partNumber <= total))
        return Promise.reject(new Error(`no part ${partNumber}`));
      return new Promise((resolve, reject) => {
        waiting.set(partNumber, [...(waiting.get(partNumber) ?? []), { resolve, reject }]);
        holdProcess();
      });
    },
    async close() {
      if (finished) return;
      fail(new Error('part hashing was stopped'));
      await worker.terminate();
    },
  };
}
