/**
 * The local tar before upload: the safety check, the whole file's SHA-256 (metadata
 * `x-obs-meta-sha256`, which the Initiate carries) and the parts' SHA-256s (each part's
 * `x-obs-content-sha256`). For a multipart-sized file the check reads the headers only and ends
 * before any request; the two digests are computed on two worker threads meanwhile, one pass
 * each over the bytes (SHA-256 cannot be split, and the whole file's digest cannot be derived from
 * the parts'), while the run signs in and chooses servers (`checkFile`). The upload then waits only
 * for what is left of the whole-file pass, and part N's digest right before part N
 * (`./part-digests.ts`). A single-PUT file is read once on the main thread: its SHA-256 is the
 * body's digest too.
 *
 * SHA-256 runs at ~1,100-1,600 MiB/s on one core with SHA extensions (bench/scan.ts).
 */

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  fileChangedError,
  inspectHeaders,
  TarInspector,
  type TarInspectorOptions,
  type TarReport,
  throwIfProblems,
} from './inspect.js';
import {
  hashPartsInWorker,
  knownPartDigests,
  type PartDigests,
  PartHasher,
  type PartRange,
  partRanges,
} from './part-digests.js';

/** Files up to this size go up in one PUT; larger ones as multipart. */
export const SINGLE_PUT_LIMIT = 16 * 1024 * 1024;
/** OBS allows at most 10000 parts per multipart upload. */
export const MAX_PARTS = 10_000;
const READ_BUFFER_BYTES = 1024 * 1024;

/** OBS's smallest part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Part size for a multipart upload of `size` bytes: at least 16 MiB, and few enough parts for OBS. */
export function partSizeFor(size: number): number {
  return Math.max(SINGLE_PUT_LIMIT, Math.ceil(size / MAX_PARTS));
}

/**
 * The parts of a multipart upload of `size` bytes: `partSizeFor(size)` bytes each, except the
 * tail — the last quarter of the file, at most 16 parts' worth — which goes in parts a quarter
 * that size (at least 5 MiB, OBS's minimum). Parts go out in order, so the last ones to finish are
 * small: when the link has room, many connections finish together instead of one big part
 * running alone on one connection while the link idles (bench/README.md, "No idle tail"). Never
 * more than 10,000 parts: when the tail would need more, every part has the regular size.
 */
export function planParts(size: number): FilePart[] {
  if (size <= SINGLE_PUT_LIMIT) return [];
  const partSize = partSizeFor(size);
  const tailTarget = Math.min(Math.floor(size / 4), 16 * partSize);
  const regular = Math.max(1, Math.floor((size - tailTarget) / partSize));
  const tailBytes = size - regular * partSize;
  const tailPartSize = Math.max(MIN_PART_SIZE, Math.ceil(partSize / 4));
  if (tailBytes <= 0 || regular + Math.ceil(tailBytes / tailPartSize) > MAX_PARTS) {
    return partRanges(size, partSize);
  }
  const parts = partRanges(regular * partSize, partSize);
  for (let offset = regular * partSize; offset < size; offset += tailPartSize) {
    parts.push({ partNumber: parts.length + 1, offset, length: Math.min(tailPartSize, size - offset) });
  }
  return parts;
}

export type FilePart = PartRange;

export interface FileScan {
  size: number;
  /** Hex SHA-256 of the whole file: `x-obs-meta-sha256`, what `sha256sum` prints. */
  sha256Hex: string;
  /** The multipart upload's parts (`planParts`); empty when `size <= SINGLE_PUT_LIMIT`. */
  parts: FilePart[];
  /** The parts' SHA-256s, possibly still being computed; close it when the upload no longer needs them. */
  partDigests: PartDigests;
  tar: TarReport;
}

