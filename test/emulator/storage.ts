/**
 * The shared storage of each emulated cloud phone server: what its `/data` and `/cache` hold,
 * path by path. A successful PushShareFiles job merges the pushed tar's members into it (read from
 * the emulated OBS bucket, headers only), a successful DeleteShareFiles job removes paths (with
 * everything under them), so a test can assert exactly what each server holds afterwards:
 *
 *   expect(emu.storage.entries('srv-1')).toEqual(emu.storage.bundle(DEFAULT_BUCKET, OBJECT));
 *
 * Like the rest of the emulator it imports nothing from `src/`: its tar reader is its own.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type StoredType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** A path as a server holds it. Directories a member needed but the tar did not list are `dir`s too. */
export interface StoredEntry {
  path: string;
  type: StoredType;
  /** Bytes of a file; 0 otherwise. */
  size: number;
  /** Target of a symlink or hard link. */
  target?: string;
}

/** What a server holds at a path, and which pushed object put it there. */
export interface HeldEntry extends StoredEntry {
  object: string;
}

/** A tar member as the phone unpacks it. */
export interface TarMember {
  /** `/` + the name, normalized (`./`, empty and `.` segments dropped, no trailing `/`). */
  path: string;
  type: StoredType;
  size: number;
  target?: string;
}

/** The top directories of shared storage: always there, never stored, never deleted. */
const ROOTS = new Set(['/data', '/cache']);

export class SharedStorage {
  private readonly byServer = new Map<string, Map<string, HeldEntry>>();

  /** `beforeRead` brings the model up to date (the emulator applies the jobs that have ended). */
  constructor(private readonly beforeRead: () => void = () => {}) {}

  /** Servers that hold anything, in the order they first did. */
  servers(): string[] {
    this.beforeRead();
    return [...this.byServer.keys()].filter((id) => (this.byServer.get(id)?.size ?? 0) > 0);
  }

  /** What `serverId` holds, sorted by path (code-unit order). */
  entries(serverId: string): StoredEntry[] {
    return this.held(serverId).map(({ object: _, ...entry }) => entry);
  }

  /** What `serverId` holds, with the object that put each path there. */
  held(serverId: string): HeldEntry[] {
    this.beforeRead();
    const map = this.byServer.get(serverId);
    if (!map) return [];
    return [...map.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((e) => ({ ...e }));
  }

  /** Paths `serverId` holds, sorted. */
  paths(serverId: string): string[] {
    return this.entries(serverId).map((e) => e.path);
  }

  has(serverId: string, path: string): boolean {
    this.beforeRead();
    return this.byServer.get(serverId)?.has(path) ?? false;
  }

  /** Unpack `members` over what the server holds, as `tar -x` does: add and overwrite, never remove. */
  merge(serverId: string, members: readonly TarMember[], object: string): void {
    let map = this.byServer.get(serverId);
    if (!map) {
      map = new Map();
      this.byServer.set(serverId, map);
    }
    for (const member of members) {
      if (ROOTS.has(member.path) || !underRoot(member.path)) continue;
      // Parents the tar did not list are created, as an extractor does; a non-directory in the way is replaced.
      for (let i = member.path.indexOf('/', 1); i > 0; i = member.path.indexOf('/', i + 1)) {
        const parent = member.path.slice(0, i);
        if (ROOTS.has(parent)) continue;
        const existing = map.get(parent);
        if (existing?.type !== 'dir') map.set(parent, { path: parent, type: 'dir', size: 0, object });
      }
      const existing = map.get(member.path);
      if (existing?.type === 'dir' && member.type !== 'dir') removeTree(map, member.path);
      const entry: HeldEntry = { path: member.path, type: member.type, size: member.size, object };
      if (member.target !== undefined) entry.target = member.target;
      map.set(member.path, entry);
    }
  }

  /** Remove each path and everything under it (`rm -rf`); returns the paths that were not there. */
  delete(serverId: string, paths: readonly string[]): string[] {
    const map = this.byServer.get(serverId);
    const missing: string[] = [];
    for (const path of paths) {
      if (!map?.has(path)) {
        missing.push(path);
        continue;
      }
      removeTree(map, path);
    }
    return missing;
  }

  /** Forget one server's storage (wiped outside the action), or every server's. */
  wipe(serverId?: string): void {
    if (serverId === undefined) this.byServer.clear();
    else this.byServer.delete(serverId);
  }

  /** What a server with empty storage holds after a push of these members. */
  static fresh(members: readonly TarMember[]): StoredEntry[] {
    const storage = new SharedStorage();
    storage.merge('fresh', members, '');
    return storage.entries('fresh');
  }
}

function underRoot(path: string): boolean {
  return path.startsWith('/data/') || path.startsWith('/cache/');
}

function removeTree(map: Map<string, HeldEntry>, path: string): void {
  map.delete(path);
  const prefix = `${path}/`;
  for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
}

/** A tar member name as the phone sees it; undefined for the archive root. */
export function phonePath(name: string): string | undefined {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  return segments.length === 0 ? undefined : `/${segments.join('/')}`;
}

/** Reads a tar stored as consecutive segment files (OBS multipart objects are several). */
class SegmentReader {
  private readonly parts: Array<{ fd: number; start: number; size: number }> = [];
  readonly size: number;

