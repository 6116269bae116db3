/** Decoding of header fields and extended records, byte by byte, with exact values. */
import { describe, expect, it } from 'vitest';
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
  padded,
  parseDecimal,
  parseNumeric,
  parsePax,
  printableTypeflag,
  sparseExtensionIsExtended,
  typeflagOf,
} from '../../../src/tar/header.js';

function field(text: string, length = 12): Buffer {
  const b = Buffer.alloc(length);
  b.write(text, 'latin1');
  return b;
}

function header(fields: Record<number, string | number[]>): Buffer {
  const h = Buffer.alloc(BLOCK);
  for (const [offset, value] of Object.entries(fields)) {
    if (typeof value === 'string') h.write(value, Number(offset), 'latin1');
    else Buffer.from(value).copy(h, Number(offset));
  }
  return h;
}

function withChecksum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

describe('parseNumeric', () => {
  it.each([
    ['00000000017\0', 15],
    ['17', 15],
    ['   17 ', 15],
    ['0000000017 \0', 15],
    ['', 0],
    ['            ', 0],
    ['77777777777\0', 8589934591],
    ['18', undefined],
    ['1 7', undefined],
    ['x', undefined],
  ] as const)('octal %j → %j', (text, value) => {
    expect(parseNumeric(field(text), 0, 12)).toBe(value);
  });

  it('reads GNU base-256, refuses negatives, and says when a value is too large to be real', () => {
    const b256 = (bytes: number[]) => Buffer.from([...Array(12 - bytes.length).fill(0), ...bytes]);
    const positive = b256([0x01, 0x00]);
    positive[0] = 0x80;
    expect(parseNumeric(positive, 0, 12)).toBe(256);
    const first = Buffer.alloc(12);
    first[0] = 0x80 | 0x3f;
    expect(parseNumeric(first, 0, 1)).toBe(0x3f);
    const negative = Buffer.alloc(12);
    negative[0] = 0xff;
    expect(parseNumeric(negative, 0, 12)).toBeUndefined();
    const huge = Buffer.alloc(12, 0xff);
    huge[0] = 0x80;
    expect(parseNumeric(huge, 0, 12)).toBe('too-large');
    expect(parseNumeric(field('7777777777777777777777'.slice(0, 12)), 0, 12)).toBe(68719476735);
    expect(parseNumeric(Buffer.from('777777777777777777777'), 0, 21)).toBe('too-large');
  });
});

describe('parseDecimal', () => {
  it.each([
    ['0', 0],
    ['123', 123],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', undefined],
    ['12345678901234567', undefined],
    ['', undefined],
    ['-1', undefined],
    ['1e3', undefined],
    [' 1', undefined],
  ] as const)('%j → %j', (text, value) => {
    expect(parseDecimal(text)).toBe(value);
  });
});

describe('parsePax', () => {
  const rec = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len++;
    return `${len}${body}`;
  };

  it('reads records, later keys winning, values with "=" and newlines, NUL padding after them', () => {
    const text = rec('path', 'a=b') + rec('linkpath', 'x\ny') + rec('path', 'c');
    expect(parsePax(Buffer.from(text))).toEqual({ path: 'c', linkpath: 'x\ny' });
    expect(parsePax(Buffer.concat([Buffer.from(rec('size', '5')), Buffer.alloc(7)]))).toEqual({ size: '5' });
    expect(parsePax(Buffer.alloc(0))).toEqual({});
    expect(parsePax(Buffer.from(rec('k', '')))).toEqual({ k: '' });
  });

  it.each([
    ['no length', ' path=x\n'],
    ['no space', '11path=x\n'],
    ['length past the end', '99 path=x\n'],
    ['length too short', '3 path=x\n'],
    ['no newline at the end', '10 path=xy'],
    ['no "="', '9 pathx\n\n'],
    ['empty key', '7 =xyz\n'],
    ['"=" only at the end', '8 path=\n'.replace('8 path=\n', '7 path\n=')],
    ['junk after NUL padding', `${rec('a', 'b')}\0\0x`],
    ['a length of 17 digits', `${'0'.repeat(16)}9 a=b\n`],
  ])('refuses %s', (_name, text) => {
    expect(parsePax(Buffer.from(text))).toBeUndefined();
  });
});

