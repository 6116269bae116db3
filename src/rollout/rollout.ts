/**
 * The staged rollout: each stage in turn is pushed, waited for, handed to the after-stage steps
 * (prune, the ledger), then judged against the failure budget. When a stage goes wrong (over
 * budget, jobs still running at the timeout, a failed call, a cancel) the later stages are
 * `skipped` and the rollout ends with the error the step fails with.
 *
 * Its effects come in through `RolloutDeps`, as `waitForJobs` takes `WaitDeps`: the unit tests
 * drive it in process with exact tables, and src/run/ wires it to CPH and the log.
 */
import { CancelledError, RunFailure, WaitTimeoutError } from '../errors.js';
import { allowedFailures, overBudget } from '../fleet/stages.js';
import type { Budget } from '../fleet/types.js';
import type { PushOutcome } from '../jobs/push.js';
import type { JobOutcome, TrackedJob, WaitResult } from '../jobs/wait.js';
import { countOutcomes } from '../jobs/wait.js';
import {
  countStage,
  isFailure,
  type PushTarget,
  type RunReport,
  type ServerResult,
  serverResult,
} from '../model/results.js';
import * as fleetText from '../report/fleet.js';
import { outcomeFailure, timeoutMessage } from '../report/log.js';
import { errorMessage } from '../util/text.js';

export interface RolloutPlan {
  /** The servers to push, in push order, each with its stage (1 … `of`). */
  servers: PushTarget[];
  /** Every server chosen (every entry of `jobs` at the end): what a percentage budget is of. */
  chosen: number;
  maxFailures: Budget;
  waitTimeoutSeconds: number;
}

/** What an after-stage step is given: the stage, its servers' results (to read or update), and how it went. */
export interface StageRun {
  number: number;
  of: number;
  /** This stage's entries of the report, live: a step may change a server's status. */
  results: ServerResult[];
  /** Why the stage already goes wrong (a failed call, a timeout, a cancel), if it does. */
  error?: unknown;
}

export interface RolloutDeps {
  /** Push the servers of one stage in batches; the servers it did not start are in `results`. */
  push(servers: PushTarget[], stage: { number: number; of: number }): Promise<PushOutcome>;
  /** Follow the jobs a stage started; absent when the run does not wait (`wait: false`). */
  wait?(jobs: TrackedJob[], stage: { number: number; of: number }): Promise<WaitResult>;
  /**
   * Run in order after each stage's push and wait, before the budget is judged, also when the
   * stage went wrong (the ledger records a stopped or cancelled stage too; `run.error` says so).
   * A step that throws stops the rollout with its error.
   */
  afterStage?: ReadonlyArray<(run: StageRun) => Promise<void>>;
  signal: AbortSignal;
  warn(line: string): void;
  /** Masks the run's secrets in text that came from a service. */
  redact(text: string): string;
}

/**
 * Runs every stage, filling `record` (servers, request ids, stage counts). Resolves when every
 * stage ran within the budget, with the failures the budget allowed; otherwise throws, with every
 * server of the plan in `record`.
 */
export async function runRollout(
  plan: RolloutPlan,
  deps: RolloutDeps,
  record: RunReport,
): Promise<{ withinBudget: string[]; budget: string }> {
  const of = plan.servers.reduce((max, s) => Math.max(max, s.stage ?? 0), 0);
  const allowed = allowedFailures(plan.maxFailures, plan.chosen);
  const budget = fleetText.budgetText(plan.maxFailures, allowed, plan.chosen);
  const failures = () => record.servers.filter((s) => isFailure(s.status)).map((s) => s.server_id);
  const rollout: NonNullable<RunReport['rollout']> = { of, stages: [] };
  record.rollout = rollout;

  for (let n = 1; n <= of; n++) {
    const stage = plan.servers.filter((s) => s.stage === n);
    if (deps.signal.aborted) {
      // Cancelled before anything of this rollout was sent: nothing is pushed.
      const why = 'not pushed: the run was cancelled';
      record.servers.push(...stage.map((s) => serverResult(s, 'skipped', { error_msg: why })));
      for (const later of plan.servers.filter((s) => (s.stage ?? 0) > n))
        record.servers.push(serverResult(later, 'skipped', { error_msg: why }));
      throw deps.signal.reason;
    }
    const { error, inPush } = await runStage(plan, deps, record, stage, n, of);
    const failed = failures().length;
    const stopped =
      error !== undefined
        ? stopReason(error, inPush, plan, deps)
        : overBudget(failed, allowed)
          ? fleetText.overBudgetReason(failed, budget)
          : undefined;
    rollout.stages.push({ ...countStage(n, record.servers), ...(stopped ? { stopped } : {}) });
    if (!stopped) continue;

    const later = plan.servers.filter((s) => (s.stage ?? 0) > n);
    const why = fleetText.skippedMessage(n, stopped);
    record.servers.push(...later.map((s) => serverResult(s, 'skipped', { error_msg: why })));
    if (error !== undefined) {
      if (of > 1) deps.warn(fleetText.stoppedLine(n, of, stopped, later.length));
      throw error;
    }
    const headline = of > 1 ? fleetText.stoppedHeadline(n, of, stopped, later.length) : stopped;
    throw new RunFailure(`${headline} — ${outcomeFailure(record) ?? ''}`);
  }
  return { withinBudget: failures(), budget };
}

