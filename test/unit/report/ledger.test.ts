import { describe, expect, it } from 'vitest';
import type { LedgerReport } from '../../../src/ledger/report.js';
import {
  currentLines,
  ledgerReportDocument,
  ledgerSummary,
  nothingToPushLine,
} from '../../../src/report/ledger.js';

const SHA = 'ab'.repeat(32);

function report(extra: Partial<LedgerReport> = {}): LedgerReport {
  return {
    ledger: 'obs://cph-bucket/state/ledger.json',
    skipCurrent: true,
    prune: true,
    heldBefore: {
      top: [
        { object: 'releases/<1.2.3>.tar', sha256: SHA, servers: 7 },
        { object: 'releases/1.2.2.tar', sha256: 'cd'.repeat(32), servers: 1 },
      ],
      other: 3,
      unknown: 2,
    },
    current: [
      { serverId: 's1', reason: 'the ledger says it holds a.tar' },
      { serverId: 's2', reason: 'the ledger says it holds a.tar' },
      { serverId: 's3', reason: 'the ledger says it holds b.tar' },
    ],
    servers: {
      s4: {
        previous: { object: 'releases/1.2.2.tar', sha256: 'cd'.repeat(32) },
        deleted: ['/data/old'],
        stale: ['/data/a+b'],
        pruneJobs: [
          { request_id: 'r1', job_id: 'j1', status: 'succeeded', error_code: null, error_msg: null },
        ],
      },
    },
    pruned: { calls: 1, paths: 1, servers: 1, stale: 1 },
    writes: 2,
    behind: false,
    ...extra,
  };
}

describe('the ledger in the log, the summary and the report file', () => {
  it('says why servers are current, one line per reason, ids capped at 20', () => {
    const many = report({
      current: Array.from({ length: 23 }, (_, i) => ({
        serverId: `s${i}`,
        reason: 'the ledger says it holds a.tar',
      })),
    });
    expect(currentLines(report())).toEqual([
      '2 servers current, not pushed: the ledger says it holds a.tar, with nothing left to prune: s1, s2',
      '1 server current, not pushed: the ledger says it holds b.tar, with nothing left to prune: s3',
    ]);
    expect(currentLines(many)[0]).toMatch(/: s0, s1, .*, s19 … and 3 more$/);
    const runs = report({
      current: Array.from({ length: 9 }, (_, i) => ({ serverId: `s${i}`, reason: `run ${i % 7}` })),
    });
    expect(currentLines(runs)).toEqual([
      '2 servers current, not pushed: run 0, with nothing left to prune: s0, s7',
      '2 servers current, not pushed: run 1, with nothing left to prune: s1, s8',
      '1 server current, not pushed: run 2, with nothing left to prune: s2',
      '1 server current, not pushed: run 3, with nothing left to prune: s3',
      '1 server current, not pushed: run 4, with nothing left to prune: s4',
      "2 more servers current, pushed by other runs (the report file has each one's reason)",
    ]);
    expect(nothingToPushLine(report())).toBe(
      'Nothing to push: the ledger obs://cph-bucket/state/ledger.json says all 3 chosen servers already hold this bundle (set `skip-current: false` to push them anyway)',
    );
  });

  it('summary: what the fleet held before (escaped), current, pruned, behind', () => {
    expect(ledgerSummary(report({ behind: true }))).toBe(
      [
        '### Ledger',
        '',
        'Ledger: <code>obs://cph-bucket/state/ledger.json</code>',
        '',
        'What the chosen servers held before this run:',
        '',
        '| Object | SHA-256 | Servers |',
        '|---|---|---|',
        `| <code>releases/&#60;1.2.3&#62;.tar</code> | <code>${SHA.slice(0, 12)}…</code> | 7 |`,
        `| <code>releases/1.2.2.tar</code> | <code>cdcdcdcdcdcd…</code> | 1 |`,
        '| other bundles |  | 3 |',
        '| unknown (not in the ledger) |  | 2 |',
        '',
        '3 servers already held this bundle: not pushed (`current`).',
        '',
        'Pruned: 1 path deleted from 1 server (1 deletion) in 1 DeleteShareFiles call; 1 path left stale for the next run.',
        '',
        '**The ledger is behind**: writing it failed, so it does not know what the last stage pushed. The pushes stand; run again once the ledger can be written.',
        '',
      ].join('\n'),
    );
    expect(
      ledgerSummary(report({ pruned: { calls: 0, paths: 0, servers: 0, stale: 0 }, current: [] })),
    ).toContain('Pruned: nothing to delete.');
  });

  it('report file: previous object and SHA-256, paths deleted and the prune jobs per server', () => {
    expect(ledgerReportDocument(report())).toMatchObject({
      ledger: 'obs://cph-bucket/state/ledger.json',
      skip_current: true,
      prune: true,
      current: [
        { server_id: 's1', reason: 'the ledger says it holds a.tar' },
        { server_id: 's2', reason: 'the ledger says it holds a.tar' },
        { server_id: 's3', reason: 'the ledger says it holds b.tar' },
      ],
      servers: [
        {
          server_id: 's4',
          previous_object: 'releases/1.2.2.tar',
          previous_sha256: 'cd'.repeat(32),
          deleted: ['/data/old'],
          stale: ['/data/a+b'],
          prune_jobs: [
            { request_id: 'r1', job_id: 'j1', status: 'succeeded', error_code: null, error_msg: null },
          ],
        },
      ],
      pruned: { calls: 1, paths: 1, servers: 1, stale: 1 },
      writes: 2,
      behind: false,
    });
  });
});
