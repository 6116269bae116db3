/**
 * A push-style tar header parser that decides whether a tar is safe to push to CPH.
 *
 * It is hand-written rather than built on a tar library because the upload scan reads the file
 * exactly once and feeds every chunk to this parser, the whole-file MD5 and the current part's
 * MD5 at the same time: entry bodies are skipped by arithmetic, never copied through another
 * stream. Only the current 512-byte header and the current extended record (pax / GNU long
 * name, capped) are ever held in memory.
 *
 * Where tar programs disagree (GNU tar, libarchive, tar-stream, busybox), the parser refuses
 * the archive instead of guessing, because the extractor on the phone is not ours to choose:
 * a hard link, directory, symlink, device or FIFO header with a non-zero size, and any
 * non-zero byte after the end-of-archive marker.
 */

import { createReadStream } from 'node:fs';

const BLOCK = 512;
const DEFAULT_MAX_LISTED = 10;
/** Pax and GNU long-name records bigger than this are refused as hostile. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export type TarEntryType =
  | 'file'
  | 'contiguous-file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'gnu-dumpdir'
  | 'gnu-sparse'
  | 'gnu-multivolume'
  | 'unknown';

/** One archive member as an extractor would see it (after pax / GNU long names are applied). */
export interface TarEntry {
  path: string;
  type: TarEntryType;
  /** The raw typeflag character (`'0'`, `'5'`, `'S'`, … ; `'\0'` for old regular files). */
  typeflag: string;
  /** Bytes of data stored in the archive for this entry. */
  size: number;
  /** Link target for `link` and `symlink`, else undefined. */
  linkTarget: string | undefined;
  /** Byte offset of the entry's own header (after any extended headers). */
  headerOffset: number;
}

export type TarProblemCode =
  | 'not-a-tar'
  | 'bad-checksum'
  | 'truncated'
  | 'bad-header'
  | 'hostile-record'
  | 'trailing-data'
  | 'empty'
  | 'absolute-path'
  | 'dotdot'
  | 'empty-path'
  | 'link-target'
  | 'device'
  | 'entry-type'
  | 'layout';

export interface TarProblem {
  /** The entry's path as stored in the archive; empty for problems of the archive as a whole. */
  entry: string;
  reason: string;
  code: TarProblemCode;
}

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
  /** Called for every archive member, in order; for tests and diagnostics. */
  onEntry?: (entry: TarEntry) => void;
}

const ALLOWED_TOP_LEVEL = new Set(['data', 'cache']);

type State = 'header' | 'record' | 'sparse' | 'skip' | 'trailer' | 'stopped';
type RecordKind = 'pax' | 'pax-global' | 'long-name' | 'long-link';

interface PaxValues {
  [key: string]: string;
}

/** What the bytes being skipped belong to, for the truncation message. */
interface BodyInfo {
  entry: string;
  dataEnd: number;
  /** What the data belongs to, for the message: `this entry`, `the extended header at byte N`. */
  owner: string;
}

/** Candidate `..` step through a path that must not turn out to be a symlink. */
interface DotDotStep {
  entry: string;
  kind: string;
  target: string;
}

export class TarInspector {
  private readonly strictLayout: boolean;
  private readonly maxListed: number;
  private readonly onEntry: ((entry: TarEntry) => void) | undefined;

  private state: State = 'header';
  private finished = false;
  private offset = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private skipRemaining = 0;
  private body: BodyInfo | undefined;

  private record: Buffer | undefined;
  private recordFill = 0;
  private recordKind: RecordKind = 'pax';
  private recordOffset = 0;
  private recordPadding = 0;

  private paxGlobal: PaxValues = {};
  private paxLocal: PaxValues | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** Offset of the first pending extended header, when one is waiting for its entry. */
  private pendingExtendedAt: number | undefined;

  private sparseBody: { size: number; entry: string } | undefined;

  private entries = 0;
  private totalBytes = 0;
  private readonly topLevel = new Set<string>();
  private readonly reportedTopLevel = new Set<string>();
  private readonly symlinks = new Set<string>();
  private readonly dotDotSteps = new Map<string, DotDotStep>();
  private readonly linkEntriesFlagged = new Set<string>();
  private readonly problems: TarProblem[] = [];
  private omitted = 0;