/**
 * One stage: push, follow the jobs started (a failed batch still lets them be followed), then the
 * after-stage steps. Returns the error that ends the rollout here, if any (`inPush` when a
 * PushShareFiles call failed); a cancel that arrived at any point of the stage is that error, even
 * when every call of the stage went through.
 */
async function runStage(
  plan: RolloutPlan,
  deps: RolloutDeps,
  record: RunReport,
  servers: PushTarget[],
  number: number,
  of: number,
): Promise<{ error: unknown; inPush: boolean }> {
  let error: unknown;
  let inPush = false;
  const results: ServerResult[] = [];
  try {
    const pushed = await deps.push(servers, { number, of });
    results.push(...pushed.results);
    record.servers.push(...pushed.results);
    record.requestIds.push(...pushed.requestIds);
    error = pushed.error;
    inPush = error !== undefined;
    if (deps.wait && pushed.tracked.length > 0 && !deps.signal.aborted) {
      try {
        const waited = await deps.wait(pushed.tracked, { number, of });
        applyOutcomes(results, waited.outcomes, deps.redact);
        if (waited.timedOut) error ??= timeoutError(results, waited, plan.waitTimeoutSeconds);
      } catch (waitError) {
        error ??= waitError;
      }
    }
  } catch (pushError) {
    error ??= pushError;
  }
  for (const step of deps.afterStage ?? []) {
    try {
      await step({ number, of, results, error: deps.signal.aborted ? deps.signal.reason : error });
    } catch (stepError) {
      error ??= stepError;
    }
  }
  if (deps.signal.aborted) return { error: deps.signal.reason, inPush: false };
  return { error, inPush };
}

/** Each server whose job ended (or still runs) takes the job's state; a failed job its code and message. */
function applyOutcomes(
  results: ServerResult[],
  outcomes: ReadonlyMap<string, JobOutcome>,
  redact: (text: string) => string,
): void {
  for (const server of results) {
    const outcome = server.job_id ? outcomes.get(server.job_id) : undefined;
    if (!outcome) continue;
    server.status = outcome.state;
    if (outcome.state === 'failed') {
      server.error_code = outcome.errorCode;
      server.error_msg = outcome.errorMsg && redact(outcome.errorMsg);
    }
  }
}

function timeoutError(
  results: ServerResult[],
  waited: WaitResult,
  waitTimeoutSeconds: number,
): WaitTimeoutError {
  const running = results.filter((s) => s.status === 'running').map((s) => s.server_id);
  const counts = countOutcomes(waited.outcomes);
  return new WaitTimeoutError(
    timeoutMessage(running, counts, waitTimeoutSeconds, waited.lastPollError),
    counts.running,
  );
}

/** Why a stage that went wrong ends the rollout, in a few words for the servers it leaves out. */
function stopReason(error: unknown, inPush: boolean, plan: RolloutPlan, deps: RolloutDeps): string {
  if (error instanceof CancelledError || deps.signal.aborted) return 'the run was cancelled';
  if (error instanceof WaitTimeoutError)
    return fleetText.timeoutReason(error.running, plan.waitTimeoutSeconds);
  const message = deps.redact(errorMessage(error));
  return inPush ? `a PushShareFiles call failed: ${message}` : message;
}
