/**
 * Staged rollout and the failure budget, end to end: dist/index.js against an emulated fleet.
 * Order is proven from the emulator's clock (each push and each job end), never from wall time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, failureLine, OBJECT, run } from '../helpers/action-fixture.js';
import { PHONE_MODELS } from '../helpers/fleet.js';
import { FLEET, fleetInputs, id, jobs, jsonOutput, pushedIds, TEST, warnings } from '../helpers/fleet-e2e.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 150, servers: FLEET, phoneModels: PHONE_MODELS });
});
afterAll(async () => emu.close());
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

/** The 60 game-test servers, all running on a flavor with shared storage. */
const inputs = (extra: Record<string, string>) =>
  fleetInputs(emu, { 'server-ids': '', 'server-names': 'game-test-*', ...extra });
const fail = (index: number) =>
  emu.phones.set(id(TEST[index]!), {
    outcome: 'failure',
    failure: { error_code: 'CPS.0212', error_msg: 'boom' },
  });

describe('staged rollout', () => {
  it('pushes each stage in batches only after every job of the stage before has ended', async () => {
    // Jobs of very different lengths, so a stage's slowest job decides when the next may start.
    for (const [i, s] of TEST.entries())
      emu.phones.set(id(s), { durationMs: i % 7 === 0 ? 900 : 20 + (i % 5) * 10 });
    const result = await run({ inputs: inputs({ rollout: '1, 10%, 50%', 'batch-size': '10' }) });
    expect(result.code, result.stdout).toBe(0);

    // 60 servers: stages end at 1, 6, 30 and 60.
    expect(emu.cph.pushes.map((p) => p.serverIds.length)).toEqual([1, 5, 10, 10, 4, 10, 10, 10]);
    expect(pushedIds(emu)).toEqual(TEST.map(id));
    const entries = jobs(result);
    const stageOf = new Map(entries.map((e) => [e.server_id, e.stage]));
    expect(entries.map((e) => e.stage)).toEqual([
      1,
      ...Array(5).fill(2),
      ...Array(24).fill(3),
      ...Array(30).fill(4),
    ]);
    expect(entries.every((e) => e.status === 'succeeded')).toBe(true);

    // The clock: every push of stage N+1 comes after the end of every job of stage N.
    const timeline = emu.cph.timeline();
    for (let stage = 1; stage < 4; stage++) {
      const ends = timeline.filter((e) => e.kind === 'job-end' && stageOf.get(e.serverId) === stage);
      const nextPushes = timeline.filter(
        (e) => e.kind === 'push' && e.serverIds.every((s) => stageOf.get(s) === stage + 1),
      );
      expect(ends.length).toBeGreaterThan(0);
      expect(nextPushes.length).toBeGreaterThan(0);
      const lastEnd = Math.max(...ends.map((e) => e.at));
      const firstPush = Math.min(...nextPushes.map((e) => e.at));
      expect(firstPush, `stage ${stage + 1} pushed before stage ${stage} ended`).toBeGreaterThanOrEqual(
        lastEnd,
      );
    }

    // A log group per stage, a summary line per stage.
    for (let stage = 1; stage <= 4; stage++)
      expect(result.stdout).toContain(`::group::Push (stage ${stage} of 4)`);
    expect(result.summary).toMatch(/Stage 1\D+1 server\D+1 succeeded, 0 failed/);
    expect(result.summary).toMatch(/Stage 4\D+30 servers\D+30 succeeded, 0 failed/);
  });

  it('a failing canary stops the rollout: later stages are skipped, with the reason', async () => {
    fail(0);
    const result = await run({ inputs: inputs({ rollout: '1, 50%' }) });
    expect(result.code).toBe(1);
    expect(pushedIds(emu)).toEqual([id(TEST[0]!)]);
    const entries = jobs(result);
    expect(entries[0]).toMatchObject({ stage: 1, status: 'failed', error_code: 'CPS.0212' });
    const skipped = entries.slice(1);
    expect(skipped.map((e) => e.status)).toEqual(Array(59).fill('skipped'));
    expect(skipped.map((e) => e.stage)).toEqual([...Array(29).fill(2), ...Array(30).fill(3)]);
    expect(skipped[0]?.error_msg).toMatch(/^not pushed: the rollout stopped after stage 1: /);
    expect(skipped[0]?.job_id).toBeNull();
    expect(jsonOutput(result, 'skipped-server-ids')).toEqual(TEST.slice(1).map(id));
    expect(jsonOutput(result, 'failed-server-ids')).toEqual([id(TEST[0]!)]);
    expect(failureLine(result)).toMatch(/stopped after stage 1 of 3/);
    expect(result.summary).toMatch(/stopped after stage 1 of 3/);
    expect(result.summary).toMatch(/59 skipped/);
    const [reportText] = Object.values(result.runnerTemp);
    const file = JSON.parse(reportText ?? 'null');
    expect(file.rollout).toEqual({
      stages: 3,
      stopped_after_stage: 1,
      stop_reason: '1 server rejected or failed, more than max-failures 0',
    });
    expect(file.stages.map((s: { stage: number; servers: number }) => [s.stage, s.servers])).toEqual([
      [1, 1],
      [2, 29],
      [3, 30],
    ]);
  });

  it('jobs still running at a stage’s wait-timeout stop the rollout', async () => {
    emu.phones.set(id(TEST[0]!), { outcome: 'stuck' });
    const result = await run({ inputs: inputs({ rollout: '1', 'wait-timeout': '2', 'max-failures': '10' }) });
    expect(result.code).toBe(1);
    expect(pushedIds(emu)).toEqual([id(TEST[0]!)]);
    expect(jobs(result)[0]?.status).toBe('running');
    expect(jobs(result)[1]?.error_msg).toMatch(
      /^not pushed: the rollout stopped after stage 1: .*still running/,
    );
    expect(failureLine(result)).toMatch(/still running/);
  });
});

