/**
 * The one read pass over the local tar before upload: tar safety check and the whole file's
 * SHA-256 (metadata `x-obs-meta-sha256`, which must be known before the upload starts). That
 * digest is also a single PUT's `x-obs-content-sha256`; a multipart upload's part SHA-256s are
 * computed by a worker thread started here, which keeps going after the scan returns, so the
 * upload can send part 1 while later parts are still being hashed (`./part-digests.ts`).
 *
 * SHA-256 runs at ~1,100-1,600 MiB/s on one core (SHA extensions): on the main thread it keeps
 * up with the tar check, and the parts' SHA-256s run on the other core (bench/scan.ts).
 */

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { plural } from '../util/text.js';
import { TarInspector, type TarInspectorOptions, type TarReport, throwIfProblems } from './inspect.js';
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
  /** Called after every chunk read by the main pass; throttling is the caller's business. */
  onProgress?: (bytesRead: number, total: number) => void;
  /** Name used in a TarError message; defaults to the path. */
  displayName?: string;
  /**
   * Where part SHA-256s are computed: `worker` (default: a worker thread reading the file in
   * parallel, delivering each part's digest as soon as it is ready) or `inline` (in the main
   * pass, all known when the scan returns; for tests and bench/scan.ts).
   */
  partHashing?: 'worker' | 'inline';
  /** Every archive member as the inspection sees it (the ledger's manifest collects them). */
  onEntry?: TarInspectorOptions['onEntry'];
}

/**
 * Read `path` once; throws TarError when the tar is not safe to push. The caller owns the
 * returned `partDigests` (close it once the upload is over, or when there will be none).
 */
export async function scanFile(path: string, options: ScanOptions): Promise<FileScan> {
  const handle = await open(path, 'r');
  let partDigests: PartDigests | undefined;
  try {
    const { size } = await handle.stat();
    const parts = planParts(size);
    const multipart = parts.length > 0;
    const inline = !multipart || options.partHashing === 'inline';
    if (!inline) partDigests = hashPartsInWorker(path, parts);

    const inspector = new TarInspector({ strictLayout: options.strictLayout, onEntry: options.onEntry });
    const sha256 = createHash('sha256');
    const inlineParts = multipart && inline ? new PartHasher(parts) : undefined;

    const bytesRead = await readAll(handle, (chunk, total) => {
      inspector.write(chunk);
      sha256.update(chunk);
      inlineParts?.update(chunk);
      options.onProgress?.(total, size);
    });
    if (bytesRead !== size) {
      throw new Error(
        `file '${path}' changed while it was being read (${plural(size, 'byte')} expected, ${bytesRead} read)`,
      );
    }

    const tar = inspector.end();
    throwIfProblems(options.displayName ?? path, tar);

    partDigests ??= inlineParts?.finish() ?? knownPartDigests([]);
    const scan: FileScan = {
      size,
      sha256Hex: sha256.digest('hex'),
      parts,
      partDigests,
      tar,
    };
    return scan;
  } catch (error) {
    await partDigests?.close();
    throw error;
  } finally {
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
