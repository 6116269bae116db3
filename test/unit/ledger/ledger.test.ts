import { describe, expect, it } from 'vitest';
import {
  emptyLedger,
  entryOf,
  heldBefore,
  type Ledger,
  type LedgerEntry,
  LedgerFormatError,
  mergeLedgers,
  parseLedger,
  recordStage,
  serializeLedger,
} from '../../../src/ledger/ledger.js';

const A = 'a1'.repeat(32);
const B = 'b2'.repeat(32);

function entry(sha256: string, at: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    object: sha256 === A ? 'releases/game-1.2.3.tar' : 'releases/game-1.2.4.tar',
    sha256,
    size: 10240,
    at,
    run: 'example/game/42/1',
    ref: 'refs/tags/v1.2.3',
    stale: [],
    ...extra,
  };
}

function ledgerOf(servers: Record<string, LedgerEntry>): Ledger {
  const ledger = emptyLedger();
  for (const [id, e] of Object.entries(servers)) ledger.servers.set(id, { kind: 'entry', entry: e });
  return ledger;
}

describe('parseLedger / serializeLedger', () => {
  it('writes compact JSON in the contract key order and reads it back', () => {
    const ledger = ledgerOf({ s1: entry(A, '2026-12-03T10:00:00.000Z', { stale: ['/data/x y'] }) });
    const text = serializeLedger(ledger);
    expect(text).toBe(
      `{"format":1,"servers":{"s1":{"object":"releases/game-1.2.3.tar","sha256":"${A}","size":10240,"at":"2026-12-03T10:00:00.000Z","run":"example/game/42/1","ref":"refs/tags/v1.2.3","stale":["/data/x y"]}}}`,
    );
    expect(parseLedger(text, 'l.json')).toEqual(ledger);
  });

  it('keeps keys and entries it does not know, untouched, through a read and a write', () => {
    const text = JSON.stringify({
      format: 1,
      note: { by: 'ops' },
      servers: {
        s1: { ...entry(A, '2026-12-03T10:00:00Z'), pinned: true },
        s2: { object: 'x.tar', sha256: 'not-a-sha' },
        s3: 'decommissioned',
        s4: { ...entry(B, '2026-12-03T11:00:00Z'), stale: undefined },
      },
    }).replace(/}}}$/, '},"__proto__":{"object":"odd but kept"}}}');
    const ledger = parseLedger(text, 'l.json');
    expect(entryOf(ledger, 's1')).toEqual(entry(A, '2026-12-03T10:00:00Z'));
    expect(entryOf(ledger, 's2')).toBeUndefined();
    expect(entryOf(ledger, 's3')).toBeUndefined();
    expect(entryOf(ledger, 's4')).toEqual(entry(B, '2026-12-03T11:00:00Z'));
    expect(JSON.parse(serializeLedger(ledger))).toEqual({
      ...JSON.parse(text),
      servers: { ...JSON.parse(text).servers, s4: entry(B, '2026-12-03T11:00:00Z') },
    });
    expect(Object.keys(JSON.parse(serializeLedger(ledger)).servers)).toEqual([
      's1',
      's2',
      's3',
      's4',
      '__proto__',
    ]);
  });

  it.each([
    ['not JSON', '{"format":1', 'it is not JSON (fix or remove the object, or use another `ledger` key)'],
    ['an array', '[]', 'it is not a JSON object'],
    [
      'a newer format',
      '{"format":2,"servers":{}}',
      'its format is 2, and this version of cph-publish writes format 1 (a newer version wrote it, or it is not a cph-publish ledger)',
    ],
    [
      'no format',
      '{"servers":{}}',
      'its format is null, and this version of cph-publish writes format 1 (a newer version wrote it, or it is not a cph-publish ledger)',
    ],
    ['servers that are no object', '{"format":1,"servers":[]}', '"servers" is not a JSON object'],
  ])('refuses %s, naming the key', (_, text, reason) => {
    let caught: unknown;
    try {
      parseLedger(text, 'ledger/cph.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LedgerFormatError);
    expect((caught as Error).message).toBe(`ledger 'ledger/cph.json' cannot be used: ${reason}`);
  });

  it('reads a ledger without servers as empty', () => {
    expect(parseLedger('{"format":1}', 'l.json')).toEqual(emptyLedger());
  });

  it('stays compact at 20,000 servers (under 300 bytes a server)', () => {
    const servers: Record<string, LedgerEntry> = {};
    for (let i = 0; i < 20_000; i++)
      servers[`${i.toString(16).padStart(32, '0')}`] = entry(A, '2026-12-03T10:00:00.000Z');
    const text = serializeLedger(ledgerOf(servers));
    expect(text.length / 20_000).toBeLessThan(300);
    expect(parseLedger(text, 'l.json').servers.size).toBe(20_000);
  });
});

