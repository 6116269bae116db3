/**
 * skip-current: which chosen servers already hold this bundle, by the ledger's word. The ledger is
 * what is trusted: a server whose shared storage was wiped outside the action still shows as
 * current (`skip-current: false` pushes it anyway).
 */

import { logSafe } from '../util/text.js';
import { entryOf, type Ledger, type LedgerEntry } from './ledger.js';

export interface CurrentServer {
  serverId: string;
  /** The ledger entry that makes it current (for the log line saying why). */
  entry: LedgerEntry;
}

export interface CurrentSplit {
  /** Servers set aside: not pushed, not pruned. In the order chosen. */
  current: CurrentServer[];
  /** Servers left to push (stages are planned over these), in the order chosen. */
  toPush: string[];
}

export interface CurrentOptions {
  /** This bundle's SHA-256; undefined when the object has no identity (nothing is current). */
  sha256: string | undefined;
  skipCurrent: boolean;
  /** With prune, a server with paths left in `stale` is pushed (and pruned) again. */
  prune: boolean;
}

/** Split the chosen servers into those the ledger says hold this bundle and those to push. */
export function splitCurrent(
  ledger: Ledger,
  chosen: readonly string[],
  options: CurrentOptions,
): CurrentSplit {
  const current: CurrentServer[] = [];
  const toPush: string[] = [];
  for (const serverId of chosen) {
    const entry = options.skipCurrent && options.sha256 !== undefined ? entryOf(ledger, serverId) : undefined;
    if (entry && entry.sha256 === options.sha256 && (!options.prune || entry.stale.length === 0)) {
      current.push({ serverId, entry });
    } else {
      toPush.push(serverId);
    }
  }
  return { current, toPush };
}

/**
 * Why a server is current, for the log: "holds obs-key (sha256 abcd…), pushed at … by run …". The
 * values come from the bucket: escaped like any outside text, so a line cannot break or start a command.
 */
export function currentReason(entry: LedgerEntry): string {
  const { object, at, run, ref } = entry;
  return logSafe(
    `the ledger says it holds ${object} (SHA-256 ${entry.sha256.slice(0, 12)}…), pushed at ${at} by run ${run}${ref ? ` (${ref})` : ''}`,
  );
}
