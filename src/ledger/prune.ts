/**
 * What a prune deletes: the paths a server's previous bundle had and this one has not, as few as
 * DeleteShareFiles needs (a directory instead of everything under it), and the calls that delete
 * them for a whole stage (servers with the same paths share calls).
 *
 * Pure and linear in the manifests' sizes: two 50,000-entry manifests diff in milliseconds
 * (bench/ledger.ts).
 */

import type { ManifestEntry } from './manifest.js';

/** Most paths (and servers, via `batch-size`) one DeleteShareFiles call carries. */
export const MAX_PATHS_PER_CALL = 100;
/** DeleteShareFiles refuses longer paths. */
export const MAX_PATH_BYTES = 4096;
/** Characters DeleteShareFiles takes in a path. */
const ALLOWED = /^[A-Za-z0-9./\-_= ]*$/;

export interface PruneSet {
  /** Paths to delete, sorted; none lies under another. */
  delete: string[];
  /** Paths that should go but DeleteShareFiles cannot take (characters, length): kept as stale. */
  refused: string[];
}

/** Why DeleteShareFiles cannot take this path, or undefined when it can. */
export function refusalOf(path: string): string | undefined {
  if (!ALLOWED.test(path)) return 'has a character DeleteShareFiles refuses';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.split('/').some((s, i) => i > 0 && (s === '' || s === '.' || s === '..'))) {
    return 'has an empty, . or .. segment';
  }
  return undefined;
}

/** Strictly under `/data` or `/cache` (never those themselves, never outside them). */
export function isPrunable(path: string): boolean {
  return (path.startsWith('/data/') && path.length > 6) || (path.startsWith('/cache/') && path.length > 7);
}

/**
 * The paths to delete from a server that held the bundle of manifest `previous` (P) and now holds
 * `next` (N), with `oldStale` = what earlier prunes could not delete:
 *
 * - every path of P, and of `oldStale`, that N does not have;
 * - but not a path with a path of N under it (a directory N still fills), nor one under a path
 *   that N has as a file, symlink or hard link (a directory that became a file is left to the
 *   push: what was under it is gone already);
 * - never `/`, `/data`, `/cache` or anything outside them;
 * - minus anything under a path being deleted;
 * - paths DeleteShareFiles cannot take are `refused` (unless a deleted directory takes them
 *   with it), for the caller to keep as stale.
 */
export function pruneSet(
  previous: readonly ManifestEntry[],
  next: readonly ManifestEntry[],
  oldStale: readonly string[] = [],
): PruneSet {
  const inNext = new Set<string>();
  const nonDirInNext = new Set<string>();
  const underNext = new Set<string>(); // every proper ancestor of a path of N
  for (const { path, type } of next) {
    inNext.add(path);
    if (type !== 'dir') nonDirInNext.add(path);
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const ancestor = path.slice(0, i);
      if (underNext.has(ancestor)) break; // and so are its own ancestors
      underNext.add(ancestor);
    }
  }

  const candidates = new Set<string>();
  const consider = (path: string) => {
    if (inNext.has(path) || underNext.has(path) || !isPrunable(path)) return;
    if (nonDirInNext.size > 0 && hasAncestorIn(path, nonDirInNext)) return;
    candidates.add(path);
  };
  for (const { path } of previous) consider(path);
  for (const path of oldStale) consider(path);

  const allowed = new Set<string>();
  const refused: string[] = [];
  for (const path of candidates) {
    if (refusalOf(path) === undefined) allowed.add(path);
    else refused.push(path);
  }
  const toDelete = [...allowed].filter((path) => !hasAncestorIn(path, allowed));
  return {
    delete: toDelete.sort(compare),
    refused: refused.filter((path) => !hasAncestorIn(path, allowed)).sort(compare),
  };
}

function hasAncestorIn(path: string, set: ReadonlySet<string>): boolean {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    if (set.has(path.slice(0, i))) return true;
  }
  return false;
}

/** One DeleteShareFiles call: exactly the body's two keys. */
export interface DeleteCall {
  serverIds: string[];
  filePaths: string[];
}

/**
 * The DeleteShareFiles calls for a stage: servers with the same paths to delete share calls, at
 * most `batchSize` servers and 100 paths a call, so a path set held by S servers costs
 * ⌈S / batchSize⌉ × ⌈paths / 100⌉ calls. Servers with nothing to delete get no call. Groups come
 * in the order of their first server; servers keep their order.
 */
export function deleteCalls(
  paths: ReadonlyMap<string, readonly string[]> | ReadonlyArray<readonly [string, readonly string[]]>,
  batchSize: number,
): DeleteCall[] {
  const groups = new Map<string, { paths: readonly string[]; servers: string[] }>();
  for (const [serverId, filePaths] of paths) {
    if (filePaths.length === 0) continue;
    const sorted = [...new Set(filePaths)].sort(compare);
    // Paths hold no newline (refusalOf), so the joined list identifies the set.
    const key = sorted.join('\n');
    const group = groups.get(key);
    if (group) group.servers.push(serverId);
    else groups.set(key, { paths: sorted, servers: [serverId] });
  }
  const size = Math.max(1, Math.floor(batchSize));
  const calls: DeleteCall[] = [];
  for (const { paths: filePaths, servers } of groups.values()) {
    for (let s = 0; s < servers.length; s += size) {
      for (let p = 0; p < filePaths.length; p += MAX_PATHS_PER_CALL) {
        calls.push({
          serverIds: servers.slice(s, s + size),
          filePaths: filePaths.slice(p, p + MAX_PATHS_PER_CALL),
        });
      }
    }
  }
  return calls;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
