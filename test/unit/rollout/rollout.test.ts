/**
 * The stage loop in process, its effects faked: exact tables of which servers are pushed in
 * which stage, how each ends, where the rollout stops and why, and what the later servers say.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError, RunFailure, ServiceError, WaitTimeoutError } from '../../../src/errors.js';
import type { Budget } from '../../../src/fleet/types.js';
import type { PushOutcome } from '../../../src/jobs/push.js';
import type { JobOutcome, TrackedJob, WaitResult } from '../../../src/jobs/wait.js';
import { type PushTarget, type RunReport, serverResult } from '../../../src/model/results.js';
import {
  type RolloutDeps,
  type RolloutPlan,
  runRollout,
  type StageRun,
} from '../../../src/rollout/rollout.js';

type End = 'succeeded' | 'failed' | 'running' | 'rejected';

/** A fleet whose every server ends as `ends` says (default: succeeded). */
function fakeFleet(
  ends: Record<string, End> = {},
  options: {
    failPushOf?: string;
    cancelDuringPushOf?: string;
    cancelDuringWaitOf?: number;
    waitError?: unknown;
    wait?: boolean;
  } = {},
) {
  const cancel = new AbortController();
  const pushed: string[][] = [];
  const waited: number[] = [];
  const warnings: string[] = [];
  const deps: RolloutDeps = {
    async push(servers) {
      pushed.push(servers.map((s) => s.serverId));
      if (servers.some((s) => s.serverId === options.cancelDuringPushOf))
        cancel.abort(new CancelledError('SIGINT'));
      const outcome: PushOutcome = { results: [], tracked: [], requestIds: [`req-${pushed.length}`] };
      for (const s of servers) {
        if (s.serverId === options.failPushOf) {
          outcome.error = new ServiceError({
            service: 'CPH',
            operation: 'PushShareFiles',
            status: 400,
            code: 'CPS.0001',
            detail: 'Invalid parameter',
          });
          outcome.results.push(serverResult(s, 'rejected', { error_code: 'CPS.0001' }));
          outcome.requestIds = [];
          continue;
        }
        if (ends[s.serverId] === 'rejected') {
          outcome.results.push(serverResult(s, 'rejected', { error_code: 'CPS.0005', error_msg: 'no' }));
          continue;
        }
        const jobId = `job-${s.serverId}`;
        outcome.results.push(
          serverResult(s, options.wait === false ? 'submitted' : 'running', { job_id: jobId }),
        );
        outcome.tracked.push({ serverId: s.serverId, jobId, requestId: `req-${pushed.length}` });
      }
      return outcome;
    },
    wait:
      options.wait === false
        ? undefined
        : async (jobs: TrackedJob[], stage): Promise<WaitResult> => {
            waited.push(stage.number);
            if (options.waitError) throw options.waitError;
            if (stage.number === options.cancelDuringWaitOf) {
              cancel.abort(new CancelledError('SIGTERM'));
              throw cancel.signal.reason;
            }
            const outcomes = new Map<string, JobOutcome>();
            for (const j of jobs) {
              const end = ends[j.serverId] ?? 'succeeded';
              outcomes.set(j.jobId, {
                state: end === 'rejected' ? 'succeeded' : end,
                errorCode: end === 'failed' ? 'CPS.0212' : null,
                errorMsg: end === 'failed' ? 'boom SECRET' : null,
              });
            }
            const timedOut = [...outcomes.values()].some((o) => o.state === 'running');
            return { outcomes, timedOut, rounds: 1, lastPollError: undefined };
          },
    signal: cancel.signal,
    warn: (line) => warnings.push(line),
    redact: (text) => text.replaceAll('SECRET', '***'),
  };
  return { deps, pushed, waited, warnings, cancel };
}

function staged(stages: string[][]): PushTarget[] {
  return stages.flatMap((ids, i) => ids.map((id) => ({ serverId: id, serverName: null, stage: i + 1 })));
}

