import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../../src/ledger/ledger.js';
import type { PruneJob, PruneResult } from '../../../src/ledger/prune-step.js';
import { ledgerStageStep, newLedgerReport, recordStageInReport } from '../../../src/ledger/report.js';
import type { LedgerSession, StageLedger } from '../../../src/ledger/session.js';

const SHA_A = 'aa'.repeat(32);
const SHA_B = 'bb'.repeat(32);

const entry = (object: string, sha256: string): LedgerEntry => ({
  object,
  sha256,
  size: 10,
  at: '2026-12-01T10:00:00Z',
  run: 'org/repo/7/1',
  ref: 'refs/tags/v1.2.3',
  stale: [],
});

/** A stand-in for LedgerSession: what the report reads of it, and a scripted `afterStage`. */
function session(
  previous: Record<string, { object: string; sha256: string }>,
  afterStage: (succeeded: readonly string[]) => Promise<StageLedger> = async () => ({ prune: undefined }),
) {
  const calls: string[][] = [];
  const s = {
    heldBefore: { top: [{ object: 'a.tar', sha256: SHA_A, servers: 2 }], other: 0, unknown: 1 },
    current: [{ serverId: 'cur-1', entry: entry('a.tar', SHA_A) }],
    previousOf: (id: string) => previous[id],
    writes: 0,
    behind: false,
    async afterStage(succeeded: readonly string[]) {
      calls.push([...succeeded]);
      return afterStage(succeeded);
    },
  };
  return { session: s as unknown as LedgerSession, raw: s, calls };
}

const job = (requestId: string, status: PruneJob['status'], extra: Partial<PruneJob> = {}): PruneJob => ({
  requestId,
  jobId: `job-${requestId}`,
  status,
  errorCode: null,
  errorMsg: null,
  paths: [],
  ...extra,
});

function prune(
  servers: Record<string, { deleted: string[]; stale: string[]; jobs: PruneJob[] }>,
  calls: number,
) {
  return { servers: new Map(Object.entries(servers)), calls, forbidden: undefined } satisfies PruneResult;
}

describe('newLedgerReport', () => {
  it('starts from the session: what was held, the current servers and why, nothing pruned or written yet', () => {
    const { session: s } = session({});
    const report = newLedgerReport(s, 'obs://b/state/ledger.json', { skipCurrent: true, prune: false });
    expect(report).toEqual({
      ledger: 'obs://b/state/ledger.json',
      skipCurrent: true,
      prune: false,
      heldBefore: { top: [{ object: 'a.tar', sha256: SHA_A, servers: 2 }], other: 0, unknown: 1 },
      current: [
        {
          serverId: 'cur-1',
          reason: `the ledger says it holds a.tar (SHA-256 ${SHA_A.slice(0, 12)}…), pushed at 2026-12-01T10:00:00Z by run org/repo/7/1 (refs/tags/v1.2.3)`,
        },
      ],
      servers: {},
      pruned: { calls: 0, paths: 0, servers: 0, stale: 0 },
      writes: 0,
      behind: false,
    });
    // A server id such as `__proto__` must be an ordinary key.
    expect(Object.getPrototypeOf(report.servers)).toBeNull();
  });
});

