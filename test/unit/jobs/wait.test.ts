import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { judgeIdempotent, withRetry } from '../../../src/http/retry.js';
import type { Job } from '../../../src/huawei/types.js';
import { jobState, type TrackedJob, type WaitDeps, waitForJobs } from '../../../src/jobs/wait.js';

/** A fake CPH job store on a fake clock: each job ends at its own time with its own status. */
function fakeCph(
  jobs: Array<TrackedJob & { endsAt: number; final?: number; hidden?: boolean; running?: number }>,
) {
  let clock = 0;
  const calls = {
    list: [] as Array<{ requestIds: string[]; offset: number; limit: number; deadline: number }>,
    show: [] as string[],
    showDeadlines: [] as number[],
  };
  const warnings: string[] = [];
  const toJob = (j: (typeof jobs)[number]): Job => ({
    job_id: j.jobId,
    server_id: j.serverId,
    status: clock >= j.endsAt ? (j.final ?? 2) : (j.running ?? 1),
    error_code: clock >= j.endsAt && j.final === -1 ? 'CPS.9999' : null,
    error_msg: clock >= j.endsAt && j.final === -1 ? 'push failed' : null,
    execute_msg: clock >= j.endsAt && j.final === -1 ? 'no space left' : null,
  });
  const deps: WaitDeps = {
    async listJobs(page) {
      calls.list.push(page);
      const matching = jobs.filter((j) => page.requestIds.includes(j.requestId) && !j.hidden);
      return matching.slice(page.offset, page.offset + page.limit).map(toJob);
    },
    async showJob(id, deadline) {
      calls.show.push(id);
      calls.showDeadlines.push(deadline);
      const job = jobs.find((j) => j.jobId === id);
      if (!job) throw new Error('unknown job');
      return toJob(job);
    },
    async sleep(ms) {
      clock += ms;
    },
    now: () => clock,
    warn: (m) => warnings.push(m),
  };
  return {
    deps,
    calls,
    warnings,
    clock: () => clock,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

function fleet(n: number, perRequest: number, endsAt: (i: number) => number) {
  return Array.from({ length: n }, (_, i) => ({
    serverId: `s${i}`,
    jobId: `j${i}`,
    requestId: `r${Math.floor(i / perRequest)}`,
    endsAt: endsAt(i),
  }));
}

describe('jobState', () => {
  it('maps 2, -1 and anything else', () => {
    expect(jobState(2)).toBe('succeeded');
    expect(jobState(-1)).toBe('failed');
    expect(jobState(1)).toBe('running');
    expect(jobState(3)).toBe('running');
    expect(jobState(Number.NaN)).toBe('running');
  });
});

describe('waitForJobs', () => {
  it('lists 1,000 jobs of 10 requests with 10 ListJobs calls a round and no ShowJob', async () => {
    const jobs = fleet(1000, 100, () => 2500);
    const cph = fakeCph(jobs);
    const result = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 60_000 }, cph.deps);
    expect(result.timedOut).toBe(false);
    expect(result.rounds).toBe(3);
    expect(cph.calls.list).toHaveLength(30);
    expect(cph.calls.show).toHaveLength(0);
    expect(cph.calls.list.every((c) => c.requestIds.length <= 20 && c.limit === 100)).toBe(true);
    expect([...result.outcomes.values()].every((o) => o.state === 'succeeded')).toBe(true);
  });

  it('groups at most 20 request ids a call and stops listing requests whose jobs all ended', async () => {
    // 25 requests of 2 jobs; the first 20 requests' jobs end in round 1.
    const jobs = fleet(50, 2, (i) => (i < 40 ? 500 : 2500));
    const cph = fakeCph(jobs);
    await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 60_000 }, cph.deps);
    const round1 = cph.calls.list.filter((c) => c.offset === 0).slice(0, 2);
    expect(round1.map((c) => c.requestIds.length)).toEqual([20, 5]);
    const later = cph.calls.list.slice(2);
    expect(later.every((c) => c.requestIds.every((r) => Number(r.slice(1)) >= 20))).toBe(true);
  });

  it('pages on while pages come back full and jobs are unseen', async () => {
    // Another push with the same request id would be odd, but a page can hold
    // jobs that are not ours: the 150 known jobs need 2 pages; the list has 250.
    const ours = fleet(150, 150, () => 500);
    const theirs = Array.from({ length: 100 }, (_, i) => ({
      serverId: `x${i}`,
      jobId: `x${i}`,
      requestId: 'r0',
      endsAt: 0,
    }));
    const cph = fakeCph([...theirs, ...ours]);
    const result = await waitForJobs(ours, { pollIntervalMs: 1000, timeoutMs: 10_000 }, cph.deps);
    expect(cph.calls.list.map((c) => c.offset)).toEqual([0, 100, 200]);
    expect(result.outcomes.size).toBe(150);
    expect(cph.calls.show).toHaveLength(0);
  });

  it('looks up jobs missing from the lists with ShowJob', async () => {
    const jobs = fleet(3, 3, () => 500).map((j, i) => ({ ...j, hidden: i === 1 }));
    const cph = fakeCph(jobs);
    const result = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 10_000 }, cph.deps);
    expect(cph.calls.show).toEqual(['j1']);
    expect(result.outcomes.get('j1')?.state).toBe('succeeded');
  });

  it('reports failures with code and messages, and times out with the rest running', async () => {
    const jobs = [
      { serverId: 'a', jobId: 'ja', requestId: 'r', endsAt: 500, final: -1 },
      { serverId: 'b', jobId: 'jb', requestId: 'r', endsAt: Number.POSITIVE_INFINITY },
    ];
    const cph = fakeCph(jobs);
    const result = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 3500 }, cph.deps);
    expect(result.timedOut).toBe(true);
    expect(cph.clock()).toBe(3500);
    expect(result.outcomes.get('ja')).toEqual({
      state: 'failed',
      errorCode: 'CPS.9999',
      errorMsg: 'push failed — no space left',
    });
    expect(result.outcomes.get('jb')?.state).toBe('running');
  });

  it('warns once about an undocumented status and keeps polling', async () => {
    const jobs = [{ serverId: 'a', jobId: 'ja', requestId: 'r', endsAt: 3000, running: 7 }];
    const cph = fakeCph(jobs);
    const result = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 10_000 }, cph.deps);
    expect(result.outcomes.get('ja')?.state).toBe('succeeded');
    expect(cph.warnings.filter((w) => w.includes('status 7'))).toHaveLength(1);
  });

  it('carries on after a failed round, but stops at once on a permanent error', async () => {
    const jobs = [{ serverId: 'a', jobId: 'ja', requestId: 'r', endsAt: 500 }];
    const flaky = fakeCph(jobs);
    const list = flaky.deps.listJobs;
    let n = 0;
    flaky.deps.listJobs = async (page) => {
      if (n++ === 0)
        throw new ServiceError({ service: 'CPH', operation: 'ListJobs', status: 500, detail: 'boom' });
      return list(page);
    };
    const ok = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 10_000 }, flaky.deps);
    expect(ok.outcomes.get('ja')?.state).toBe('succeeded');
    expect(flaky.warnings.some((w) => w.includes('boom'))).toBe(true);

    const denied = fakeCph(jobs);
    denied.deps.listJobs = async () => {
      throw new ServiceError({ service: 'CPH', operation: 'ListJobs', status: 403, detail: 'forbidden' });
    };
    await expect(waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 10_000 }, denied.deps)).rejects.toThrow(
      /forbidden/,
    );
  });

  it('keeps the last polling error for a timeout message', async () => {
    const jobs = [{ serverId: 'a', jobId: 'ja', requestId: 'r', endsAt: 0 }];
    const cph = fakeCph(jobs);
    cph.deps.listJobs = async () => {
      throw new ServiceError({ service: 'CPH', operation: 'ListJobs', status: 503, detail: 'unavailable' });
    };
    const result = await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 2000 }, cph.deps);
    expect(result.timedOut).toBe(true);
    expect(String(result.lastPollError)).toMatch(/unavailable/);
  });

  it('hands every read the deadline of the wait', async () => {
    const jobs = fleet(3, 3, () => 1500).map((j, i) => ({ ...j, hidden: i === 2 }));
    const cph = fakeCph(jobs);
    cph.advance(7000);
    await waitForJobs(jobs, { pollIntervalMs: 1000, timeoutMs: 20_000 }, cph.deps);
    expect(cph.calls.list.length).toBeGreaterThan(0);
    expect(new Set(cph.calls.list.map((c) => c.deadline))).toEqual(new Set([27_000]));
    expect(cph.calls.showDeadlines.length).toBeGreaterThan(0);
    expect(new Set(cph.calls.showDeadlines)).toEqual(new Set([27_000]));
  });

  it('a 429 with Retry-After: 100 does not stretch a 20 s wait (issue 19)', async () => {
    const jobs = [{ serverId: 'a', jobId: 'ja', requestId: 'r', endsAt: 0 }];
    const cph = fakeCph(jobs);
    const throttledReads: number[] = [];
    // ListJobs as the client makes it: one retry loop, on the wait's clock and deadline.
    cph.deps.listJobs = async (page) => {
      const answer = await withRetry(
        async () => {
          throttledReads.push(cph.clock());
          return { status: 429, headers: { 'retry-after': '100' } };
        },
        (o) => judgeIdempotent(o as never),
        { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 },
        { sleep: cph.deps.sleep, random: () => 0, now: cph.deps.now, deadline: page.deadline },
      );
      throw new ServiceError({
        service: 'CPH',
        operation: 'ListJobs',
        status: answer.status,
        detail: 'throttled',
      });
    };
    const result = await waitForJobs(jobs, { pollIntervalMs: 5000, timeoutMs: 20_000 }, cph.deps);
    expect(result.timedOut).toBe(true);
    expect(cph.clock()).toBe(20_000);
    // One read a round, never repeated after a wait of 100 s: rounds at 5, 10, 15 and 20 s.
    expect(throttledReads).toEqual([5000, 10_000, 15_000, 20_000]);
    expect(String(result.lastPollError)).toMatch(/throttled/);
  });
});