function plan(stages: string[][], maxFailures: Budget = { count: 0 }, refused = 0): RolloutPlan {
  const servers = staged(stages);
  return { servers, chosen: servers.length + refused, maxFailures, waitTimeoutSeconds: 60 };
}

function emptyReport(): RunReport {
  return {
    projectId: 'p',
    bucket: 'b',
    objectPath: 'o.tar',
    uploaded: false,
    requestIds: [],
    servers: [],
    dryRun: false,
    git: {},
  };
}

const table = (report: RunReport) => report.servers.map((s) => [s.server_id, s.stage, s.status]);

describe('runRollout: stages run in order', () => {
  it('pushes and waits stage by stage, every server succeeded, one count line per stage', async () => {
    const fleet = fakeFleet();
    const report = emptyReport();
    const result = await runRollout(plan([['a'], ['b', 'c'], ['d', 'e', 'f']]), fleet.deps, report);
    expect(fleet.pushed).toEqual([['a'], ['b', 'c'], ['d', 'e', 'f']]);
    expect(fleet.waited).toEqual([1, 2, 3]);
    expect(result).toEqual({ withinBudget: [], budget: 'max-failures 0' });
    expect(report.requestIds).toEqual(['req-1', 'req-2', 'req-3']);
    expect(report.rollout).toEqual({
      of: 3,
      stages: [
        { number: 1, servers: 1, succeeded: 1, failed: 0, unfinished: 0, skipped: 0 },
        { number: 2, servers: 2, succeeded: 2, failed: 0, unfinished: 0, skipped: 0 },
        { number: 3, servers: 3, succeeded: 3, failed: 0, unfinished: 0, skipped: 0 },
      ],
    });
    expect(fleet.warnings).toEqual([]);
  });

  it('without wait: nothing is waited for, servers stay submitted', async () => {
    const fleet = fakeFleet({}, { wait: false });
    const report = emptyReport();
    await runRollout(plan([['a', 'b']]), fleet.deps, report);
    expect(fleet.waited).toEqual([]);
    expect(table(report)).toEqual([
      ['a', 1, 'submitted'],
      ['b', 1, 'submitted'],
    ]);
    expect(report.rollout?.stages).toEqual([
      { number: 1, servers: 2, succeeded: 0, failed: 0, unfinished: 2, skipped: 0 },
    ]);
  });

  it("a failed job's code and message are kept, the message redacted", async () => {
    const fleet = fakeFleet({ b: 'failed' });
    const report = emptyReport();
    await runRollout(plan([['a', 'b']], { count: 1 }), fleet.deps, report);
    expect(report.servers[1]).toMatchObject({
      status: 'failed',
      error_code: 'CPS.0212',
      error_msg: 'boom ***',
    });
  });
});