  constructor(options: TarInspectorOptions) {
    this.strictLayout = options.strictLayout;
    this.maxListed = options.maxListed ?? DEFAULT_MAX_LISTED;
    this.onEntry = options.onEntry;
  }

  /** Feed the next bytes of the archive. Never throws on bad input; problems go to the report. */
  write(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case 'stopped':
          this.offset += len - pos;
          return;
        case 'header':
        case 'sparse': {
          const n = Math.min(BLOCK - this.blockFill, len - pos);
          this.block.set(chunk.subarray(pos, pos + n), this.blockFill);
          this.blockFill += n;
          pos += n;
          this.offset += n;
          if (this.blockFill === BLOCK) {
            this.blockFill = 0;
            if (this.state === 'header') this.onHeader(this.offset - BLOCK);
            else this.onSparseBlock();
          }
          break;
        }
        case 'record': {
          const record = this.record!;
          const n = Math.min(record.length - this.recordFill, len - pos);
          record.set(chunk.subarray(pos, pos + n), this.recordFill);
          this.recordFill += n;
          pos += n;
          this.offset += n;
          if (this.recordFill === record.length) this.onRecord();
          break;
        }
        case 'skip': {
          const n = Math.min(this.skipRemaining, len - pos);
          pos += n;
          this.offset += n;
          this.skipRemaining -= n;
          if (this.skipRemaining === 0) {
            this.state = 'header';
            this.body = undefined;
          }
          break;
        }
        case 'trailer': {
          // After the end-of-archive marker only zero padding may follow: a reader that skips
          // zero blocks (GNU tar -i, tar-stream) would otherwise unpack entries never checked here.
          for (; pos < len; pos++, this.offset++) {
            if (chunk[pos] !== 0) {
              this.fail(
                '',
                `non-zero data at byte ${this.offset} after the end-of-archive marker (a tar reader that skips zero blocks would unpack entries that were not checked)`,
                'trailing-data',
              );
              this.offset += len - pos;
              return;
            }
          }
          break;
        }
      }
    }
  }

  /** Signal end of input and get the report. */
  end(): TarReport {
    this.finish();
    return {
      entries: this.entries,
      totalBytes: this.totalBytes,
      topLevel: [...this.topLevel].sort(),
      problems: [...this.problems],
      omitted: this.omitted,
    };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.state !== 'stopped') this.checkEof();
    if (this.entries === 0 && this.problems.length === 0 && this.omitted === 0) {
      this.addProblem('', 'the tar has no entries', 'empty');
    }
  }

  private checkEof(): void {
    const headerAt = this.offset - this.blockFill;
    switch (this.state) {
      case 'header':
        if (this.offset === 0) {
          this.fail('', 'not a tar archive: the file is empty', 'not-a-tar');
        } else if (headerAt === 0) {
          this.fail('', notATarReason(this.block.subarray(0, this.blockFill), this.offset), 'not-a-tar');
        } else if (this.blockFill > 0) {
          this.fail(
            '',
            `truncated archive: the file ends inside the header at byte ${headerAt} (${this.blockFill} of 512 bytes present)`,
            'truncated',
          );
        } else if (this.pendingExtendedAt !== undefined) {
          this.fail(
            '',
            `truncated archive: the file ends after the extended header at byte ${this.pendingExtendedAt}, before the entry it describes`,
            'truncated',
          );
        }
        // A clean end without the two zero blocks is accepted, as GNU tar does.
        return;
      case 'sparse':
        this.fail(
          this.sparseBody?.entry ?? '',
          `truncated archive: the file ends inside the sparse map header at byte ${headerAt}`,
          'truncated',
        );
        return;
      case 'record':
        this.fail(
          '',
          `truncated archive: the file ends inside the extended header at byte ${this.recordOffset} (${this.recordFill} of ${this.record!.length} bytes present)`,
          'truncated',
        );
        return;
      case 'skip': {
        const body = this.body;
        if (body === undefined) return;
        if (this.offset < body.dataEnd) {
          this.fail(
            body.entry,
            `truncated archive: the file ends ${bytes(body.dataEnd - this.offset)} before the end of ${body.owner}'s data`,
            'truncated',
          );
        } else {
          this.fail(
            body.entry,
            `truncated archive: the file ends inside the zero padding after ${body.owner}`,
            'truncated',
          );
        }
        return;
      }
      default:
        return;
    }
  }

  private onHeader(at: number): void {
    const h = this.block;
    if (isZeroBlock(h)) {
      if (this.pendingExtendedAt !== undefined) {
        this.fail(
          '',
          `the extended header at byte ${this.pendingExtendedAt} is followed by the end-of-archive marker instead of an entry`,
          'bad-header',
        );
        return;
      }
      // GNU tar stops at the first zero block (warning about a lone one); so do we.
      this.state = 'trailer';
      return;
    }

    if (!checksumMatches(h)) {
      if (at === 0 && !hasTarMagic(h)) {
        this.fail('', notATarReason(h, BLOCK), 'not-a-tar');
      } else {
        this.fail('', `bad header checksum at byte ${at} (the archive is corrupt)`, 'bad-checksum');
      }
      return;
    }

    const typeflag = String.fromCharCode(h[156]!);
    const headerSize = parseNumeric(h, 124, 12);
    if (headerSize === undefined || headerSize === 'too-large') {
      this.fail(
        '',
        headerSize === 'too-large'
          ? `the size field of the header at byte ${at} is too large to be real`
          : `invalid size field in the header at byte ${at}`,
        'bad-header',
      );
      return;
    }

    switch (typeflag) {
      case 'x':
      case 'X':
        this.startRecord('pax', headerSize, at);
        return;
      case 'g':
        this.startRecord('pax-global', headerSize, at);
        return;
      case 'L':
        this.startRecord('long-name', headerSize, at);
        return;
      case 'K':
        this.startRecord('long-link', headerSize, at);
        return;
    }

    this.onMember(at, typeflag, headerSize);
  }

  private onMember(at: number, typeflag: string, headerSize: number): void {
    const h = this.block;
    const pax = { ...this.paxGlobal, ...this.paxLocal };
    this.paxLocal = undefined;
    this.pendingExtendedAt = undefined;

    let path = cString(h, 0, 100);
    if (isPosixUstar(h) && h[345] !== 0) path = `${cString(h, 345, 155)}/${path}`;
    if (this.longName !== undefined) path = this.longName;
    if (pax['path']) path = pax['path'];
    if (pax['GNU.sparse.name']) path = pax['GNU.sparse.name'];
    this.longName = undefined;

    let linkTarget: string | undefined = cString(h, 157, 100);
    if (this.longLink !== undefined) linkTarget = this.longLink;
    if (pax['linkpath']) linkTarget = pax['linkpath'];
    this.longLink = undefined;

    let size = headerSize;
    if (pax['size']) {
      const paxSize = parseDecimal(pax['size']);
      if (paxSize === undefined) {
        this.fail(path, `invalid pax size '${truncateForMessage(pax['size'])}'`, 'bad-header');
        return;
      }
      size = paxSize;
    }

    let type = entryType(typeflag);
    // Old tars mark directories with a trailing slash on a regular-file header.
    if ((typeflag === '0' || typeflag === '\0') && path.endsWith('/')) type = 'directory';

    if (typeflag === 'V') {
      // A GNU volume label names the archive, not a file; its data (if any) is skipped.
      this.skipBody(path, size);
      return;
    }

    if (size > 0 && !carriesData(type)) {
      this.fail(
        path,
        `${describeType(type)} entry with a non-zero size (${size} bytes): tar programs disagree on whether data follows it, so the rest of the archive cannot be checked reliably`,
        'bad-header',
      );
      return;
    }

    let contentSize = size;
    if (type === 'gnu-sparse') {
      const real = parseNumeric(h, 483, 12);
      if (typeof real === 'number') contentSize = real;
    } else if (pax['GNU.sparse.realsize'] || pax['GNU.sparse.size']) {
      const real = parseDecimal(pax['GNU.sparse.realsize'] || pax['GNU.sparse.size']!);
      if (real !== undefined) contentSize = real;
    }

    linkTarget = type === 'link' || type === 'symlink' ? linkTarget : undefined;
    this.entries++;
    if (type === 'file' || type === 'contiguous-file' || type === 'gnu-sparse') {
      this.totalBytes += contentSize;
    }
    this.onEntry?.({ path, type, typeflag, size, linkTarget, headerOffset: at });
    this.checkMember(path, type, typeflag, linkTarget);

    if (type === 'gnu-sparse' && h[482] !== 0) {
      // Old GNU sparse: extension blocks with more of the sparse map follow the header and are
      // not counted in the size field.
      this.sparseBody = { size, entry: path };
      this.state = 'sparse';
      return;
    }
    this.skipBody(path, size);
  }

  private onSparseBlock(): void {
    if (this.block[504] !== 0) return;
    const { size, entry } = this.sparseBody!;
    this.sparseBody = undefined;
    this.state = 'header';
    this.skipBody(entry, size);
  }

  private skipBody(entry: string, size: number): void {
    if (size === 0) {
      this.state = 'header';
      return;
    }
    this.body = { entry, dataEnd: this.offset + size, owner: 'this entry' };
    this.skipRemaining = padded(size);
    this.state = 'skip';
  }

  private startRecord(kind: RecordKind, size: number, at: number): void {
    if (size > MAX_RECORD_BYTES) {
      this.fail(
        '',
        `the ${describeRecord(kind)} at byte ${at} is ${size} bytes, over the ${MAX_RECORD_BYTES}-byte limit (refused as hostile)`,
        'hostile-record',
      );
      return;
    }
    this.pendingExtendedAt ??= at;
    this.recordKind = kind;
    this.recordOffset = at;
    this.recordPadding = padded(size) - size;
    this.record = Buffer.alloc(size);
    this.recordFill = 0;
    this.state = 'record';
    if (size === 0) this.onRecord();
  }

  private onRecord(): void {
    const record = this.record!;
    this.record = undefined;
    switch (this.recordKind) {
      case 'long-name':
        this.longName = cString(record, 0, record.length);
        break;
      case 'long-link':
        this.longLink = cString(record, 0, record.length);
        break;
      case 'pax':
      case 'pax-global': {
        const values = parsePax(record);
        if (values === undefined) {
          this.fail('', `malformed pax extended header at byte ${this.recordOffset}`, 'bad-header');
          return;
        }
        if (this.recordKind === 'pax') {
          this.paxLocal = { ...this.paxLocal, ...values };
        } else {
          this.paxGlobal = { ...this.paxGlobal, ...values };
          // A global header is complete in itself; it does not wait for an entry.
          if (this.pendingExtendedAt === this.recordOffset) this.pendingExtendedAt = undefined;
        }
        break;
      }
    }
    if (this.recordPadding > 0) {
      this.body = {
        entry: '',
        dataEnd: this.offset,
        owner: `the extended header at byte ${this.recordOffset}`,
      };
      this.skipRemaining = this.recordPadding;
      this.state = 'skip';
    } else {
      this.state = 'header';
    }
  }

  private checkMember(
    path: string,
    type: TarEntryType,
    typeflag: string,
    linkTarget: string | undefined,
  ): void {
    const pathProblem = checkPathShape(path);
    if (pathProblem) this.addProblem(path, pathProblem.reason, pathProblem.code);

    switch (type) {
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.addProblem(path, `${describeType(type)} entries are not allowed`, 'device');
        break;
      case 'gnu-multivolume':
        this.addProblem(
          path,
          "multi-volume continuation entry (type 'M'): pass a complete single-volume tar",
          'entry-type',
        );
        break;
      case 'unknown':
        this.addProblem(path, `unsupported entry type '${printableTypeflag(typeflag)}'`, 'entry-type');
        break;
    }

    const segments = pathProblem ? undefined : normalSegments(path);
    if (segments && (type === 'link' || type === 'symlink')) {
      this.checkLink(path, segments, type, linkTarget ?? '');
    }
    if (segments === undefined || segments.length === 0) return;

    const top = segments[0]!;
    this.topLevel.add(top);
    if (type === 'symlink') this.registerSymlink(segments.join('/'));

    if (!this.strictLayout) return;
    const isTopLevelNonDir = segments.length === 1 && type !== 'directory' && type !== 'gnu-dumpdir';
    if (ALLOWED_TOP_LEVEL.has(top) && !isTopLevelNonDir) return;
    if (this.reportedTopLevel.has(top)) return;
    this.reportedTopLevel.add(top);
    if (ALLOWED_TOP_LEVEL.has(top)) {
      this.addProblem(
        path,
        `top-level '${top}' is a ${describeType(type)}, not a directory (strict-layout)`,
        'layout',
      );
    } else if (isTopLevelNonDir) {
      this.addProblem(
        path,
        `top-level ${describeType(type)} '${top}' is outside 'data' and 'cache' (strict-layout)`,
        'layout',
      );
    } else {
      this.addProblem(
        path,
        `top-level directory '${top}' is not 'data' or 'cache' (strict-layout)`,
        'layout',
      );
    }
  }

  private checkLink(path: string, segments: string[], type: 'link' | 'symlink', target: string): void {
    const kind = type === 'symlink' ? 'symlink' : 'hard link';
    if (target === '') {
      this.addProblem(path, `${kind} has an empty target`, 'link-target');
      return;
    }
    if (target.includes('\0')) {
      this.addProblem(path, `${kind} target contains a NUL byte`, 'link-target');
      return;
    }
    if (isAbsolute(target)) {
      this.addProblem(path, `${kind} target '${target}' is absolute`, 'link-target');
      return;
    }
    // Symlink targets resolve against the link's directory, hard link targets against the root.
    const stack = type === 'symlink' ? segments.slice(0, -1) : [];
    const steps: string[] = [];
    for (const seg of target.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg !== '..') {
        stack.push(seg);
        continue;
      }
      if (stack.length === 0) {
        this.addProblem(path, `${kind} target '${target}' points outside the archive`, 'link-target');
        return;
      }
      // A '..' after passing through an in-archive symlink is resolved from wherever that
      // symlink points, so the lexical check above is only sound if none of these is a symlink.
      for (let i = 1; i <= stack.length; i++) steps.push(stack.slice(0, i).join('/'));
      stack.pop();
    }
    for (const step of steps) {
      if (this.symlinks.has(step)) {
        this.flagThroughSymlink({ entry: path, kind, target }, step);
        return;
      }
      if (!this.dotDotSteps.has(step)) this.dotDotSteps.set(step, { entry: path, kind, target });
    }
  }

  private registerSymlink(normalPath: string): void {
    this.symlinks.add(normalPath);
    const step = this.dotDotSteps.get(normalPath);
    if (step) this.flagThroughSymlink(step, normalPath);
  }

  private flagThroughSymlink(step: DotDotStep, symlink: string): void {
    if (this.linkEntriesFlagged.has(step.entry)) return;
    this.linkEntriesFlagged.add(step.entry);
    this.addProblem(
      step.entry,
      `${step.kind} target '${step.target}' goes through the symlink '${symlink}' and then '..', so it can point outside the archive`,
      'link-target',
    );
  }

  private addProblem(entry: string, reason: string, code: TarProblemCode): void {
    if (this.problems.length < this.maxListed) this.problems.push({ entry, reason, code });
    else this.omitted++;
  }

  /** A structural problem: record it and stop parsing (what follows cannot be located). */
  private fail(entry: string, reason: string, code: TarProblemCode): void {
    this.addProblem(entry, reason, code);
    this.state = 'stopped';
    this.record = undefined;
  }
}