describe('recordStage', () => {
  it('gives each succeeded server this bundle and its stale paths; keeps every other slot', () => {
    const before = ledgerOf({ s1: entry(A, '2026-12-01T00:00:00Z'), s2: entry(A, '2026-12-01T00:00:00Z') });
    before.servers.set('s9', { kind: 'unknown', raw: 'kept' });
    const after = recordStage(
      before,
      [
        { serverId: 's1', stale: ['/data/a+b'] },
        { serverId: 's3', stale: [] },
      ],
      { object: 'releases/game-1.2.4.tar', sha256: B, size: 10240 },
      { at: '2026-12-03T12:00:00.000Z', run: 'example/game/43/2', ref: 'refs/tags/v1.2.4' },
    );
    expect([...after.servers.keys()]).toEqual(['s1', 's2', 's9', 's3']);
    expect(entryOf(after, 's1')).toEqual(
      entry(B, '2026-12-03T12:00:00.000Z', {
        run: 'example/game/43/2',
        ref: 'refs/tags/v1.2.4',
        stale: ['/data/a+b'],
      }),
    );
    expect(entryOf(after, 's2')).toEqual(entry(A, '2026-12-01T00:00:00Z'));
    expect(entryOf(after, 's3')?.sha256).toBe(B);
    expect(after.servers.get('s9')).toEqual({ kind: 'unknown', raw: 'kept' });
    // The ledger it was given is not changed.
    expect(entryOf(before, 's1')?.sha256).toBe(A);
  });
});

describe('mergeLedgers', () => {
  it('keeps, per server, the entry with the later `at`, and servers only one side has', () => {
    const ours = ledgerOf({
      s1: entry(B, '2026-12-03T12:00:00Z'),
      s2: entry(B, '2026-12-03T12:00:00Z'),
      s3: entry(B, '2026-12-03T12:00:00Z'),
      mine: entry(B, '2026-12-03T12:00:00Z'),
    });
    ours.extra['ours'] = 1;
    const theirs = ledgerOf({
      s1: entry(A, '2026-12-03T11:59:59Z'),
      s2: entry(A, '2026-12-03T12:00:01.5+00:00'),
      s3: entry(A, '2026-12-03T12:00:00Z'),
      theirs: entry(A, '2026-12-01T00:00:00Z'),
    });
    theirs.servers.set('odd', { kind: 'unknown', raw: 7 });
    theirs.extra['theirs'] = 2;
    const merged = mergeLedgers(ours, theirs);
    expect(
      Object.fromEntries([...merged.servers.keys()].map((id) => [id, entryOf(merged, id)?.sha256 ?? null])),
    ).toEqual({
      s1: B,
      s2: A,
      s3: A, // a tie: the bucket's
      theirs: A,
      odd: null,
      mine: B,
    });
    expect(merged.extra).toEqual({ ours: 1, theirs: 2 });
  });

  it('an entry it can read wins over one it cannot, never the other way', () => {
    const readable = ledgerOf({ s1: entry(B, '2026-12-03T12:00:00Z') });
    const unreadable = emptyLedger();
    unreadable.servers.set('s1', { kind: 'unknown', raw: 'x' });
    expect(entryOf(mergeLedgers(readable, unreadable), 's1')?.sha256).toBe(B);
    expect(entryOf(mergeLedgers(unreadable, readable), 's1')?.sha256).toBe(B);
  });
});

describe('heldBefore', () => {
  it('counts the chosen servers by previous bundle: five most common, other, unknown', () => {
    const ledger = emptyLedger();
    const bundles = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'];
    let n = 0;
    bundles.forEach((v, i) => {
      // v1 on 7 servers, v2 on 6, … v7 on 1
      for (let k = 0; k < 7 - i; k++) {
        ledger.servers.set(`s${n++}`, {
          kind: 'entry',
          entry: {
            ...entry(A, '2026-12-01T00:00:00Z'),
            object: `releases/${v}.tar`,
            sha256: String(i).repeat(64),
          },
        });
      }
    });
    ledger.servers.set('odd', { kind: 'unknown', raw: null });
    const chosen = [...ledger.servers.keys(), 'new-1', 'new-2'];
    expect(heldBefore(ledger, chosen)).toEqual({
      top: bundles
        .slice(0, 5)
        .map((v, i) => ({ object: `releases/${v}.tar`, sha256: String(i).repeat(64), servers: 7 - i })),
      other: 2 + 1,
      unknown: 3,
    });
    expect(heldBefore(ledger, ['s0', 's7', 's8'])).toEqual({
      top: [
        { object: 'releases/v2.tar', sha256: '1'.repeat(64), servers: 2 },
        { object: 'releases/v1.tar', sha256: '0'.repeat(64), servers: 1 },
      ],
      other: 0,
      unknown: 0,
    });
  });
});