describe('recordStageInReport', () => {
  it('records each succeeded server with its previous bundle (null without an entry), and no prune', () => {
    const { session: s } = session({ s1: { object: 'old.tar', sha256: SHA_B } });
    const report = newLedgerReport(s, 'obs://b/l.json', { skipCurrent: true, prune: false });
    recordStageInReport(report, s, ['s1', 's2'], undefined);
    expect(report.servers).toEqual({
      s1: { previous: { object: 'old.tar', sha256: SHA_B }, deleted: [], stale: [], pruneJobs: [] },
      s2: { previous: null, deleted: [], stale: [], pruneJobs: [] },
    });
    expect(report.pruned).toEqual({ calls: 0, paths: 0, servers: 0, stale: 0 });
  });

  it("adds each stage's prune: deleted and stale paths, the jobs in the report file's shape, and the totals", () => {
    const { session: s } = session({ s1: { object: 'old.tar', sha256: SHA_B } });
    const report = newLedgerReport(s, 'obs://b/l.json', { skipCurrent: false, prune: true });
    recordStageInReport(
      report,
      s,
      ['s1', 's2', 's3'],
      prune(
        {
          s1: { deleted: ['/data/a', '/data/b'], stale: [], jobs: [job('r1', 'succeeded')] },
          s2: {
            deleted: [],
            stale: ['/data/c'],
            jobs: [job('r2', 'failed', { errorCode: 'CPS.0001', errorMsg: 'busy', jobId: null })],
          },
        },
        2,
      ),
    );
    expect(report.servers.s1).toEqual({
      previous: { object: 'old.tar', sha256: SHA_B },
      deleted: ['/data/a', '/data/b'],
      stale: [],
      pruneJobs: [
        { request_id: 'r1', job_id: 'job-r1', status: 'succeeded', error_code: null, error_msg: null },
      ],
    });
    expect(report.servers.s2).toEqual({
      previous: null,
      deleted: [],
      stale: ['/data/c'],
      pruneJobs: [
        { request_id: 'r2', job_id: null, status: 'failed', error_code: 'CPS.0001', error_msg: 'busy' },
      ],
    });
    expect(report.servers.s3).toEqual({ previous: null, deleted: [], stale: [], pruneJobs: [] });
    expect(report.pruned).toEqual({ calls: 2, paths: 2, servers: 1, stale: 1 });

    // A second stage adds to the same server and to the totals; its previous bundle stays as first read.
    recordStageInReport(
      report,
      s,
      ['s1'],
      prune({ s1: { deleted: ['/data/d'], stale: ['/data/e'], jobs: [job('r3', 'succeeded')] } }, 1),
    );
    expect(report.servers.s1?.deleted).toEqual(['/data/a', '/data/b', '/data/d']);
    expect(report.servers.s1?.stale).toEqual(['/data/e']);
    expect(report.servers.s1?.pruneJobs.map((j) => j.request_id)).toEqual(['r1', 'r3']);
    expect(report.pruned).toEqual({ calls: 3, paths: 3, servers: 2, stale: 2 });
  });
});

describe('ledgerStageStep', () => {
  it("hands the stage's succeeded servers to the session, records them, and copies writes and behind", async () => {
    const {
      session: s,
      raw,
      calls,
    } = session({}, async () => {
      raw.writes = 1;
      return { prune: prune({ s1: { deleted: ['/data/x'], stale: [], jobs: [] } }, 1) };
    });
    const report = newLedgerReport(s, 'obs://b/l.json', { skipCurrent: true, prune: true });
    await ledgerStageStep(
      s,
      report,
    )({
      results: [
        { server_id: 's1', status: 'succeeded' },
        { server_id: 's2', status: 'failed' },
        { server_id: 's3', status: 'running' },
      ],
    });
    expect(calls).toEqual([['s1']]);
    expect(Object.keys(report.servers)).toEqual(['s1']);
    expect(report.servers.s1?.deleted).toEqual(['/data/x']);
    expect(report).toMatchObject({ writes: 1, behind: false, pruned: { calls: 1, paths: 1, servers: 1 } });
  });

  it('a failing step still copies writes and behind into the report, and rejects with its error', async () => {
    const { session: s, raw } = session({}, async () => {
      raw.behind = true;
      raw.writes = 2;
      throw new Error('ledger write refused');
    });
    const report = newLedgerReport(s, 'obs://b/l.json', { skipCurrent: true, prune: false });
    await expect(
      ledgerStageStep(s, report)({ results: [{ server_id: 's1', status: 'succeeded' }] }),
    ).rejects.toThrow('ledger write refused');
    expect(report).toMatchObject({ writes: 2, behind: true, servers: {} });
  });
});