/** A tar that is not safe to push, with the problems found. */
export class TarError extends Error {
  override name = 'TarError';
  constructor(
    readonly file: string,
    readonly problems: TarProblem[],
    readonly omitted: number,
  ) {
    super(formatTarProblems(file, problems, omitted));
  }
}

/** One line for `core.setFailed`: what is wrong, which entries, and what to do about it. */
export function formatTarProblems(file: string, problems: TarProblem[], omitted: number): string {
  const total = problems.length + omitted;
  const listed = problems.map((p) => (p.entry ? `${JSON.stringify(p.entry)}: ${p.reason}` : p.reason));
  const more = omitted > 0 ? `; … and ${omitted} more` : '';
  const hints = hintsFor(problems);
  return (
    `file '${file}' is not a safe tar for CPH: ${total} problem${total === 1 ? '' : 's'}, ` +
    `${total === 1 ? '' : 'first: '}${listed.join('; ')}${more}.${hints.length ? ` ${hints.join(' ')}` : ''}`
  );
}

function hintsFor(problems: TarProblem[]): string[] {
  const codes = new Set(problems.map((p) => p.code));
  const hints: string[] = [];
  if (codes.has('not-a-tar')) hints.push("'file' must be an uncompressed tar archive.");
  if (codes.has('truncated') || codes.has('bad-checksum')) {
    hints.push('Check that the tar was written completely and not modified.');
  }
  if (codes.has('absolute-path') || codes.has('dotdot')) {
    hints.push("Create the tar with relative paths, e.g. 'tar -cf app.tar -C <dir> data'.");
  }
  if (codes.has('link-target')) hints.push('Links must point inside the archive, with relative targets.');
  if (codes.has('device')) hints.push('Leave device files and FIFOs out of the tar.');
  if (codes.has('layout')) {
    hints.push(
      "CPH pushes only into /data and /cache: put every entry under 'data/' or 'cache/', or set strict-layout: false.",
    );
  }
  return hints;
}

