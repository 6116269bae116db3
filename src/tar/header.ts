/**
 * Decoding of the bytes of one tar header block and of the extended records (pax, GNU long
 * names) that precede a member: field layout, checksums, number formats, typeflags. Nothing here
 * keeps state or decides whether a tar is safe; `parser.ts` walks the archive with these and
 * `policy.ts` judges what it finds.
 */

import { plural } from '../util/text.js';

export const BLOCK = 512;

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

export interface PaxValues {
  [key: string]: string;
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Both the unsigned and the (historic) signed byte sum are accepted, as GNU tar does. */
export function checksumMatches(h: Buffer): boolean {
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

export function hasTarMagic(h: Buffer): boolean {
  return h.toString('latin1', 257, 262) === 'ustar' && (h[262] === 0 || h[262] === 0x20);
}

/** POSIX ustar (`ustar\0`) uses the prefix field; old GNU (`ustar  \0`) uses those bytes otherwise. */
function isPosixUstar(h: Buffer): boolean {
  return h.toString('latin1', 257, 262) === 'ustar' && h[262] === 0;
}

/** The typeflag character (`'0'`, `'5'`, `'x'`, … ; `'\0'` for old regular files). */
export function typeflagOf(h: Buffer): string {
  return String.fromCharCode(h[156]!);
}

/** The size field: bytes of data that follow the header (before any pax `size`). */
export function headerSize(h: Buffer): number | 'too-large' | undefined {
  return parseNumeric(h, 124, 12);
}

/** The member's path from the header alone: name, joined to the ustar prefix when there is one. */
export function headerPath(h: Buffer): string {
  const name = cString(h, 0, 100);
  return isPosixUstar(h) && h[345] !== 0 ? `${cString(h, 345, 155)}/${name}` : name;
}

/** The link target field (`linkname`). */
export function headerLinkName(h: Buffer): string {
  return cString(h, 157, 100);
}

/** Old GNU sparse header: the real size of the file, when the field is readable. */
export function gnuSparseRealSize(h: Buffer): number | undefined {
  const real = parseNumeric(h, 483, 12);
  return typeof real === 'number' ? real : undefined;
}

/** Old GNU sparse header: extension blocks with more of the sparse map follow the header. */
export function gnuSparseIsExtended(h: Buffer): boolean {
  return h[482] !== 0;
}

/** A GNU sparse extension block: another extension block follows this one. */
export function sparseExtensionIsExtended(block: Buffer): boolean {
  return block[504] !== 0;
}

/** A NUL-terminated (or field-filling) UTF-8 string. */
export function cString(b: Buffer, start: number, length: number): string {
  const end = start + length;
  let stop = start;
  while (stop < end && b[stop] !== 0) stop++;
  return b.toString('utf8', start, stop);
}

/**
 * A numeric header field: octal digits (leading spaces allowed, ended by space or NUL), or GNU
 * base-256 when the high bit of the first byte is set. An all-blank field reads as 0.
 */
export function parseNumeric(b: Buffer, start: number, length: number): number | 'too-large' | undefined {
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

/** A pax decimal number (`size`, `GNU.sparse.realsize`): digits only, a safe integer. */
export function parseDecimal(s: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Records are `"<len> <key>=<value>\n"`, where len counts the whole record in bytes. */
export function parsePax(buf: Buffer): PaxValues | undefined {
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

/** Bytes a body of `size` bytes takes in the archive, padded to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export function entryType(typeflag: string): TarEntryType {
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
export function carriesData(type: TarEntryType): boolean {
  return (
    type === 'file' ||
    type === 'contiguous-file' ||
    type === 'gnu-sparse' ||
    type === 'gnu-dumpdir' ||
    type === 'gnu-multivolume' ||
    type === 'unknown'
  );
}

/** The type as a message names it: `hard link`, `FIFO`, … */
export function describeType(type: TarEntryType): string {
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

/** A typeflag as a message shows it: itself when printable, else `\xNN`. */
export function printableTypeflag(typeflag: string): string {
  const code = typeflag.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? typeflag : `\\x${code.toString(16).padStart(2, '0')}`;
}

/** Why the first bytes of the file are not a tar: compressed, too short, or just not a header. */
export function notATarReason(head: Buffer, fileSize: number): string {
  const compressed = compressionOf(head);
  if (compressed)
    return `not a tar archive: the file is ${compressed}-compressed; pass the uncompressed .tar`;
  if (fileSize < BLOCK) {
    return `not a tar archive: the file is only ${plural(fileSize, 'byte')}, shorter than one tar header`;
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
