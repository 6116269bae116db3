/**
 * What the ledger part of a run did, as plain data for the summary, the report file and the log
 * (`RunReport.ledger`): what the chosen servers held before, which were current and why, and what
 * each stage's prune deleted or left stale.
 */

import { type CurrentServer, currentReason } from './current.js';
import type { HeldBefore } from './ledger.js';
import type { PruneJobStatus, PruneResult } from './prune-step.js';
import type { LedgerSession } from './session.js';

export interface LedgerServerReport {
  /** The bundle the ledger said the server held before the run; null when it had no entry. */
  previous: { object: string; sha256: string } | null;
  /** Paths this run's prune deleted. */
  deleted: string[];
  /** Paths left to delete (refused, or their call or job failed). */
  stale: string[];
  pruneJobs: Array<{
    request_id: string;
    job_id: string | null;
    status: PruneJobStatus;
    error_code: string | null;
    error_msg: string | null;
  }>;
}

export interface LedgerReport {
  /** `obs://<bucket>/<ledger>`. */
  ledger: string;
  skipCurrent: boolean;
  prune: boolean;
  heldBefore: HeldBefore;
  /** Servers set aside, with why. */
  current: Array<{ serverId: string; reason: string }>;
  /** Per server pushed in this run whose ledger entry or prune says something. */
  servers: Record<string, LedgerServerReport>;
  pruned: { calls: number; paths: number; servers: number; stale: number };
  /** Ledger writes done (one per stage with a succeeded server). */
  writes: number;
  /** A write failed: the ledger does not know what the last stage pushed. */
  behind: boolean;
}

export function newLedgerReport(
  session: LedgerSession,
  url: string,
  options: { skipCurrent: boolean; prune: boolean },
): LedgerReport {
  return {
    ledger: url,
    skipCurrent: options.skipCurrent,
    prune: options.prune,
    heldBefore: session.heldBefore,
    current: session.current.map((c: CurrentServer) => ({
      serverId: c.serverId,
      reason: currentReason(c.entry),
    })),
    servers: Object.create(null),
    pruned: { calls: 0, paths: 0, servers: 0, stale: 0 },
    writes: 0,
    behind: false,
  };
}

/** Add a stage's servers (their previous bundle) and its prune to the report. */
export function recordStageInReport(
  report: LedgerReport,
  session: LedgerSession,
  succeeded: readonly string[],
  prune: PruneResult | undefined,
): void {
  for (const serverId of succeeded) {
    const server: LedgerServerReport = report.servers[serverId] ?? {
      previous: session.previousOf(serverId) ?? null,
      deleted: [],
      stale: [],
      pruneJobs: [],
    };
    report.servers[serverId] = server;
    const pruned = prune?.servers.get(serverId);
    if (!pruned) continue;
    server.deleted.push(...pruned.deleted);
    server.stale.push(...pruned.stale);
    server.pruneJobs.push(
      ...pruned.jobs.map((j) => ({
        request_id: j.requestId,
        job_id: j.jobId,
        status: j.status,
        error_code: j.errorCode,
        error_msg: j.errorMsg,
      })),
    );
    report.pruned.paths += pruned.deleted.length;
    report.pruned.stale += pruned.stale.length;
    if (pruned.deleted.length > 0) report.pruned.servers++;
  }
  report.pruned.calls += prune?.calls ?? 0;
}

/**
 * The rollout's after-stage step for the ledger: prune the stage's succeeded servers, record them,
 * write the ledger. Its shape is the rollout's `StageRun` (only `results` is read), so the
 * pipeline passes it in `afterStage` as it is.
 */
export function ledgerStageStep(
  session: LedgerSession,
  report: LedgerReport,
): (run: { results: ReadonlyArray<{ server_id: string; status: string }> }) => Promise<void> {
  return async (run) => {
    const succeeded = run.results.filter((s) => s.status === 'succeeded').map((s) => s.server_id);
    try {
      const { prune } = await session.afterStage(succeeded);
      recordStageInReport(report, session, succeeded, prune);
    } finally {
      report.writes = session.writes;
      report.behind = session.behind;
    }
  };
}
