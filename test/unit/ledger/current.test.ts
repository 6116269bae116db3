import { describe, expect, it } from 'vitest';
import { type CurrentOptions, currentReason, splitCurrent } from '../../../src/ledger/current.js';
import { emptyLedger, type LedgerEntry } from '../../../src/ledger/ledger.js';

const THIS = 'c3'.repeat(32);
const OLD = 'd4'.repeat(32);

function entry(sha256: string, stale: string[] = []): LedgerEntry {
  return {
    object: 'releases/game.tar',
    sha256,
    size: 1,
    at: '2026-12-03T10:00:00.000Z',
    run: 'example/game/7/1',
    ref: 'refs/tags/v1.2.3',
    stale,
  };
}

const ledger = emptyLedger();
ledger.servers.set('same', { kind: 'entry', entry: entry(THIS) });
ledger.servers.set('same-stale', { kind: 'entry', entry: entry(THIS, ['/data/a+b']) });
ledger.servers.set('old', { kind: 'entry', entry: entry(OLD) });
ledger.servers.set('odd', { kind: 'unknown', raw: { sha256: THIS } });
const chosen = ['new', 'same-stale', 'old', 'same', 'odd'];

describe('splitCurrent', () => {
  it.each<[string, CurrentOptions, string[]]>([
    [
      'same bundle, no prune: stale does not matter',
      { sha256: THIS, skipCurrent: true, prune: false },
      ['same-stale', 'same'],
    ],
    [
      'same bundle with prune: only an empty stale',
      { sha256: THIS, skipCurrent: true, prune: true },
      ['same'],
    ],
    ['skip-current: false', { sha256: THIS, skipCurrent: false, prune: false }, []],
    ['an object without identity', { sha256: undefined, skipCurrent: true, prune: false }, []],
    ['another bundle', { sha256: 'e5'.repeat(32), skipCurrent: true, prune: false }, []],
  ])('%s', (_, options, current) => {
    const split = splitCurrent(ledger, chosen, options);
    expect(split.current.map((c) => c.serverId)).toEqual(current);
    expect(split.toPush).toEqual(chosen.filter((id) => !current.includes(id)));
  });

  it('escapes what comes from the ledger, so the line can neither break nor start a command', () => {
    expect(currentReason({ ...entry(THIS), run: 'x\n::error::boom', ref: 'a\u2028b' })).toBe(
      'the ledger says it holds releases/game.tar (SHA-256 c3c3c3c3c3c3…), pushed at 2026-12-03T10:00:00.000Z by run x\\n:\\u{3a}error:\\u{3a}boom (a\\u{2028}b)',
    );
  });

  it('says why a server is current', () => {
    const [first] = splitCurrent(ledger, ['same'], { sha256: THIS, skipCurrent: true, prune: true }).current;
    expect(currentReason(first!.entry)).toBe(
      'the ledger says it holds releases/game.tar (SHA-256 c3c3c3c3c3c3…), pushed at 2026-12-03T10:00:00.000Z by run example/game/7/1 (refs/tags/v1.2.3)',
    );
  });
});