/** Stream a file through a TarInspector; throws TarError when the tar has problems. */
export async function inspectTar(
  path: string,
  options: TarInspectorOptions & { displayName?: string },
): Promise<TarReport> {
  const inspector = new TarInspector(options);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    inspector.write(chunk as Buffer);
  }
  const report = inspector.end();
  throwIfProblems(options.displayName ?? path, report);
  return report;
}

export function throwIfProblems(file: string, report: TarReport): void {
  if (report.problems.length > 0 || report.omitted > 0) {
    throw new TarError(file, report.problems, report.omitted);
  }
}

// ---- header fields ----

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Both the unsigned and the (historic) signed byte sum are accepted, as GNU tar does. */
function checksumMatches(h: Buffer): boolean {
  const stored = parseNumeric(h, 148, 8);
  if (typeof stored !== 'number') return false;
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i === 148) {
      i = 155;
      continue;
    }
    const b = h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function hasTarMagic(h: Buffer): boolean {
  return h.toString('latin1', 257, 262) === 'ustar' && (h[262] === 0 || h[262] === 0x20);
}

/** POSIX ustar (`ustar\0`) uses the prefix field; old GNU (`ustar  \0`) uses those bytes otherwise. */
function isPosixUstar(h: Buffer): boolean {
  return h.toString('latin1', 257, 262) === 'ustar' && h[262] === 0;
}

