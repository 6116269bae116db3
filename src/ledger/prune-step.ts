/**
 * The prune of one stage: for the servers whose push succeeded, delete what their previous bundle
 * had and this one has not (`pruneSet`), in shared calls (`deleteCalls`), and follow the jobs like
 * a push's. Nothing here fails the stage: a failed call or job is a warning and its paths stay in
 * `stale` for the next run. A 403 stops the prune and is handed back, for the step to fail after
 * the ledger is written.
 *
 * Effects are injected (`PruneDeps`), like `waitForJobs`'s, so this runs and is tested without a
 * network.
 */

import { CancelledError, ServiceError } from '../errors.js';
import type { JobOutcome, TrackedJob } from '../jobs/wait.js';
import { plural } from '../util/text.js';
import { entryOf, type Ledger } from './ledger.js';
import type { Manifest } from './manifest.js';
import { deleteCalls, type PruneSet, pruneSet } from './prune.js';

/** IAM action DeleteShareFiles needs; a 403 names it. */
export const DELETE_PERMISSION = 'cph:servers:deleteShareFiles';
/** At most this many paths are listed in one warning. */
const MAX_LISTED_PATHS = 20;

/** A job entry of a DeleteShareFiles answer (same shape as PushShareFiles'). */
export interface DeleteJobEntry {
  server_id: string;
  job_id: string | null;
  error_code: string | null;
  error_msg: string | null;
}

export interface PruneDeps {
  /** CphClient.deleteShareFiles: body exactly `{"server_ids", "file_paths"}`. */
  deleteShareFiles(
    serverIds: string[],
    filePaths: string[],
  ): Promise<{ requestId: string; jobs: DeleteJobEntry[] }>;
  /** waitForJobs with the run's poll interval and wait-timeout. */
  waitForJobs(jobs: TrackedJob[]): Promise<{ outcomes: Map<string, JobOutcome>; timedOut: boolean }>;
  warn(message: string): void;
  info(message: string): void;
}

export interface PruneInput {
  /** Servers of the stage whose push succeeded, in order. */
  servers: readonly string[];
  /** The ledger as read at the start of the run: each server's previous bundle and stale paths. */
  ledger: Ledger;
  /** This bundle's manifest. */
  next: Manifest;
  /** Previous manifests by SHA-256; undefined = not in the bucket. */
  previous: ReadonlyMap<string, Manifest | undefined>;
  batchSize: number;
  /** A 403 an earlier stage met: no call is sent, every path goes to stale. */
  forbidden?: ServiceError | undefined;
}

export type PruneJobStatus = 'succeeded' | 'failed' | 'running' | 'rejected';

/** One DeleteShareFiles job of a server (one per call the server was in). */
export interface PruneJob {
  requestId: string;
  jobId: string | null;
  status: PruneJobStatus;
  errorCode: string | null;
  errorMsg: string | null;
  /** The paths this job was to delete. */
  paths: string[];
}

export interface ServerPrune {
  /** Paths deleted (their jobs succeeded). */
  deleted: string[];
  /** Paths still to delete: refused by DeleteShareFiles' rules, or their call or job failed. */
  stale: string[];
  jobs: PruneJob[];
}

export interface PruneResult {
  /** Every server of the stage, in order (nothing to delete: empty lists). */
  servers: Map<string, ServerPrune>;
  /** DeleteShareFiles calls sent. */
  calls: number;
  /** The 403 that stopped the prune: the step fails after the ledger is written. */
  forbidden: ServiceError | undefined;
}

