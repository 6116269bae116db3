/**
 * The release ledger: what this action last published to each server, one JSON object in the
 * user's bucket. Parsed tolerantly (keys this version does not know, and server entries it cannot
 * read, are kept as they are and written back untouched), written compactly (a 20,000-server
 * ledger is a few MB: bench/ledger.ts), merged per server when another run wrote it meanwhile.
 */

export interface LedgerEntry {
  /** Object key of the bundle, as in `object-path`. */
  object: string;
  /** Hex SHA-256 of the bundle's tar. */
  sha256: string;
  size: number;
  /** ISO time the push was confirmed. */
  at: string;
  /** `<GITHUB_REPOSITORY>/<GITHUB_RUN_ID>/<GITHUB_RUN_ATTEMPT>`. */
  run: string;
  /** `GITHUB_REF`. */
  ref: string;
  /** Paths a prune should have deleted but could not. */
  stale: string[];
}

/**
 * A server's slot in the ledger: an entry this version reads, or something else (another
 * format, a damaged entry) that it keeps as it is and treats as "unknown".
 */
export type LedgerSlot =
  | { kind: 'entry'; entry: LedgerEntry; extra?: Record<string, unknown> }
  | {
      kind: 'unknown';
      raw: unknown;
    };

export interface Ledger {
  /** Per server id, in the order first written. */
  servers: Map<string, LedgerSlot>;
  /** Top-level keys other than `format` and `servers`, kept and written back. */
  extra: Record<string, unknown>;
}

/** The bundle a stage pushed, as the ledger records it. */
export interface BundleRef {
  object: string;
  sha256: string;
  size: number;
}

/** Who confirmed the pushes: the run and the time. */
export interface RunStamp {
  at: string;
  run: string;
  ref: string;
}

export function emptyLedger(): Ledger {
  return { servers: new Map(), extra: {} };
}

/** A ledger that cannot be used: not JSON, not an object, or a format this version does not know. */
export class LedgerFormatError extends Error {
  override name = 'LedgerFormatError';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`ledger '${key}' cannot be used: ${reason}`);
  }
}

const ENTRY_KEYS = ['object', 'sha256', 'size', 'at', 'run', 'ref', 'stale'] as const;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Parse the ledger's text. Throws LedgerFormatError when the whole document is unusable (writing
 * over it would destroy what another tool or a newer version keeps there); a server entry that
 * does not read as one is kept as `unknown`.
 */
export function parseLedger(text: string, key: string): Ledger {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LedgerFormatError(
      key,
      'it is not JSON (fix or remove the object, or use another `ledger` key)',
    );
  }
  if (!isObject(value)) throw new LedgerFormatError(key, 'it is not a JSON object');
  if (value['format'] !== 1) {
    throw new LedgerFormatError(
      key,
      `its format is ${JSON.stringify(value['format'] ?? null)}, and this version of cph-publish writes format 1 (a newer version wrote it, or it is not a cph-publish ledger)`,
    );
  }
  const rawServers = value['servers'] ?? {};
  if (!isObject(rawServers)) throw new LedgerFormatError(key, '"servers" is not a JSON object');
  const servers = new Map<string, LedgerSlot>();
  for (const [id, raw] of Object.entries(rawServers)) servers.set(id, readSlot(raw));
  const extra: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(value)) if (k !== 'format' && k !== 'servers') extra[k] = v;
  return { servers, extra };
}

function readSlot(raw: unknown): LedgerSlot {
  if (!isObject(raw)) return { kind: 'unknown', raw };
  const { object, sha256, size, at, run, ref, stale } = raw;
  if (
    typeof object !== 'string' ||
    typeof sha256 !== 'string' ||
    !SHA256_HEX.test(sha256) ||
    typeof size !== 'number' ||
    !Number.isSafeInteger(size) ||
    size < 0 ||
    typeof at !== 'string' ||
    Number.isNaN(Date.parse(at)) ||
    typeof run !== 'string' ||
    typeof ref !== 'string' ||
    !(stale === undefined || (Array.isArray(stale) && stale.every((p) => typeof p === 'string')))
  ) {
    return { kind: 'unknown', raw };
  }
  const entry: LedgerEntry = { object, sha256, size, at, run, ref, stale: (stale as string[]) ?? [] };
  const extraKeys = Object.keys(raw).filter((k) => !(ENTRY_KEYS as readonly string[]).includes(k));
  if (extraKeys.length === 0) return { kind: 'entry', entry };
  return { kind: 'entry', entry, extra: Object.fromEntries(extraKeys.map((k) => [k, raw[k]])) };
}

