/**
 * SHA-256s of ranges of a file, computed on a worker thread that reads the file on its own and
 * hands over each range's digest as soon as it has it: the parts of a multipart upload (each
 * part's `x-obs-content-sha256`, which OBS checks against the body), or the whole file as one
 * range (`./scan.ts` runs one worker of each, on the two cores). The upload asks for part N's
 * digest right before sending part N, so the first part goes out long before the last part is
 * hashed.
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

/** Lower-case hex SHA-256s of a file's parts, by part number (1-based), available as they are computed. */
export interface PartDigests {
  sha256Hex(partNumber: number): Promise<string>;
  /** Stops the hashing when the digests are no longer needed; a pending `sha256Hex` rejects. Idempotent. */
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
export function knownPartDigests(sha256s: readonly string[]): PartDigests {
  return {
    sha256Hex: async (partNumber) => {
      const digest = sha256s[partNumber - 1];
      if (digest === undefined) throw new Error(`no part ${partNumber}`);
      return digest;
    },
    close: async () => {},
  };
}

/** SHA-256 of each of `parts` (consecutive, from offset 0), fed with chunks that may straddle part boundaries. */
export class PartHasher {
  readonly sha256s: string[] = [];
  private hash: Hash = createHash('sha256');
  private index = 0;
  private partFill = 0;

  constructor(private readonly parts: readonly PartRange[]) {}

  update(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      const length = this.parts[this.index]?.length ?? 0;
      const n = Math.min(length - this.partFill, chunk.length - pos);
      if (n <= 0) throw new Error('more bytes than the file size announced');
      this.hash.update(pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n));
      this.partFill += n;
      pos += n;
      if (this.partFill === length) this.closePart();
    }
  }

  finish(): PartDigests {
    if (this.index !== this.parts.length) throw new Error('fewer bytes than the file size announced');
    return knownPartDigests(this.sha256s);
  }

  private closePart(): void {
    this.sha256s.push(this.hash.digest('hex'));
    this.index++;
    this.partFill = 0;
    this.hash = createHash('sha256');
  }
}

/**
 * Plain JavaScript run with `eval: true`. Synchronous reads are fine on a dedicated thread; the
 * file is in the page cache in practice (a tar just built, or read by the other worker).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { path, parts, bufferBytes } = workerData;
const fd = openSync(path, 'r');
try {
  const buffer = Buffer.allocUnsafe(bufferBytes);
  for (const [partNumber, offset, length] of parts) {
    const hash = createHash('sha256');
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buffer, 0, Math.min(bufferBytes, length - done), offset + done);
      if (n === 0) throw new Error('file ' + JSON.stringify(path) + ' shrank while it was being hashed');
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    parentPort.postMessage([partNumber, hash.digest('hex')]);
  }
} finally {
  closeSync(fd);
}
`;

/**
 * Starts hashing `parts` of `path` at once. The worker does not keep the process alive on its
 * own (a run that fails before the upload exits without waiting for it), only while someone is
 * waiting for a digest it has not delivered yet, or for it to stop (`close`).
 */
export function hashPartsInWorker(path: string, parts: readonly PartRange[]): PartDigests {
  const total = parts.length;
  const done = new Map<number, string>();
  const waiting = new Map<number, Array<{ resolve: (digest: string) => void; reject: (e: Error) => void }>>();
  let failure: Error | undefined;
  let finished = false;
  let stopped: Promise<void> | undefined;

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path,
      parts: parts.map((p) => [p.partNumber, p.offset, p.length]),
      bufferBytes: READ_BUFFER_BYTES,
    },
  });
  worker.unref();
  const holdProcess = () => (waiting.size > 0 ? worker.ref() : worker.unref());

  const fail = (error: Error) => {
    failure ??= error;
    for (const waiters of waiting.values()) for (const w of waiters) w.reject(failure);
    waiting.clear();
    holdProcess();
  };
  worker.on('message', ([partNumber, digest]: [number, string]) => {
    done.set(partNumber, digest);
    for (const w of waiting.get(partNumber) ?? []) w.resolve(digest);
    waiting.delete(partNumber);
    if (done.size === total) finished = true;
    holdProcess();
  });
  worker.once('error', (error) => fail(error));
  worker.once('exit', (code) => {
    if (!finished) fail(new Error(`the part hashing worker stopped (exit code ${code}) before it finished`));
  });

  return {
    sha256Hex(partNumber) {
      const digest = done.get(partNumber);
      if (digest !== undefined) return Promise.resolve(digest);
      if (failure) return Promise.reject(failure);
      if (!(partNumber >= 1 && partNumber <= total))
        return Promise.reject(new Error(`no part ${partNumber}`));
      return new Promise((resolve, reject) => {
        waiting.set(partNumber, [...(waiting.get(partNumber) ?? []), { resolve, reject }]);
        holdProcess();
      });
    },
    close() {
      if (finished) return Promise.resolve();
      stopped ??= stop();
      return stopped;
    },
  };

  /**
   * Terminates the worker and waits until it is gone. An unref'd worker being terminated holds
   * nothing open, so while the caller awaits this the event loop could drain and Node would exit
   * with code 13 (an unsettled top-level await) before the run wrote its outputs; `worker.ref()`
   * does not help once the termination has begun. A timer of our own keeps the loop alive.
   */
  async function stop(): Promise<void> {
    fail(new Error('part hashing was stopped'));
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      await worker.terminate();
    } finally {
      clearInterval(keepAlive);
    }
  }
}