function cString(b: Buffer, start: number, length: number): string {
  const end = start + length;
  let stop = start;
  while (stop < end && b[stop] !== 0) stop++;
  return b.toString('utf8', start, stop);
}

/**
 * A numeric header field: octal digits (leading spaces allowed, ended by space or NUL), or GNU
 * base-256 when the high bit of the first byte is set. An all-blank field reads as 0.
 */
function parseNumeric(b: Buffer, start: number, length: number): number | 'too-large' | undefined {
  const end = start + length;
  const first = b[start]!;
  if (first & 0x80) {
    if (first & 0x40) return undefined; // negative
    let value = first & 0x3f;
    for (let i = start + 1; i < end; i++) {
      value = value * 256 + b[i]!;
      if (value > Number.MAX_SAFE_INTEGER) return 'too-large';
    }
    return value;
  }
  let i = start;
  while (i < end && b[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    if (b[i] !== 0 && b[i] !== 0x20) return undefined;
  }
  if (digits === 0) return 0;
  return value > Number.MAX_SAFE_INTEGER ? 'too-large' : value;
}

function parseDecimal(s: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Records are `"<len> <key>=<value>\n"`, where len counts the whole record in bytes. */
function parsePax(buf: Buffer): PaxValues | undefined {
  const values: PaxValues = {};
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) {
      // Some writers pad the record area with NULs.
      for (; pos < buf.length; pos++) if (buf[pos] !== 0) return undefined;
      break;
    }
    let i = pos;
    let len = 0;
    while (i < buf.length && i - pos < 16 && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      len = len * 10 + (buf[i]! - 0x30);
      i++;
    }
    if (i === pos || buf[i] !== 0x20 || len <= i - pos + 1 || pos + len > buf.length) return undefined;
    const recordEnd = pos + len;
    if (buf[recordEnd - 1] !== 0x0a) return undefined;
    const eq = buf.indexOf(0x3d, i + 1);
    if (eq === -1 || eq >= recordEnd - 1 || eq === i + 1) return undefined;
    const key = buf.toString('utf8', i + 1, eq);
    values[key] = buf.toString('utf8', eq + 1, recordEnd - 1);
    pos = recordEnd;
  }
  return values;
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'character-device';
    case '4':
      return 'block-device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    case '7':
      return 'contiguous-file';
    case 'D':
      return 'gnu-dumpdir';
    case 'S':
      return 'gnu-sparse';
    case 'M':
      return 'gnu-multivolume';
    default:
      return 'unknown';
  }
}