/** The readable entry of a server, or undefined (no entry, or one this version cannot read). */
export function entryOf(ledger: Ledger, serverId: string): LedgerEntry | undefined {
  const slot = ledger.servers.get(serverId);
  return slot?.kind === 'entry' ? slot.entry : undefined;
}

/** Compact JSON: no white space; entries in the contract's key order; unknown keys kept. */
export function serializeLedger(ledger: Ledger): string {
  // No prototype: a server id such as `__proto__` stays an ordinary key.
  const servers: Record<string, unknown> = Object.create(null);
  for (const [id, slot] of ledger.servers) {
    if (slot.kind === 'unknown') {
      servers[id] = slot.raw;
      continue;
    }
    const { object, sha256, size, at, run, ref, stale } = slot.entry;
    servers[id] = { object, sha256, size, at, run, ref, stale, ...slot.extra };
  }
  return JSON.stringify({ format: 1, servers, ...ledger.extra });
}

/**
 * The ledger after a stage: each server whose push succeeded now holds `bundle`, with `stale` =
 * the paths its prune did not delete. Every other server keeps its slot. Returns a new ledger.
 */
export function recordStage(
  ledger: Ledger,
  succeeded: ReadonlyArray<{ serverId: string; stale: readonly string[] }>,
  bundle: BundleRef,
  stamp: RunStamp,
): Ledger {
  const servers = new Map(ledger.servers);
  for (const { serverId, stale } of succeeded) {
    servers.set(serverId, {
      kind: 'entry',
      entry: {
        object: bundle.object,
        sha256: bundle.sha256,
        size: bundle.size,
        at: stamp.at,
        run: stamp.run,
        ref: stamp.ref,
        stale: [...stale],
      },
    });
  }
  return { servers, extra: { ...ledger.extra } };
}

/**
 * Merge this run's ledger with the one read from the bucket right before a write, when another
 * run changed it meanwhile: per server the entry with the later `at` wins (the bucket's on a tie,
 * and over an entry this version cannot read only when it is readable itself); servers only one
 * side has are kept. Top-level keys: the bucket's, plus ours it does not have.
 */
export function mergeLedgers(ours: Ledger, theirs: Ledger): Ledger {
  const servers = new Map(theirs.servers);
  for (const [id, mine] of ours.servers) {
    const other = servers.get(id);
    if (other === undefined || laterSlot(mine, other)) servers.set(id, mine);
  }
  return { servers, extra: { ...ours.extra, ...theirs.extra } };
}

/** Does `a` win over `b`? */
function laterSlot(a: LedgerSlot, b: LedgerSlot): boolean {
  if (a.kind === 'unknown') return false;
  if (b.kind === 'unknown') return true;
  return Date.parse(a.entry.at) > Date.parse(b.entry.at);
}

/** How many servers each previous bundle is on: by object, most common first. */
export interface HeldBefore {
  /** Most common first (ties by object key), at most `top`. */
  top: Array<{ object: string; sha256: string; servers: number }>;
  /** Servers on another bundle than the top ones. */
  other: number;
  /** Servers with no entry, or one this version cannot read. */
  unknown: number;
}

/** What the chosen servers held before the run, for the summary ("the five most common"). */
export function heldBefore(ledger: Ledger, serverIds: readonly string[], top = 5): HeldBefore {
  const counts = new Map<string, { object: string; sha256: string; servers: number }>();
  let unknown = 0;
  for (const id of serverIds) {
    const entry = entryOf(ledger, id);
    if (!entry) {
      unknown++;
      continue;
    }
    const key = `${entry.sha256} ${entry.object}`;
    const count = counts.get(key);
    if (count) count.servers++;
    else counts.set(key, { object: entry.object, sha256: entry.sha256, servers: 1 });
  }
  const sorted = [...counts.values()].sort(
    (a, b) => b.servers - a.servers || (a.object < b.object ? -1 : a.object > b.object ? 1 : 0),
  );
  const shown = sorted.slice(0, top);
  const other = sorted.slice(top).reduce((n, c) => n + c.servers, 0);
  return { top: shown, other, unknown };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
