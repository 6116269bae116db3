/**
 * Pushes one group of servers in batches of PushShareFiles calls. A failed batch
 * stops the batches after it (the cause — credentials, throttling, permissions —
 * would most likely fail them too); the jobs already started are still returned so
 * the pipeline can follow them.
 */
import { CancelledError, ServiceError } from '../errors.js';
import type { ClientContext } from '../huawei/context.js';
import { CphClient, type CphTarget } from '../huawei/cph.js';
import type { PushResult } from '../huawei/types.js';
import { type PushTarget, type ServerResult, serverResult } from '../model/results.js';
import { chunk } from '../util/pool.js';
import { errorMessage } from '../util/text.js';
import type { TrackedJob } from './wait.js';

export interface PushOptions {
  bucket: string;
  objectPath: string;
  batchSize: number;
  /** The status of a started job: `running` when it will be waited for, else `submitted`. */
  startedStatus: 'running' | 'submitted';
}

export interface BatchEvent {
  index: number;
  of: number;
  servers: number;
  requestId?: string;
  started: number;
  rejected: number;
}

export interface PushOutcome {
  results: ServerResult[];
  tracked: TrackedJob[];
  requestIds: string[];
  /**
   * The error that stopped the batches: the servers of the batch it failed are `rejected`, those
   * of the batches not sent `skipped` (contract 8a).
   */
  error?: unknown;
}

export async function pushInBatches(
  ctx: ClientContext,
  target: CphTarget,
  servers: PushTarget[],
  options: PushOptions,
  onBatch: (event: BatchEvent) => void,
): Promise<PushOutcome> {
  const cph = new CphClient(ctx, target);
  const batches = chunk(servers, options.batchSize);
  const outcome: PushOutcome = { results: [], tracked: [], requestIds: [] };
  for (const [index, batch] of batches.entries()) {
    if (ctx.signal?.aborted) {
      // Cancelled between batches: what was not sent is not pushed.
      outcome.error = ctx.signal.reason;
      for (const server of batches.slice(index).flat()) {
        outcome.results.push(
          serverResult(server, 'skipped', { error_msg: 'not pushed: the run was cancelled' }),
        );
      }
      return outcome;
    }
    let result: PushResult;
    try {
      result = await cph.pushShareFiles({
        bucket: options.bucket,
        objectPath: options.objectPath,
        serverIds: batch.map((s) => s.serverId),
      });
    } catch (error) {
      outcome.error = error;
      // Cancelled before this batch was sent (a retry wait, or credentials being renewed).
      const cancelled = error instanceof CancelledError;
      const code = error instanceof ServiceError ? (error.code ?? null) : null;
      const message = ctx.redactor.redact(errorMessage(error));
      for (const [i, server] of batches.slice(index).flat().entries()) {
        const inThisBatch = i < batch.length;
        outcome.results.push(
          cancelled
            ? serverResult(server, 'skipped', {
                error_msg: 'not pushed: the run was cancelled',
              })
            : inThisBatch
              ? serverResult(server, 'rejected', { error_code: code, error_msg: message })
              : serverResult(server, 'skipped', {
                  error_msg: `not pushed: batch ${index + 1} failed before it`,
                }),
        );
      }
      onBatch({ index, of: batches.length, servers: batch.length, started: 0, rejected: batch.length });
      return outcome;
    }
    outcome.requestIds.push(result.requestId);
    const entries = new Map(result.jobs.map((j) => [j.server_id, j]));
    let rejected = 0;
    for (const server of batch) {
      const entry = entries.get(server.serverId);
      if (!entry) {
        rejected++;
        outcome.results.push(
          serverResult(server, 'rejected', { error_msg: 'PushShareFiles returned no job for this server' }),
        );
      } else if (entry.error_code || !entry.job_id) {
        rejected++;
        outcome.results.push(
          serverResult(server, 'rejected', {
            ...entry,
            error_msg: entry.error_msg ?? (entry.job_id ? null : 'no job id'),
          }),
        );
      } else {
        outcome.results.push(serverResult(server, options.startedStatus, entry));
        outcome.tracked.push({ serverId: server.serverId, jobId: entry.job_id, requestId: result.requestId });
      }
    }
    onBatch({
      index,
      of: batches.length,
      servers: batch.length,
      requestId: result.requestId,
      started: batch.length - rejected,
      rejected,
    });
  }
  return outcome;
}