describe('runRollout: the failure budget', () => {
  // [failing servers, budget, refused by pre-flight, stage where it stops (0: none), pushed stages]
  const cases: Array<[string[], Budget, number, number, number]> = [
    [[], { count: 0 }, 0, 0, 3],
    [['a'], { count: 0 }, 0, 1, 1],
    [['a'], { count: 1 }, 0, 0, 3],
    [['b'], { count: 0 }, 0, 2, 2],
    [['b', 'c'], { count: 1 }, 0, 2, 2],
    [['d'], { count: 1 }, 0, 0, 3],
    [['d', 'e'], { count: 1 }, 0, 3, 3],
    // Pre-flight refusals count from the start: one already, one more stops it.
    [['b'], { count: 1 }, 1, 2, 2],
    // A percentage is of every server chosen, rounded down: 20 % of 6 is 1, of 6 + 1 refused still 1,
    // 30 % of 7 is 2.
    [['a', 'b'], { percent: 20 }, 0, 2, 2],
    [['b'], { percent: 20 }, 1, 2, 2],
    [['b'], { percent: 30 }, 1, 0, 3],
  ];
  for (const [failing, budget, refused, stopsAfter, pushedStages] of cases) {
    it(`${failing.join('+') || 'no'} failures, ${JSON.stringify(budget)}, ${refused} refused: ${stopsAfter ? `stops after stage ${stopsAfter}` : 'runs every stage'}`, async () => {
      const fleet = fakeFleet(Object.fromEntries(failing.map((id) => [id, 'failed'])));
      const report = emptyReport();
      for (let i = 0; i < refused; i++)
        report.servers.push(serverResult({ serverId: `x${i}`, serverName: null, stage: null }, 'rejected'));
      const run = runRollout(plan([['a'], ['b', 'c'], ['d', 'e', 'f']], budget, refused), fleet.deps, report);
      if (stopsAfter) await expect(run).rejects.toBeInstanceOf(RunFailure);
      else await run;
      expect(fleet.pushed).toHaveLength(pushedStages);
      const stopped = report.rollout?.stages.filter((s) => s.stopped).map((s) => s.number);
      expect(stopped).toEqual(stopsAfter ? [stopsAfter] : []);
      const skipped = report.servers.filter((s) => s.status === 'skipped').map((s) => s.server_id);
      expect(skipped).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].slice([0, 1, 3, 6][pushedStages]));
      expect(report.servers).toHaveLength(6 + refused);
    });
  }

  it('over budget after stage 2 of 3: the exact reason, skipped message, and failure line', async () => {
    const fleet = fakeFleet({ b: 'failed', c: 'rejected' });
    const report = emptyReport();
    const error = await runRollout(
      plan([['a'], ['b', 'c'], ['d', 'e']], { count: 1 }),
      fleet.deps,
      report,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFailure);
    expect((error as Error).message).toMatch(
      /^the rollout stopped after stage 2 of 3: 2 servers rejected or failed, more than max-failures 1; 2 skipped — 1 job failed \(b CPS\.0212 "boom \*\*\*"\) and 1 server was rejected \(c CPS\.0005 "no"\) of 5 servers/,
    );
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'failed'],
      ['c', 2, 'rejected'],
      ['d', 3, 'skipped'],
      ['e', 3, 'skipped'],
    ]);
    expect(report.servers[3]?.error_msg).toBe(
      'not pushed: the rollout stopped after stage 2: 2 servers rejected or failed, more than max-failures 1',
    );
    expect(report.rollout?.stages[1]).toEqual({
      number: 2,
      servers: 2,
      succeeded: 0,
      failed: 2,
      unfinished: 0,
      skipped: 0,
      stopped: '2 servers rejected or failed, more than max-failures 1',
    });
  });

  it('one stage over budget: the failure line is the reason, with no stage words', async () => {
    const fleet = fakeFleet({ a: 'failed' });
    const error = await runRollout(plan([['a', 'b']]), fleet.deps, emptyReport()).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^1 server rejected or failed, more than max-failures 0 — 1 job failed/,
    );
  });

  it('failures within the budget are returned for the warning', async () => {
    const fleet = fakeFleet({ c: 'failed' });
    const result = await runRollout(plan([['a'], ['b', 'c']], { percent: 50 }), fleet.deps, emptyReport());
    expect(result).toEqual({ withinBudget: ['c'], budget: 'max-failures 50% (1 of 3 servers)' });
  });
});