describe('header fields', () => {
  it('joins the ustar prefix to the name only for POSIX ustar, and reads link, size, typeflag', () => {
    const posix = header({
      0: 'name',
      345: 'pre/fix',
      257: 'ustar\x0000',
      157: 'target',
      124: '0000017',
      156: '2',
    });
    expect(headerPath(posix)).toBe('pre/fix/name');
    expect(headerLinkName(posix)).toBe('target');
    expect(headerSize(posix)).toBe(15);
    expect(typeflagOf(posix)).toBe('2');
    expect(hasTarMagic(posix)).toBe(true);
    const gnu = header({ 0: 'name', 345: 'not-a-prefix', 257: 'ustar  \0' });
    expect(headerPath(gnu)).toBe('name');
    expect(hasTarMagic(gnu)).toBe(true);
    const v7 = header({ 0: 'name', 345: 'x' });
    expect(headerPath(v7)).toBe('name');
    expect(hasTarMagic(v7)).toBe(false);
    expect(hasTarMagic(header({ 257: 'ustarX' }))).toBe(false);
    expect(headerPath(header({ 0: 'n', 257: 'ustar\0' }))).toBe('n');
    expect(typeflagOf(header({}))).toBe('\0');
  });

  it('reads a name that fills its whole field, and UTF-8', () => {
    const long = 'a'.repeat(100);
    expect(headerPath(header({ 0: long, 100: 'zzz' }))).toBe(long);
    const h = Buffer.alloc(BLOCK);
    h.write('données', 0, 'utf8');
    expect(cString(h, 0, 100)).toBe('données');
  });

  it('old GNU sparse: real size and the extension flags', () => {
    const h = header({ 483: '00000001000' });
    expect(gnuSparseRealSize(h)).toBe(512);
    expect(gnuSparseRealSize(header({ 483: 'zz' }))).toBeUndefined();
    expect(gnuSparseIsExtended(h)).toBe(false);
    expect(gnuSparseIsExtended(header({ 482: [1] }))).toBe(true);
    expect(sparseExtensionIsExtended(header({ 504: [1] }))).toBe(true);
    expect(sparseExtensionIsExtended(header({}))).toBe(false);
  });

  it('checksums: unsigned and signed sums accepted, anything else refused', () => {
    const h = withChecksum(header({ 0: 'a', 100: '0000644', 257: 'ustar\x0000' }));
    expect(checksumMatches(h)).toBe(true);
    h[0] = 0x62;
    expect(checksumMatches(h)).toBe(false);
    // A high byte: the signed sum counts it as negative, as some old tars did.
    const high = header({ 0: '\xe9' });
    high.fill(0x20, 148, 156);
    let signed = 0;
    for (const b of high) signed += b > 127 ? b - 256 : b;
    high.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(checksumMatches(high)).toBe(true);
    expect(checksumMatches(header({ 148: 'zzzzzz' }))).toBe(false);
  });

  it('zero blocks and padding', () => {
    expect(isZeroBlock(Buffer.alloc(BLOCK))).toBe(true);
    const last = Buffer.alloc(BLOCK);
    last[511] = 1;
    expect(isZeroBlock(last)).toBe(false);
    expect([0, 1, 511, 512, 513].map(padded)).toEqual([0, 512, 512, 512, 1024]);
  });
});

describe('types', () => {
  it('maps every typeflag, and says which carry data and how messages name them', () => {
    const flags = ['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'D', 'S', 'M', 'Z'];
    expect(flags.map(entryType)).toEqual([
      'file',
      'file',
      'link',
      'symlink',
      'character-device',
      'block-device',
      'directory',
      'fifo',
      'contiguous-file',
      'gnu-dumpdir',
      'gnu-sparse',
      'gnu-multivolume',
      'unknown',
    ]);
    expect(flags.map((f) => carriesData(entryType(f)))).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(flags.map((f) => describeType(entryType(f)))).toEqual([
      'file',
      'file',
      'hard link',
      'symlink',
      'character device',
      'block device',
      'directory',
      'FIFO',
      'file',
      'directory',
      'file',
      'multi-volume continuation',
      'unknown',
    ]);
  });

  it('shows printable typeflags as they are and others as \\xNN', () => {
    expect(['!', '~', 'A', ' ', '\x7f', '\0', '\xff'].map(printableTypeflag)).toEqual([
      '!',
      '~',
      'A',
      '\\x20',
      '\\x7f',
      '\\x00',
      '\\xff',
    ]);
  });
});

describe('notATarReason', () => {
  it.each([
    [[0x1f, 0x8b, 8], 600, 'not a tar archive: the file is gzip-compressed; pass the uncompressed .tar'],
    [
      [0x28, 0xb5, 0x2f, 0xfd],
      600,
      'not a tar archive: the file is zstd-compressed; pass the uncompressed .tar',
    ],
    [
      [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0],
      600,
      'not a tar archive: the file is xz-compressed; pass the uncompressed .tar',
    ],
    [[0x42, 0x5a, 0x68], 600, 'not a tar archive: the file is bzip2-compressed; pass the uncompressed .tar'],
    [[0x28, 0xb5, 0x2f, 0xfe], 600, 'not a tar archive: the first 512 bytes are not a tar header'],
    [[0x1f, 0x8c], 600, 'not a tar archive: the first 512 bytes are not a tar header'],
    [[0x41], 511, 'not a tar archive: the file is only 511 bytes, shorter than one tar header'],
    [[0x41], 512, 'not a tar archive: the first 512 bytes are not a tar header'],
  ])('%j of a %i-byte file', (head, size, reason) => {
    const block = Buffer.alloc(BLOCK);
    Buffer.from(head).copy(block);
    expect(notATarReason(block, size)).toBe(reason);
  });
});
