/**
 * Builds tar archives byte by byte, valid or deliberately broken, so tests do not depend on a
 * tar library to produce the hostile shapes (bad checksums, lying sizes, `..` paths, devices).
 *
 *   buildTar([{ path: 'data/', type: 'directory' }, { path: 'data/a.txt', content: 'hi' }])
 */

const BLOCK = 512;

export type TarBuilderType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'link'
  | 'char'
  | 'block'
  | 'fifo'
  | 'contiguous';

export interface TarBuilderEntry {
  path: string;
  type?: TarBuilderType;
  /** Raw typeflag character; overrides `type` (e.g. `'x'`, `'g'`, `'L'`, `'S'`, `'Q'`). */
  typeflag?: string;
  /** Body bytes written after the header (padded to 512). Default: `size` zero bytes. */
  content?: string | Uint8Array;
  /** Size written in the header. Default: the content length. */
  size?: number;
  linkTarget?: string;
  /** Default `ustar`. `gnu` uses GNU magic and `L`/`K` records for long names; `pax` always writes a pax header. */
  format?: 'ustar' | 'gnu' | 'pax' | 'v7';
  /** Extra pax records (pax format only, or any format with `format: 'pax'`). */
  pax?: Record<string, string>;
  /** `good` (default), `bad` (off by one), `signed` (historic signed-byte sum), or a value to store. */
  checksum?: 'good' | 'bad' | 'signed' | number;
  /** Write the size field in GNU base-256 instead of octal. */
  base256Size?: boolean;
  mode?: number;
}

export interface TarBuilderOptions {
  /** Zero blocks written at the end. Default 2. */
  endBlocks?: number;
  /** Bytes appended after the end blocks. */
  trailing?: Uint8Array;
}

const TYPEFLAGS: Record<TarBuilderType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
  contiguous: '7',
};

export function buildTar(entries: TarBuilderEntry[], options: TarBuilderOptions = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) parts.push(...entryBlocks(entry));
  parts.push(Buffer.alloc(BLOCK * (options.endBlocks ?? 2)));
  if (options.trailing) parts.push(Buffer.from(options.trailing));
  return Buffer.concat(parts);
}

function entryBlocks(entry: TarBuilderEntry): Buffer[] {
  const format = entry.format ?? 'ustar';
  const content = toBuffer(entry.content ?? Buffer.alloc(entry.size ?? 0));
  const size = entry.size ?? content.length;
  const typeflag = entry.typeflag ?? TYPEFLAGS[entry.type ?? 'file'];
  const linkTarget = entry.linkTarget ?? '';
  const blocks: Buffer[] = [];

  let name = entry.path;
  let prefix = '';
  let link = linkTarget;
  if (format === 'gnu') {
    if (byteLength(name) > 100) {
      blocks.push(
        ...entryBlocks({ path: '././@LongLink', typeflag: 'L', content: `${name}\0`, format: 'gnu' }),
      );
      name = name.slice(0, 100);
    }
    if (byteLength(link) > 100) {
      blocks.push(
        ...entryBlocks({ path: '././@LongLink', typeflag: 'K', content: `${link}\0`, format: 'gnu' }),
      );
      link = link.slice(0, 100);
    }
  } else if (format === 'pax') {
    const records: Record<string, string> = { path: name, ...entry.pax };
    if (linkTarget) records['linkpath'] = linkTarget;
    blocks.push(
      ...entryBlocks({ path: 'PaxHeaders/x', typeflag: 'x', content: paxRecords(records), format: 'ustar' }),
    );
    name = name.slice(0, 100);
    link = link.slice(0, 100);
  } else if (format === 'ustar' && byteLength(name) > 100) {
    const split = splitUstar(name);
    if (split) [prefix, name] = split;
  }

  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, 100, 8, entry.mode ?? (typeflag === '5' ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 1000);
  writeOctal(h, 116, 8, 1000);
  if (entry.base256Size || size > 0o77777777777) writeBase256(h, 124, 12, size);
  else writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 1_700_000_000);
  h.write(typeflag, 156, 1, 'latin1');
  h.write(link, 157, 100, 'utf8');
  if (format === 'gnu') h.write('ustar  \0', 257, 8, 'latin1');
  else if (format !== 'v7') h.write('ustar\x0000', 257, 8, 'latin1');
  if (format !== 'v7') {
    h.write('user', 265, 32, 'latin1');
    h.write('group', 297, 32, 'latin1');
  }
  if (prefix) h.write(prefix, 345, 155, 'utf8');
  setChecksum(h, entry.checksum ?? 'good');

  blocks.push(h);
  if (content.length > 0) {
    blocks.push(content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  return blocks;
}

/** Encode pax records `"<len> key=value\n"`, where len counts the whole record. */
export function paxRecords(values: Record<string, string>): Buffer {
  let out = '';
  for (const [key, value] of Object.entries(values)) {
    const body = ` ${key}=${value}\n`;
    const bodyLen = byteLength(body);
    let digits = String(bodyLen).length;
    if (String(bodyLen + digits).length > digits) digits++;
    out += `${bodyLen + digits}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

/** Rewrite the checksum of a header block in place (after a test has mutated it). */
export function setChecksum(h: Buffer, mode: 'good' | 'bad' | 'signed' | number = 'good'): void {
  h.fill(0x20, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (const b of h) {
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const value =
    typeof mode === 'number' ? mode : mode === 'signed' ? signed : mode === 'bad' ? unsigned + 1 : unsigned;
  h.write(`${value.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

function splitUstar(name: string): [string, string] | undefined {
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (byteLength(rest) <= 100 && byteLength(prefix) <= 155) return [prefix, rest];
    if (byteLength(rest) > 100) return undefined;
  }
  return undefined;
}

function writeOctal(b: Buffer, off: number, len: number, value: number): void {
  b.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function writeBase256(b: Buffer, off: number, len: number, value: number): void {
  let v = value;
  for (let i = off + len - 1; i > off; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[off] = 0x80;
}

function toBuffer(c: string | Uint8Array): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c);
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