describe('the failure budget (max-failures)', () => {
  // Stages end at 6, 30, 60; three jobs fail in stage 2.
  const threeFailures = () => {
    for (const i of [10, 20, 25]) fail(i);
  };

  it.each([
    ['3', 'a count'],
    ['5%', 'a percentage: 5% of 60 = 3'],
  ])('at its limit (%s, %s) the rollout goes on and the step stays green, with warnings', async (budget) => {
    threeFailures();
    const result = await run({ inputs: inputs({ rollout: '10%, 50%', 'max-failures': budget }) });
    expect(result.code, result.stdout).toBe(0);
    expect(pushedIds(emu)).toHaveLength(60);
    expect(jsonOutput(result, 'failed-server-ids')).toEqual([10, 20, 25].map((i) => id(TEST[i]!)));
    expect(jsonOutput(result, 'succeeded-server-ids')).toHaveLength(57);
    expect(warnings(result).some((w) => /3 servers .*within max-failures/.test(w))).toBe(true);
    expect(result.stdout).not.toContain('::error::');
    expect(result.summary).toMatch(
      /^## cph-publish: 57 of 60 servers succeeded \(3 failed within max-failures\)/,
    );
  });

  it.each([
    ['2', 'a count'],
    ['4%', 'a percentage: 4% of 60 = 2.4, rounded down'],
  ])('just past it (%s, %s) the rollout stops after the stage and the step fails', async (budget) => {
    threeFailures();
    const result = await run({ inputs: inputs({ rollout: '10%, 50%', 'max-failures': budget }) });
    expect(result.code).toBe(1);
    expect(pushedIds(emu)).toEqual(TEST.slice(0, 30).map(id));
    expect(jsonOutput(result, 'skipped-server-ids')).toEqual(TEST.slice(30).map(id));
    // Workflow commands escape '%' as %25.
    expect(failureLine(result).replaceAll('%25', '%')).toMatch(
      /the rollout stopped after stage 2 of 3: 3 servers rejected or failed, more than max-failures (2|4% \(2 of 60 servers\)); 30 skipped — 3 jobs failed/,
    );
    expect(jobs(result)[30]?.error_msg).toMatch(/^not pushed: the rollout stopped after stage 2: 3 /);
  });

  it('without rollout, failures within the budget keep the step green', async () => {
    fail(3);
    const result = await run({ inputs: inputs({ 'max-failures': '1' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(jobs(result).every((e) => e.stage === 1)).toBe(true);
    expect(warnings(result).some((w) => w.includes(id(TEST[3]!)))).toBe(true);
  });
});
