/**
 * Is this tar safe to push to CPH? The streaming parser (`parser.ts`) finds the members and the
 * structural problems, the safety policy (`policy.ts`) judges each member, and this module
 * collects both into one report. Header byte decoding lives in `header.ts`.
 */

import { type FileHandle, open } from 'node:fs/promises';
import { plural } from '../util/text.js';
import { type TarEntry, TarParser } from './parser.js';
import { TarSafetyPolicy } from './policy.js';
import { TarError, type TarProblem, type TarProblemCode } from './problems.js';

export type { TarEntryType } from './header.js';
export { MAX_RECORD_BYTES, type TarEntry } from './parser.js';
export { formatTarProblems, TarError, type TarProblem, type TarProblemCode } from './problems.js';

const DEFAULT_MAX_LISTED = 10;

export interface TarReport {
  /** Archive members (extended headers and volume labels are not members). */
  entries: number;
  /** Sum of the sizes of regular files (real size for sparse files). */
  totalBytes: number;
  /** Sorted unique first path segments (a leading `./` ignored). */
  topLevel: string[];
  /** The first `maxListed` problems. */
  problems: TarProblem[];
  /** How many more problems were found but not listed. */
  omitted: number;
}

export interface TarInspectorOptions {
  /** Refuse entries outside the top-level directories `data` and `cache`. */
  strictLayout: boolean;
  /** Problems kept in the report; the rest are only counted. Default 10. */
  maxListed?: number;
  /**
   * Called for every archive member, in order, with its real size (a sparse file's expanded
   * size); for the ledger's manifest, tests and diagnostics.
   */
  onEntry?: (entry: TarEntry, contentSize: number) => void;
}

export class TarInspector {
  private readonly maxListed: number;
  private readonly onEntry: ((entry: TarEntry, contentSize: number) => void) | undefined;
  private readonly parser: TarParser;
  private readonly policy: TarSafetyPolicy;

  private entries = 0;
  private totalBytes = 0;
  private readonly problems: TarProblem[] = [];
  private omitted = 0;

  constructor(options: TarInspectorOptions) {
    this.maxListed = options.maxListed ?? DEFAULT_MAX_LISTED;
    this.onEntry = options.onEntry;
    const problem = (entry: string, reason: string, code: TarProblemCode) =>
      this.addProblem(entry, reason, code);
    this.policy = new TarSafetyPolicy({ strictLayout: options.strictLayout }, problem);
    this.parser = new TarParser({
      member: (entry, contentSize) => {
        this.entries++;
        if (entry.type === 'file' || entry.type === 'contiguous-file' || entry.type === 'gnu-sparse') {
          this.totalBytes += contentSize;
        }
        this.onEntry?.(entry, contentSize);
        this.policy.check(entry);
      },
      problem,
    });
  }

  /** Feed the next bytes of the archive. Never throws on bad input; problems go to the report. */
  write(chunk: Uint8Array): void {
    this.parser.write(chunk);
  }

  /** Bytes the reader may pass over with `skip` instead of reading them (see `TarParser.skippable`). */
  get skippable(): number {
    return this.parser.skippable;
  }

  skip(n: number): void {
    this.parser.skip(n);
  }

  /** Signal end of input and get the report. */
  end(): TarReport {
    this.parser.end();
    if (this.entries === 0 && this.problems.length === 0 && this.omitted === 0) {
      this.addProblem('', 'the tar has no entries', 'empty');
    }
    return {
      entries: this.entries,
      totalBytes: this.totalBytes,
      topLevel: this.policy.topLevel,
      problems: [...this.problems],
      omitted: this.omitted,
    };
  }

  private addProblem(entry: string, reason: string, code: TarProblemCode): void {
    if (this.problems.length < this.maxListed) this.problems.push({ entry, reason, code });
    else this.omitted++;
  }
}

const READ_BYTES = 1024 * 1024;

/**
 * Feeds `inspector` the bytes of the file's first `size` it needs: reads a chunk, then moves past
 * the entry data the parser would only count. A bundle of a few big files is checked in a few
 * reads; one of many small files is read through, a MiB at a time. Returns the report.
 */
export async function inspectHeaders(
  file: { handle: FileHandle; size: number; name: string },
  inspector: TarInspector,
  onProgress?: (position: number, total: number) => void,
): Promise<TarReport> {
  const { handle, size, name } = file;
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  for (let position = 0; position < size; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BYTES, size - position), position);
    if (bytesRead === 0) throw fileChangedError(name, size, position);
    inspector.write(buffer.subarray(0, bytesRead));
    position += bytesRead;
    const skip = Math.min(inspector.skippable, size - position);
    inspector.skip(skip);
    position += skip;
    onProgress?.(position, size);
  }
  return inspector.end();
}

/** A file that ended before the size it had when it was opened: it changed while it was being read. */
export function fileChangedError(name: string, expected: number, read: number): Error {
  return new Error(
    `file '${name}' changed while it was being read (${plural(expected, 'byte')} expected, ${read} read)`,
  );
}

/** Checks a tar file, reading its headers only; throws TarError when the tar has problems. */
export async function inspectTar(
  path: string,
  options: TarInspectorOptions & { displayName?: string },
): Promise<TarReport> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const report = await inspectHeaders({ handle, size, name: path }, new TarInspector(options));
    throwIfProblems(options.displayName ?? path, report);
    return report;
  } finally {
    await handle.close();
  }
}

export function throwIfProblems(file: string, report: TarReport): void {
  if (report.problems.length > 0 || report.omitted > 0) {
    throw new TarError(file, report.problems, report.omitted);
  }
}
