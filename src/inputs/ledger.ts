/**
 * The release ledger: what this action last published to each server (`ledger`), and what the
 * run does with it (`skip-current`, `prune`).
 */

import { show } from '../util/text.js';
import { boolean, checkedBy, field, optional, type Reader, whole } from './reader.js';
import { objectKeyProblem } from './upload.js';

/** The rules of `object-path`, but ending in `.json`. */
export const LEDGER = field('ledger', '', optional(checkedBy((key) => objectKeyProblem(key, '.json'))));
export const SKIP_CURRENT = field('skip-current', 'true', boolean);
export const PRUNE = field('prune', 'false', boolean);

export const LEDGER_FIELDS = [LEDGER, SKIP_CURRENT, PRUNE];

export interface LedgerSettings {
  /** OBS object key of the ledger, in `bucket`; undefined: no ledger. */
  ledger: string | undefined;
  skipCurrent: boolean;
  prune: boolean;
}

/**
 * `wait` and `objectPath` are the values read for those inputs (undefined when they had a
 * problem): the ledger records jobs that have ended, and must not overwrite the tar.
 */
export function readLedger(
  r: Reader,
  others: { wait: boolean | undefined; objectPath: string | undefined },
): LedgerSettings | undefined {
  const raw = r.raw(LEDGER);
  // Checked before the key rules: a ledger at the tar's key would end in `.tar`, and "must end in
  // '.json'" would hide the real mistake.
  const isTheTar = raw !== '' && raw === others.objectPath;
  if (isTheTar) {
    r.report(
      LEDGER.name,
      `must not be the object of 'object-path' (${show(raw)}): writing the ledger would overwrite the tar; ` +
        "use a key of its own such as 'releases/ledger.json'",
    );
  }
  const ledger = isTheTar ? undefined : r.read(LEDGER);
  const skipCurrent = r.read(SKIP_CURRENT);
  const prune = r.read(PRUNE);
  if (raw && others.wait === false) {
    r.report(
      LEDGER.name,
      "needs 'wait: true': a server's entry is written once its job has ended; set 'wait: true' or leave 'ledger' empty",
    );
  }
  if (prune && !raw) {
    r.report(
      PRUNE.name,
      "needs 'ledger': pruning deletes what the bundle a server held before had, and only the ledger knows it; " +
        "set 'ledger' to an OBS object key such as 'releases/ledger.json', or set 'prune: false'",
    );
  }
  if (raw && ledger === undefined) return undefined;
  const read = whole({ skipCurrent, prune });
  return read && { ledger, ...read };
}
