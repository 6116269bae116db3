/**
 * Tracks every job a push created until it ends or the deadline passes.
 *
 * Cost per round is what matters at fleet scale: jobs are listed by the
 * PushShareFiles request that created them (ListJobs takes 20 request ids and
 * returns 100 jobs a page), so 1,000 servers in batches of 100 cost 10 list
 * calls a round, not 1,000 ShowJob calls. Only jobs missing from the lists are
 * looked up one by one.
 */
import { CancelledError, ServiceError } from '../errors.js';
import type { Job } from '../huawei/types.js';
import { chunk, mapPool } from '../util/pool.js';
import { errorMessage } from '../util/text.js';

export interface TrackedJob {
  serverId: string;
  jobId: string;
  requestId: string;
}

export type JobState = 'running' | 'succeeded' | 'failed';

export interface JobOutcome {
  state: JobState;
  errorCode: string | null;
  errorMsg: string | null;
}

export interface WaitCounts {
  succeeded: number;
  failed: number;
  running: number;
  total: number;
}

/**
 * The reads get the wait's `deadline` (ms since the epoch, on `now`'s clock): no retry wait of
 * theirs — backoff or `Retry-After` — may run past it (contract: no sleep runs past `wait-timeout`).
 */
export interface WaitDeps {
  listJobs(page: { requestIds: string[]; offset: number; limit: number; deadline: number }): Promise<Job[]>;
  showJob(jobId: string, deadline: number): Promise<Job>;
  sleep(ms: number): Promise<void>;
  now(): number;
  onRound?(counts: WaitCounts): void;
  warn(message: string): void;
}

export interface WaitOptions {
  pollIntervalMs: number;
  timeoutMs: number;
}

export interface WaitResult {
  outcomes: Map<string, JobOutcome>;
  timedOut: boolean;
  rounds: number;
  /** The error of the last round when it failed: it explains a timeout better than "still running". */
  lastPollError: unknown;
}

const LIST_IDS_PER_CALL = 20;
const LIST_PAGE_LIMIT = 100;
const PARALLEL_CALLS = 4;

/** Status `2` is success, `-1` failure, anything else (documented `1`) still running. */
export function jobState(status: number): JobState {
  if (status === 2) return 'succeeded';
  if (status === -1) return 'failed';
  return 'running';
}

function outcomeOf(job: Job): JobOutcome {
  const state = jobState(job.status);
  if (state !== 'failed') return { state, errorCode: null, errorMsg: null };
  // execute_msg often says more than error_msg about why a push failed on the phone.
  const parts = [job.error_msg, job.execute_msg].filter((s): s is string => !!s && s.trim() !== '');
  const unique = parts.filter((s, i) => parts.indexOf(s) === i);
  return { state, errorCode: job.error_code, errorMsg: unique.length ? unique.join(' — ') : null };
}

export function countOutcomes(outcomes: Map<string, JobOutcome>): WaitCounts {
  const counts: WaitCounts = { succeeded: 0, failed: 0, running: 0, total: outcomes.size };
  for (const o of outcomes.values()) counts[o.state]++;
  return counts;
}

/** A failure that polling again will not cure (bad credentials, no permission, wrong project). */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof ServiceError &&
    error.status !== undefined &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 408 &&
    error.status !== 429
  );
}

export async function waitForJobs(
  jobs: TrackedJob[],
  options: WaitOptions,
  deps: WaitDeps,
): Promise<WaitResult> {
  const outcomes = new Map<string, JobOutcome>();
  const byRequest = new Map<string, TrackedJob[]>();
  for (const job of jobs) {
    outcomes.set(job.jobId, { state: 'running', errorCode: null, errorMsg: null });
    const list = byRequest.get(job.requestId) ?? [];
    list.push(job);
    byRequest.set(job.requestId, list);
  }
  const warnedStatuses = new Set<number>();
  const deadline = deps.now() + options.timeoutMs;
  let rounds = 0;
  let lastPollError: unknown;

  const record = (job: Job) => {
    if (!outcomes.has(job.job_id)) return; // a job of another push with the same request: not ours
    if (job.status !== 1 && job.status !== 2 && job.status !== -1 && !warnedStatuses.has(job.status)) {
      warnedStatuses.add(job.status);
      deps.warn(
        `CPH reported job status ${job.status}, which is not documented; treating such jobs as still running`,
      );
    }
    outcomes.set(job.job_id, outcomeOf(job));
  };

  const pending = () => [...outcomes.entries()].filter(([, o]) => o.state === 'running').map(([id]) => id);

  const pollRound = async () => {
    const pendingIds = new Set(pending());
    const requestIds = [...byRequest.keys()].filter((rid) =>
      byRequest.get(rid)?.some((j) => pendingIds.has(j.jobId)),
    );
    const seen = new Set<string>();
    await mapPool(chunk(requestIds, LIST_IDS_PER_CALL), PARALLEL_CALLS, async (group) => {
      const expected = group.reduce((n, rid) => n + (byRequest.get(rid)?.length ?? 0), 0);
      // The pages the jobs we know of fill are fetched together; more follow only
      // while pages come back full and some of our jobs are still unseen.
      const firstPages = Math.max(1, Math.ceil(expected / LIST_PAGE_LIMIT));
      const fetchPage = (index: number) =>
        deps.listJobs({
          requestIds: group,
          offset: index * LIST_PAGE_LIMIT,
          limit: LIST_PAGE_LIMIT,
          deadline,
        });
      const pages = await mapPool(
        Array.from({ length: firstPages }, (_, i) => i),
        PARALLEL_CALLS,
        fetchPage,
      );
      const groupJobs = new Set(group.flatMap((rid) => byRequest.get(rid)?.map((j) => j.jobId) ?? []));
      const allSeen = () => [...groupJobs].every((id) => seen.has(id));
      const absorb = (page: Job[]) => {
        for (const job of page) {
          seen.add(job.job_id);
          record(job);
        }
      };
      pages.forEach(absorb);
      let index = firstPages;
      let last = pages[pages.length - 1] ?? [];
      while (last.length >= LIST_PAGE_LIMIT && !allSeen()) {
        last = await fetchPage(index++);
        absorb(last);
      }
    });
    const missing = [...pendingIds].filter((id) => !seen.has(id));
    await mapPool(missing, PARALLEL_CALLS, async (id) => record(await deps.showJob(id, deadline)));
  };

  while (pending().length > 0) {
    const remaining = deadline - deps.now();
    if (remaining <= 0) break;
    await deps.sleep(Math.min(options.pollIntervalMs, remaining));
    rounds++;
    try {
      await pollRound();
      lastPollError = undefined;
    } catch (error) {
      if (isPermanent(error) || error instanceof CancelledError) throw error;
      lastPollError = error;
      deps.warn(`polling the jobs failed this round, will try again: ${errorMessage(error)}`);
    }
    deps.onRound?.(countOutcomes(outcomes));
  }
  return { outcomes, timedOut: pending().length > 0, rounds, lastPollError };
}