export interface ScanOptions {
  strictLayout: boolean;
  /** Called after every chunk read (or passed over) by the check; throttling is the caller's business. */
  onProgress?: (bytesRead: number, total: number) => void;
  /** Name used in a TarError message; defaults to the path. */
  displayName?: string;
  /**
   * Where a multipart-sized file's digests are computed: `worker` (default: the headers are read
   * here, the whole file and the parts hashed on two worker threads, each part's digest delivered
   * as soon as it is ready) or `inline` (one pass here, everything known when the check returns;
   * for tests and bench/scan.ts).
   */
  partHashing?: 'worker' | 'inline';
  /** Every archive member as the inspection sees it (the ledger's manifest collects them). */
  onEntry?: TarInspectorOptions['onEntry'];
}

/**
 * A tar that passed the check, whose digests may still be on their way: what the run can go on
 * with (sign in, choose servers) before the upload needs the whole file's SHA-256.
 */
export interface CheckedFile {
  size: number;
  parts: FilePart[];
  tar: TarReport;
  partDigests: PartDigests;
  /**
   * The whole file's SHA-256, known at once for a single PUT, else computed on a worker thread
   * beside everything else. Rejects when it cannot be computed (the file changed) or after `close`.
   */
  sha256Hex(): Promise<string>;
  /** Stops the hashing (whole file and parts) when the digests are no longer needed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Checks `path` and starts its digests; throws TarError when the tar is not safe to push. A
 * multipart-sized file is checked by its headers only (`inspectHeaders`) while two worker threads
 * hash it, the whole file on one and its parts on the other, so the check ends in milliseconds
 * and the hashing runs on both cores while the caller signs in and chooses servers. A single-PUT
 * file (or `partHashing: 'inline'`) is read once on this thread for everything. The caller owns
 * the result: `close` it when there will be no upload.
 */
export async function checkFile(path: string, options: ScanOptions): Promise<CheckedFile> {
  const handle = await open(path, 'r');
  let hashing: { whole: PartDigests; parts: PartDigests } | undefined;
  try {
    const { size } = await handle.stat();
    const parts = planParts(size);
    const name = options.displayName ?? path;
    const inspector = new TarInspector({ strictLayout: options.strictLayout, onEntry: options.onEntry });
    if (parts.length > 0 && options.partHashing !== 'inline') {
      hashing = {
        whole: hashPartsInWorker(path, [{ partNumber: 1, offset: 0, length: size }]),
        parts: hashPartsInWorker(path, parts),
      };
      const tar = await inspectHeaders({ handle, size, name: path }, inspector, options.onProgress);
      throwIfProblems(name, tar);
      const { whole, parts: partDigests } = hashing;
      return {
        size,
        parts,
        tar,
        partDigests,
        sha256Hex: () => whole.sha256Hex(1),
        close: async () => {
          await Promise.all([whole.close(), partDigests.close()]);
        },
      };
    }

    const sha256 = createHash('sha256');
    const inlineParts = parts.length > 0 ? new PartHasher(parts) : undefined;
    const bytesRead = await readAll(handle, (chunk, total) => {
      inspector.write(chunk);
      sha256.update(chunk);
      inlineParts?.update(chunk);
      options.onProgress?.(total, size);
    });
    if (bytesRead !== size) throw fileChangedError(path, size, bytesRead);
    const tar = inspector.end();
    throwIfProblems(name, tar);
    const digest = Promise.resolve(sha256.digest('hex'));
    return {
      size,
      parts,
      tar,
      partDigests: inlineParts?.finish() ?? knownPartDigests([]),
      sha256Hex: () => digest,
      close: async () => {},
    };
  } catch (error) {
    await Promise.all([hashing?.whole.close(), hashing?.parts.close()]);
    throw error;
  } finally {
    await handle.close();
  }
}

/** `checkFile`, then its whole-file SHA-256: the scan the upload takes. */
export async function completeScan(checked: CheckedFile): Promise<FileScan> {
  try {
    const { size, parts, tar, partDigests } = checked;
    return { size, sha256Hex: await checked.sha256Hex(), parts, partDigests, tar };
  } catch (error) {
    await checked.close();
    throw error;
  }
}

/** Checks `path` and waits for its whole-file SHA-256 (`checkFile` + `completeScan`). */
export async function scanFile(path: string, options: ScanOptions): Promise<FileScan> {
  return completeScan(await checkFile(path, options));
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
