/**
 * A push-style tar parser: bytes in, archive members and structural problems out.
 *
 * Entry bodies are skipped by arithmetic, never copied through another stream, and a reader can
 * pass over them without reading them at all (`skippable`, `skip`: the upload's check of a big
 * bundle reads its headers only, `inspect.ts`). Only the current 512-byte header and the current
 * extended record (pax / GNU long name, capped) are ever held in memory.
 *
 * It judges only what it must to keep its place in the archive: where tar programs disagree on
 * where the next header is (a hard link, directory, symlink, device or FIFO header with a
 * non-zero size; data after the end-of-archive marker), it refuses instead of guessing, because
 * the extractor on the phone is not ours to choose. Whether a member is safe to unpack is
 * `policy.ts`'s question.
 */

import { plural } from '../util/text.js';
import {
  BLOCK,
  carriesData,
  checksumMatches,
  cString,
  describeType,
  entryType,
  gnuSparseIsExtended,
  gnuSparseRealSize,
  hasTarMagic,
  headerLinkName,
  headerPath,
  headerSize,
  isZeroBlock,
  notATarReason,
  type PaxValues,
  padded,
  parseDecimal,
  parsePax,
  sparseExtensionIsExtended,
  type TarEntryType,
  typeflagOf,
} from './header.js';
import type { ProblemSink } from './problems.js';

/** Pax and GNU long-name records bigger than this are refused as hostile. */
export const MAX_RECORD_BYTES = 1024 * 1024;

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

export interface TarParserEvents {
  /** Every archive member, in order; `contentSize` is the real size (a sparse file's expanded size). */
  member(entry: TarEntry, contentSize: number): void;
  /** A structural problem. The parser stops after it: what follows cannot be located. */
  problem: ProblemSink;
}

type State = 'header' | 'record' | 'sparse' | 'skip' | 'trailer' | 'stopped';
type RecordKind = 'pax' | 'pax-global' | 'long-name' | 'long-link';

/** What the bytes being skipped belong to, for the truncation message. */
interface BodyInfo {
  entry: string;
  dataEnd: number;
  /** What the data belongs to, for the message: `this entry`, `the extended header at byte N`. */
  owner: string;
}

export class TarParser {
  private state: State = 'header';
  private ended = false;
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

  constructor(private readonly events: TarParserEvents) {}

  /** Feed the next bytes of the archive. Never throws on bad input; problems go to the events. */
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
          this.passOver(n);
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

  /**
   * Bytes from here on that the parser would only count, never look at: the rest of the current
   * entry's data and padding (none while it reads a header or a record; all of them once it has
   * stopped). A reader may pass over them with `skip` instead of reading them, so checking a
   * bundle of a few big files reads little more than its headers.
   */
  get skippable(): number {
    if (this.state === 'stopped') return Number.POSITIVE_INFINITY;
    return this.state === 'skip' ? this.skipRemaining : 0;
  }

  /** Passes over `n` bytes (at most `skippable`) as if they had been written. */
  skip(n: number): void {
    if (!(n >= 0 && n <= this.skippable)) throw new RangeError(`cannot skip ${n} bytes here`);
    this.passOver(n);
  }

  private passOver(n: number): void {
    this.offset += n;
    if (this.state !== 'skip') return;
    this.skipRemaining -= n;
    if (this.skipRemaining === 0) {
      this.state = 'header';
      this.body = undefined;
    }
  }

  /** Signal the end of input: reports a truncated archive. Calling it again does nothing. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.state !== 'stopped') this.checkEof();
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
            `truncated archive: the file ends ${plural(body.dataEnd - this.offset, 'byte')} before the end of ${body.owner}'s data`,
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

    const typeflag = typeflagOf(h);
    const size = headerSize(h);
    if (size === undefined || size === 'too-large') {
      this.fail(
        '',
        size === 'too-large'
          ? `the size field of the header at byte ${at} is too large to be real`
          : `invalid size field in the header at byte ${at}`,
        'bad-header',
      );
      return;
    }

    switch (typeflag) {
      case 'x':
      case 'X':
        this.startRecord('pax', size, at);
        return;
      case 'g':
        this.startRecord('pax-global', size, at);
        return;
      case 'L':
        this.startRecord('long-name', size, at);
        return;
      case 'K':
        this.startRecord('long-link', size, at);
        return;
    }

    this.onMember(at, typeflag, size);
  }

  private onMember(at: number, typeflag: string, headerSize: number): void {
    const h = this.block;
    const pax = { ...this.paxGlobal, ...this.paxLocal };
    this.paxLocal = undefined;
    this.pendingExtendedAt = undefined;

    let path = headerPath(h);
    if (this.longName !== undefined) path = this.longName;
    if (pax['path']) path = pax['path'];
    if (pax['GNU.sparse.name']) path = pax['GNU.sparse.name'];
    this.longName = undefined;

    let linkTarget: string | undefined = headerLinkName(h);
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
        `${describeType(type)} entry with a non-zero size (${plural(size, 'byte')}): tar programs disagree on whether data follows it, so the rest of the archive cannot be checked reliably`,
        'bad-header',
      );
      return;
    }

    let contentSize = size;
    if (type === 'gnu-sparse') {
      contentSize = gnuSparseRealSize(h) ?? size;
    } else if (pax['GNU.sparse.realsize'] || pax['GNU.sparse.size']) {
      contentSize = parseDecimal(pax['GNU.sparse.realsize'] || pax['GNU.sparse.size']!) ?? size;
    }

    linkTarget = type === 'link' || type === 'symlink' ? linkTarget : undefined;
    this.events.member({ path, type, typeflag, size, linkTarget, headerOffset: at }, contentSize);

    if (type === 'gnu-sparse' && gnuSparseIsExtended(h)) {
      // Old GNU sparse: extension blocks with more of the sparse map follow the header and are
      // not counted in the size field.
      this.sparseBody = { size, entry: path };
      this.state = 'sparse';
      return;
    }
    this.skipBody(path, size);
  }

  private onSparseBlock(): void {
    if (sparseExtensionIsExtended(this.block)) return;
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

  /** Report a structural problem and stop parsing. */
  private fail(entry: string, reason: string, code: Parameters<ProblemSink>[2]): void {
    this.events.problem(entry, reason, code);
    this.state = 'stopped';
    this.record = undefined;
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

function truncateForMessage(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
