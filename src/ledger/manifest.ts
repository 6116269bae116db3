/**
 * The manifest of a bundle: every entry of its tar as the phone sees it, stored once per bundle at
 * `<ledger dir>manifests/<sha256>.json` and never rewritten (content-addressed). A later run with
 * `prune` diffs the manifest of the bundle a server held against this bundle's.
 *
 * Built from the members the tar inspection already walks (`TarInspector`'s `onEntry`), so the
 * archive is read once.
 */

import type { TarEntry } from '../tar/inspect.js';

export type ManifestEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface ManifestEntry {
  /** `/` + the entry's name, normalized as the phone sees it: `/data/local/game/levels.bin`. */
  path: string;
  type: ManifestEntryType;
  /** Bytes of a file (a sparse file's real size); 0 for anything else. */
  size: number;
}

export interface Manifest {
  format: 1;
  /** Hex SHA-256 of the whole tar: the bundle's identity. */
  sha256: string;
  /** The object key the bundle was published as. */
  object: string;
  /** Bytes of the tar. */
  size: number;
  /** One entry per path, sorted by path (code-unit order); the last member of a path wins. */
  entries: ManifestEntry[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TYPES: ReadonlySet<string> = new Set<ManifestEntryType>(['file', 'dir', 'symlink', 'hardlink']);

/** Key of a bundle's manifest next to the ledger: `<ledger dir>manifests/<sha256>.json`. */
export function manifestKey(ledgerKey: string, sha256: string): string {
  return `${ledgerKey.slice(0, ledgerKey.lastIndexOf('/') + 1)}manifests/${sha256}.json`;
}

/**
 * A tar member's name as a path on the phone: `/` + the name without a leading `./` and a
 * trailing `/` (and without empty or `.` segments, which an extractor skips the same way).
 * `undefined` for the archive root itself (`./`), which names no path.
 */
export function phonePath(name: string): string | undefined {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  return segments.length === 0 ? undefined : `/${segments.join('/')}`;
}

/** How a member lands on the phone; `undefined` for members the inspection refuses anyway. */
export function manifestType(entry: TarEntry): ManifestEntryType | undefined {
  switch (entry.type) {
    case 'file':
    case 'contiguous-file':
    case 'gnu-sparse':
      return 'file';
    case 'directory':
    case 'gnu-dumpdir':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      return undefined;
  }
}

/** Collects the members of a tar while it is inspected; `build()` once the tar is known good. */
export class ManifestBuilder {
  private readonly byPath = new Map<string, ManifestEntry>();

  /** Give it to `TarInspector` / `scanFile` as `onEntry`. */
  readonly onEntry = (entry: TarEntry, contentSize?: number): void => {
    const path = phonePath(entry.path);
    const type = manifestType(entry);
    if (path === undefined || type === undefined) return;
    // A path named twice ends as its last member, as on the phone.
    this.byPath.delete(path);
    this.byPath.set(path, { path, type, size: type === 'file' ? (contentSize ?? entry.size) : 0 });
  };

  build(bundle: { sha256: string; object: string; size: number }): Manifest {
    const entries = [...this.byPath.values()].sort((a, b) => compare(a.path, b.path));
    return { format: 1, sha256: bundle.sha256, object: bundle.object, size: bundle.size, entries };
  }
}

export function serializeManifest(manifest: Manifest): string {
  const { format, sha256, object, size, entries } = manifest;
  return JSON.stringify({
    format,
    sha256,
    object,
    size,
    entries: entries.map(({ path, type, size }) => ({ path, type, size })),
  });
}

/** A manifest read back that is not one: names the key and what is wrong. */
export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`manifest '${key}' is not a cph-publish manifest: ${reason}`);
  }
}

/**
 * Parse and check a manifest read from `key`; `sha256` is the bundle it must describe (the key
 * says so). Throws ManifestError naming the first thing wrong.
 */
export function parseManifest(text: string, key: string, sha256: string): Manifest {
  const fail = (reason: string): never => {
    throw new ManifestError(key, reason);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('it is not JSON');
  }
  if (!isObject(value)) return fail('it is not a JSON object');
  if (value['format'] !== 1) return fail(`format is ${JSON.stringify(value['format'])}, expected 1`);
  if (typeof value['sha256'] !== 'string' || !SHA256_HEX.test(value['sha256'])) {
    return fail('sha256 is not 64 lower-case hex digits');
  }
  if (value['sha256'] !== sha256) return fail(`it describes bundle ${value['sha256']}, not ${sha256}`);
  if (typeof value['object'] !== 'string') return fail('object is not a string');
  if (!isSize(value['size'])) return fail('size is not a byte count');
  const raw = value['entries'];
  if (!Array.isArray(raw)) return fail('entries is not an array');
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < raw.length; i++) {
    const e: unknown = raw[i];
    if (!isObject(e)) return fail(`entries[${i}] is not an object`);
    const { path, type, size } = e;
    if (typeof path !== 'string' || !path.startsWith('/') || phonePath(path) !== path) {
      return fail(`entries[${i}].path is not an absolute, normalized path`);
    }
    if (typeof type !== 'string' || !TYPES.has(type)) {
      return fail(`entries[${i}].type is not file, dir, symlink or hardlink`);
    }
    if (!isSize(size)) return fail(`entries[${i}].size is not a byte count`);
    entries.push({ path, type: type as ManifestEntryType, size });
  }
  return { format: 1, sha256, object: value['object'], size: value['size'], entries };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