/** Types whose size field means "this many bytes of data follow" in every tar program. */
function carriesData(type: TarEntryType): boolean {
  return (
    type === 'file' ||
    type === 'contiguous-file' ||
    type === 'gnu-sparse' ||
    type === 'gnu-dumpdir' ||
    type === 'gnu-multivolume' ||
    type === 'unknown'
  );
}

function describeType(type: TarEntryType): string {
  switch (type) {
    case 'file':
    case 'contiguous-file':
    case 'gnu-sparse':
      return 'file';
    case 'link':
      return 'hard link';
    case 'character-device':
      return 'character device';
    case 'block-device':
      return 'block device';
    case 'fifo':
      return 'FIFO';
    case 'gnu-dumpdir':
      return 'directory';
    case 'gnu-multivolume':
      return 'multi-volume continuation';
    default:
      return type;
  }
}

function describeRecord(kind: RecordKind): string {
  switch (kind) {
    case 'pax':
      return 'pax extended header';
    case 'pax-global':
      return 'pax global header';
    case 'long-name':
      return 'GNU long name record';
    case 'long-link':
      return 'GNU long link record';
  }
}

function printableTypeflag(typeflag: string): string {
  const code = typeflag.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? typeflag : `\\x${code.toString(16).padStart(2, '0')}`;
}