describe('runRollout: other stops', () => {
  it('jobs still running at the timeout stop the rollout with a WaitTimeoutError', async () => {
    const fleet = fakeFleet({ b: 'running' });
    const report = emptyReport();
    const error = await runRollout(plan([['a'], ['b', 'c'], ['d']], { count: 5 }), fleet.deps, report).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).running).toBe(1);
    expect(fleet.pushed).toEqual([['a'], ['b', 'c']]);
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'running'],
      ['c', 2, 'succeeded'],
      ['d', 3, 'skipped'],
    ]);
    expect(report.servers[3]?.error_msg).toBe(
      'not pushed: the rollout stopped after stage 2: 1 job still running after wait-timeout 60 s',
    );
    expect(fleet.warnings).toEqual([
      'The rollout stopped after stage 2 of 3: 1 job still running after wait-timeout 60 s; 1 skipped',
    ]);
  });

  it('a failed PushShareFiles call stops the rollout with that error; the started jobs are still followed', async () => {
    const fleet = fakeFleet({}, { failPushOf: 'c' });
    const report = emptyReport();
    const error = await runRollout(plan([['a'], ['b', 'c'], ['d']], { count: 5 }), fleet.deps, report).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceError);
    expect(fleet.waited).toEqual([1, 2]);
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'succeeded'],
      ['c', 2, 'rejected'],
      ['d', 3, 'skipped'],
    ]);
    expect(report.rollout?.stages.at(-1)?.stopped).toBe(
      'a PushShareFiles call failed: CPH PushShareFiles failed: Invalid parameter (HTTP 400, error code CPS.0001)',
    );
  });

  it('a poll that fails for good stops the rollout with its own message, not as a push failure', async () => {
    const pollError = new ServiceError({
      service: 'CPH',
      operation: 'ListJobs',
      status: 403,
      detail: 'denied',
    });
    const fleet = fakeFleet({}, { waitError: pollError });
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, report)).rejects.toBe(pollError);
    expect(report.rollout?.stages[0]?.stopped).toBe('CPH ListJobs failed: denied (HTTP 403)');
    expect(table(report)).toEqual([
      ['a', 1, 'running'],
      ['b', 2, 'skipped'],
    ]);
  });
});

describe('runRollout: cancellation', () => {
  it('a cancel during stage 2 of 3 stops after stage 2 (not 3), stage 3 skipped', async () => {
    const fleet = fakeFleet({}, { cancelDuringWaitOf: 2 });
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b'], ['c', 'd']]), fleet.deps, report)).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(fleet.pushed).toEqual([['a'], ['b']]);
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'running'],
      ['c', 3, 'skipped'],
      ['d', 3, 'skipped'],
    ]);
    expect(fleet.warnings).toEqual([
      'The rollout stopped after stage 2 of 3: the run was cancelled; 2 skipped',
    ]);
  });

  it('a cancel that lands while the last push of a stage is in flight still stops the rollout there', async () => {
    // The push completes (a push sent cannot be recalled); nothing is waited for, nothing more pushed.
    const fleet = fakeFleet({}, { cancelDuringPushOf: 'b' });
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b'], ['c']]), fleet.deps, report)).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(fleet.pushed).toEqual([['a'], ['b']]);
    expect(fleet.waited).toEqual([1]);
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'running'],
      ['c', 3, 'skipped'],
    ]);
    expect(report.rollout?.stages.map((s) => [s.number, s.stopped])).toEqual([
      [1, undefined],
      [2, 'the run was cancelled'],
    ]);
    expect(fleet.warnings).toEqual([
      'The rollout stopped after stage 2 of 3: the run was cancelled; 1 skipped',
    ]);
  });

  it('the same with one stage: the run is cancelled though every call went through', async () => {
    const fleet = fakeFleet({}, { cancelDuringPushOf: 'a' });
    const report = emptyReport();
    await expect(runRollout(plan([['a', 'b']]), fleet.deps, report)).rejects.toBeInstanceOf(CancelledError);
    expect(table(report)).toEqual([
      ['a', 1, 'running'],
      ['b', 1, 'running'],
    ]);
    expect(fleet.warnings).toEqual([]);
  });

  it('cancelled before the rollout starts: nothing is pushed, every server skipped', async () => {
    const fleet = fakeFleet();
    fleet.cancel.abort(new CancelledError('SIGTERM'));
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, report)).rejects.toBeInstanceOf(CancelledError);
    expect(fleet.pushed).toEqual([]);
    expect(report.servers.map((s) => [s.server_id, s.status, s.error_msg])).toEqual([
      ['a', 'skipped', 'not pushed: the run was cancelled'],
      ['b', 'skipped', 'not pushed: the run was cancelled'],
    ]);
  });
});