  constructor(files: readonly string[]) {
    let start = 0;
    try {
      for (const file of files) {
        const fd = openSync(file, 'r');
        const size = fstatSync(fd).size;
        this.parts.push({ fd, start, size });
        start += size;
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.size = start;
  }

  /** `length` bytes at `offset`; fewer at the end of the data. */
  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    let filled = 0;
    for (const part of this.parts) {
      if (filled === out.length) break;
      const at = offset + filled;
      if (at >= part.start + part.size || at < part.start) continue;
      const n = Math.min(out.length - filled, part.start + part.size - at);
      readSync(part.fd, out, filled, n, at - part.start);
      filled += n;
    }
    return out;
  }

  close(): void {
    for (const part of this.parts) closeSync(part.fd);
    this.parts.length = 0;
  }
}

const BLOCK = 512;

/**
 * The members of the tar stored in `files`, read header by header (bodies are skipped, not read):
 * ustar, GNU (long names `L`/`K`) and pax (`path`, `linkpath`, `size`, GNU sparse names and real
 * sizes). Throws on what an extractor would stop at: a bad checksum, a truncated archive.
 */
export function readTarMembers(files: readonly string[]): TarMember[] {
  const reader = new SegmentReader(files);
  try {
    return walk(reader);
  } finally {
    reader.close();
  }
}

function walk(reader: SegmentReader): TarMember[] {
  const members: TarMember[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (offset >= reader.size) break; // no end marker: accepted, as GNU tar does
    const h = reader.read(offset, BLOCK);
    if (h.length < BLOCK) throw new Error(`truncated tar: header at byte ${offset}`);
    if (h.every((b) => b === 0)) break;
    if (!checksumOk(h)) throw new Error(`bad tar header checksum at byte ${offset}`);
    const typeflag = String.fromCharCode(h[156]!);
    let size = numeric(h.subarray(124, 136));
    if (pax['size'] !== undefined && typeflag !== 'x' && typeflag !== 'g') size = Number(pax['size']);
    const dataAt = offset + BLOCK;
    const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (next > reader.size && size > 0)
      throw new Error(`truncated tar: the data of the member at byte ${offset}`);
    const body = () => reader.read(dataAt, size);
    switch (typeflag) {
      case 'x':
        pax = { ...pax, ...paxRecords(body()) };
        offset = next;
        continue;
      case 'g':
        offset = next;
        continue;
      case 'L':
        longName = cString(body());
        offset = next;
        continue;
      case 'K':
        longLink = cString(body());
        offset = next;
        continue;
    }
    const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
    const prefix = ustar ? cString(h.subarray(345, 500)) : '';
    const headerName = cString(h.subarray(0, 100));
    const name =
      pax['GNU.sparse.name'] ?? pax['path'] ?? longName ?? (prefix ? `${prefix}/${headerName}` : headerName);
    const target = pax['linkpath'] ?? longLink ?? cString(h.subarray(157, 257));
    const type = storedType(typeflag, name);
    let fileSize = size;
    if (typeflag === 'S') fileSize = numeric(h.subarray(483, 495));
    if (pax['GNU.sparse.realsize'] !== undefined) fileSize = Number(pax['GNU.sparse.realsize']);
    const path = phonePath(name);
    if (type !== undefined && path !== undefined) {
      const member: TarMember = { path, type, size: type === 'file' ? fileSize : 0 };
      if (type === 'symlink' || type === 'hardlink') member.target = target;
      members.push(member);
    }
    pax = {};
    longName = undefined;
    longLink = undefined;
    offset = next;
    if (typeflag === 'S' && h[482] !== 0) {
      // Old GNU sparse map extension blocks follow the header, before the data.
      offset = dataAt;
      for (let more = true; more; offset += BLOCK) more = reader.read(offset, BLOCK)[504] !== 0;
      offset += Math.ceil(size / BLOCK) * BLOCK;
    }
  }
  return members;
}

function storedType(typeflag: string, name: string): StoredType | undefined {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
    case 'S':
      return name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
    case 'D':
      return 'dir';
    default:
      return undefined; // devices, FIFOs: the phone cannot hold them
  }
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return numeric(h.subarray(148, 156)) === sum;
}

/** Octal, or GNU base-256 when the top bit is set. */
function numeric(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

function paxRecords(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const length = Number(buf.subarray(pos, space).toString('latin1'));
    if (!(length > 0)) break;
    const record = buf.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}