function bytes(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

function truncateForMessage(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// ---- paths ----

const WINDOWS_ABSOLUTE = /^(?:[A-Za-z]:[\\/]|\\\\)/;

function isAbsolute(p: string): boolean {
  return p.startsWith('/') || WINDOWS_ABSOLUTE.test(p);
}

function checkPathShape(path: string): { reason: string; code: TarProblemCode } | undefined {
  if (path === '') return { reason: 'empty path', code: 'empty-path' };
  // Only a pax value can hold a NUL; C programs would cut the path there and see another name.
  if (path.includes('\0')) return { reason: 'path contains a NUL byte', code: 'bad-header' };
  if (path.startsWith('/')) return { reason: 'absolute path', code: 'absolute-path' };
  if (WINDOWS_ABSOLUTE.test(path)) {
    return { reason: 'absolute path (Windows drive or UNC form)', code: 'absolute-path' };
  }
  // Backslash counts as a separator here: harmless on the phone, but a '..\' path is a mistake.
  if (path.split(/[\\/]/).includes('..')) return { reason: "path has a '..' segment", code: 'dotdot' };
  return undefined;
}

/** Path segments without empty and `.` segments: `./data//x/` → `['data', 'x']`. */
function normalSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

function notATarReason(head: Buffer, fileSize: number): string {
  const compressed = compressionOf(head);
  if (compressed)
    return `not a tar archive: the file is ${compressed}-compressed; pass the uncompressed .tar`;
  if (fileSize < BLOCK) {
    return `not a tar archive: the file is only ${fileSize} bytes, shorter than one tar header`;
  }
  return 'not a tar archive: the first 512 bytes are not a tar header';
}

function compressionOf(head: Buffer): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.toString('latin1', 0, 6) === '\xfd7zXZ\0') return 'xz';
  if (head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  return undefined;
}