describe('runRollout: after-stage steps', () => {
  it('run in order after each stage, before the budget is judged, with the stage results', async () => {
    const fleet = fakeFleet();
    const calls: string[] = [];
    const seen: Array<[number, number, string[]]> = [];
    fleet.deps.afterStage = [
      async (run: StageRun) => {
        calls.push(`prune ${run.number}`);
        seen.push([run.number, run.of, run.results.map((r) => `${r.server_id}:${r.status}`)]);
      },
      async (run: StageRun) => {
        calls.push(`ledger ${run.number}`);
        // A step may change a result: the judgement that follows sees it.
        if (run.number === 1) {
          const first = run.results[0];
          if (first) first.status = 'failed';
        }
      },
    ];
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, report)).rejects.toBeInstanceOf(RunFailure);
    expect(calls).toEqual(['prune 1', 'ledger 1']);
    expect(seen).toEqual([[1, 2, ['a:succeeded']]]);
    expect(table(report)).toEqual([
      ['a', 1, 'failed'],
      ['b', 2, 'skipped'],
    ]);
  });

  it('run also when the stage went wrong, told why; a step that throws stops the rollout', async () => {
    const fleet = fakeFleet({ a: 'running' });
    const errors: unknown[] = [];
    fleet.deps.afterStage = [
      async (run) => {
        errors.push(run.error);
      },
    ];
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, emptyReport())).rejects.toBeInstanceOf(
      WaitTimeoutError,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(WaitTimeoutError);

    const failing = fakeFleet();
    failing.deps.afterStage = [
      async () => {
        throw new Error('the ledger changed under us');
      },
    ];
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), failing.deps, report)).rejects.toThrow(
      'the ledger changed',
    );
    expect(report.rollout?.stages[0]?.stopped).toBe('the ledger changed under us');
    expect(table(report)).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 2, 'skipped'],
    ]);
  });
});

describe('runRollout: what each stage is told and why it stops', () => {
  it('push and wait are told the stage number and count; a stage with no job started is not waited for', async () => {
    const fleet = fakeFleet({ a: 'rejected' });
    const stages: unknown[] = [];
    const push = fleet.deps.push;
    fleet.deps.push = (servers, stage) => {
      stages.push(stage);
      return push(servers, stage);
    };
    await runRollout(plan([['a'], ['b']], { count: 5 }), fleet.deps, emptyReport());
    expect(stages).toEqual([
      { number: 1, of: 2 },
      { number: 2, of: 2 },
    ]);
    expect(fleet.waited).toEqual([2]);
  });

  it('a push that throws stops the rollout with its own message, not as a failed PushShareFiles call', async () => {
    const fleet = fakeFleet();
    const boom = new Error('cannot build the request');
    fleet.deps.push = async () => {
      throw boom;
    };
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, report)).rejects.toBe(boom);
    expect(report.rollout?.stages[0]?.stopped).toBe('cannot build the request');
    expect(table(report)).toEqual([['b', 2, 'skipped']]);
  });

  it('a CancelledError from the wait reads as a cancel even before the signal says so', async () => {
    const cancelled = new CancelledError('SIGINT');
    const fleet = fakeFleet({}, { waitError: cancelled });
    const report = emptyReport();
    await expect(runRollout(plan([['a'], ['b']]), fleet.deps, report)).rejects.toBe(cancelled);
    expect(report.rollout?.stages[0]?.stopped).toBe('the run was cancelled');
  });

  it('the timeout error names the servers whose jobs still run, and only those', async () => {
    const fleet = fakeFleet({ b: 'running', d: 'running' });
    const error = await runRollout(
      plan([['a', 'b', 'c', 'd']], { count: 5 }),
      fleet.deps,
      emptyReport(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).running).toBe(2);
    expect((error as WaitTimeoutError).message).toMatch(
      /^2 of 4 jobs still running after wait-timeout 60 s \(servers b, d\) — raise wait-timeout/,
    );
  });
});