export async function pruneStage(input: PruneInput, deps: PruneDeps): Promise<PruneResult> {
  const servers = new Map<string, ServerPrune>();
  const toDelete = new Map<string, string[]>();
  const refused = new Set<string>();
  const missingManifests = new Map<string, number>();
  const sets = new Map<string, PruneSet>();

  for (const serverId of input.servers) {
    const result: ServerPrune = { deleted: [], stale: [], jobs: [] };
    servers.set(serverId, result);
    const entry = entryOf(input.ledger, serverId);
    if (!entry) continue; // never published by the action: nothing known to delete
    const previous = entry.sha256 === input.next.sha256 ? input.next : input.previous.get(entry.sha256);
    if (!previous) missingManifests.set(entry.sha256, (missingManifests.get(entry.sha256) ?? 0) + 1);
    // Servers on the same bundle with the same stale paths have the same set: diff once per group.
    const key = `${entry.sha256}\n${entry.stale.join('\n')}`;
    let set = sets.get(key);
    if (!set) {
      set = pruneSet(previous?.entries ?? [], input.next.entries, entry.stale);
      sets.set(key, set);
    }
    toDelete.set(serverId, set.delete);
    result.stale.push(...set.refused);
    for (const path of set.refused) refused.add(path);
  }
  for (const [sha256, count] of missingManifests) {
    deps.warn(
      `prune: no manifest for bundle ${sha256}, which ${plural(count, 'server')} held before: nothing of it can be deleted there (only paths left stale by earlier runs). It was published without \`file\`, or its manifest was removed from the bucket`,
    );
  }
  if (refused.size > 0) warnRefused([...refused].sort(), deps);

  const calls = deleteCalls(toDelete, input.batchSize);
  const tracked: TrackedJob[] = [];
  const jobOf = new Map<string, { serverId: string; job: PruneJob }>();
  let forbidden: ServiceError | undefined = input.forbidden;
  let sent = 0;
  const failedCalls: string[] = [];

  for (const call of calls) {
    if (forbidden) {
      for (const serverId of call.serverIds) servers.get(serverId)!.stale.push(...call.filePaths);
      continue;
    }
    let answer: { requestId: string; jobs: DeleteJobEntry[] };
    try {
      sent++;
      answer = await deps.deleteShareFiles(call.serverIds, call.filePaths);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      for (const serverId of call.serverIds) servers.get(serverId)!.stale.push(...call.filePaths);
      if (error instanceof ServiceError && error.status === 403) {
        forbidden = new ServiceError({
          service: error.service,
          operation: error.operation,
          status: error.status,
          code: error.code,
          requestId: error.requestId,
          detail: `${error.detail}; nothing more was pruned, and the paths stay in the ledger as stale`,
          hint: `grant ${DELETE_PERMISSION} to the credentials (the pushes stand), or set \`prune: false\``,
          cause: error,
        });
        continue;
      }
      failedCalls.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    const byServer = new Map(answer.jobs.map((j) => [j.server_id, j]));
    for (const serverId of call.serverIds) {
      const result = servers.get(serverId)!;
      const entry = byServer.get(serverId);
      const job: PruneJob = {
        requestId: answer.requestId,
        jobId: entry?.job_id ?? null,
        status: 'running',
        errorCode: entry?.error_code || null,
        errorMsg: entry?.error_msg || null,
        paths: [...call.filePaths],
      };
      result.jobs.push(job);
      if (!entry || entry.error_code || !entry.job_id) {
        job.status = 'rejected';
        job.errorMsg ??= entry ? 'no job id in the answer' : 'the answer has no job for this server';
        result.stale.push(...call.filePaths);
        continue;
      }
      tracked.push({ serverId, jobId: entry.job_id, requestId: answer.requestId });
      jobOf.set(entry.job_id, { serverId, job });
    }
  }
  if (failedCalls.length > 0) {
    deps.warn(
      `prune: ${plural(failedCalls.length, 'DeleteShareFiles call')} failed; their paths stay in the ledger as stale and the next run with \`prune\` tries again: ${failedCalls[0]}`,
    );
  }

  if (tracked.length > 0) {
    const { outcomes } = await deps.waitForJobs(tracked);
    for (const [jobId, { serverId, job }] of jobOf) {
      const outcome = outcomes.get(jobId);
      const result = servers.get(serverId)!;
      job.status = outcome?.state ?? 'running';
      if (outcome && outcome.state === 'failed') {
        job.errorCode = outcome.errorCode;
        job.errorMsg = outcome.errorMsg;
      }
      if (job.status === 'succeeded') result.deleted.push(...job.paths);
      else result.stale.push(...job.paths);
    }
  }
  const unfinished = [...jobOf.values()].filter(({ job }) => job.status !== 'succeeded');
  const rejected = [...servers.values()].flatMap((s) => s.jobs).filter((j) => j.status === 'rejected');
  if (unfinished.length + rejected.length > 0) {
    const failed = unfinished.filter(({ job }) => job.status === 'failed').length;
    const running = unfinished.length - failed;
    const parts = [
      failed ? `${failed} failed` : '',
      running ? `${running} still running at the timeout` : '',
      rejected.length ? `${rejected.length} refused` : '',
    ].filter(Boolean);
    const example = [...unfinished.map(({ job }) => job), ...rejected].find((j) => j.errorMsg || j.errorCode);
    deps.warn(
      `prune: of ${plural(tracked.length + rejected.length, 'delete job')}, ${parts.join(', ')}; the servers keep their new bundle, and the paths those jobs were to delete stay in the ledger as stale for the next run with \`prune\`${example ? ` (first: ${[example.errorCode, example.errorMsg].filter(Boolean).join(' ')})` : ''}`,
    );
  }
  const deletedServers = [...servers.values()].filter((s) => s.deleted.length > 0).length;
  if (sent > 0) {
    deps.info(
      `prune: ${plural(sent, 'DeleteShareFiles call')}; paths deleted on ${plural(deletedServers, 'server')}`,
    );
  }
  for (const result of servers.values()) {
    result.stale = [...new Set(result.stale)].sort();
    result.deleted.sort();
  }
  return { servers, calls: sent, forbidden: forbidden === input.forbidden ? undefined : forbidden };
}

function warnRefused(paths: string[], deps: PruneDeps): void {
  const shown = paths.slice(0, MAX_LISTED_PATHS).map((p) => JSON.stringify(p));
  const more = paths.length - shown.length;
  deps.warn(
    `prune: DeleteShareFiles cannot delete ${plural(paths.length, 'path')} (it takes only A-Z a-z 0-9 . / - _ = and space, at most 4096 bytes): ${shown.join(', ')}${more > 0 ? ` … and ${more} more` : ''}; they stay in the ledger as stale — rename them in the bundle, or remove them from the phones another way`,
  );
}
