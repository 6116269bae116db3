import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, jobsOutput, OBJECT, run, serverIds } from '../helpers/action-fixture.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 1500 });
});
afterAll(async () => emu.close());
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

describe('waiting for the jobs', () => {
  it('lists the jobs of 250 servers by request id, 100 a page, and never asks ShowJob', async () => {
    const result = await run({ inputs: baseInputs(emu, { 'server-ids': serverIds(250).join(',') }) });
    expect(result.code, result.stdout).toBe(0);
    const lists = emu.requestsFor('ListJobs');
    expect(lists.length).toBeGreaterThan(0);
    // Every call carries all three request ids and pages through 250 jobs at 100 a page.
    const requestIds = JSON.parse(result.outputs['request-ids'] ?? '[]') as string[];
    for (const call of lists) {
      expect(call.query.request_ids?.split(',').sort()).toEqual([...requestIds].sort());
      expect(call.query.limit).toBe('100');
    }
    expect(
      lists
        .slice(0, 3)
        .map((c) => c.query.offset)
        .sort(),
    ).toEqual(['0', '100', '200']);
    expect(emu.requestsFor('ShowJob')).toHaveLength(0);
    expect(JSON.parse(result.outputs['succeeded-server-ids'] ?? '[]')).toHaveLength(250);
  });

  it('looks up a job missing from the lists with ShowJob', async () => {
    emu.phones.set('srv-0002', { hiddenFromList: true });
    const result = await run({ inputs: baseInputs(emu) });
    expect(result.code, result.stdout).toBe(0);
    const shows = emu.requestsFor('ShowJob');
    expect(shows.length).toBeGreaterThan(0);
    const hiddenJob = jobsOutput(result)[1]?.job_id;
    expect(shows.every((r) => r.path.endsWith(`/jobs/${hiddenJob}`))).toBe(true);
    expect(jobsOutput(result)[1]?.status).toBe('succeeded');
  });

  it('treats an undocumented status as running, with one warning', async () => {
    // Jobs end when the test moves their clock on: once the action has seen status 3.
    emu.jobClock.freeze();
    emu.phones.set('srv-0001', { runningStatus: 3, durationMs: 2500 });
    const result = await run({
      inputs: baseInputs(emu),
      onLine: (line) => {
        if (line.startsWith('::warning::') && line.includes('status 3')) emu.jobClock.advance(2500);
      },
    });
    expect(result.code, result.stdout).toBe(0);
    const warnings = result.stdout
      .split(/\r?\n/)
      .filter((l) => l.startsWith('::warning::') && l.includes('status 3'));
    expect(warnings).toHaveLength(1);
    expect(jobsOutput(result)[0]?.status).toBe('succeeded');
  });

  it('logs the counts on every change', async () => {
    // Two jobs end after the first count, the third after the second: events, not timing.
    emu.jobClock.freeze();
    emu.phones.set('srv-0003', { durationMs: 3500 });
    const result = await run({
      inputs: baseInputs(emu),
      onLine: (line) => {
        if (line.startsWith('Jobs: 0 succeeded, 0 failed, 3 running')) emu.jobClock.advance(1500);
        if (line.startsWith('Jobs: 2 succeeded, 0 failed, 1 running')) emu.jobClock.advance(2000);
      },
    });
    expect(result.code, result.stdout).toBe(0);
    const lines = result.stdout.split(/\r?\n/).filter((l) => l.startsWith('Jobs: '));
    expect(lines[0]).toMatch(/^Jobs: 0 succeeded, 0 failed, 3 running \(of 3\)/);
    expect(lines.some((l) => l.startsWith('Jobs: 2 succeeded, 0 failed, 1 running (of 3)'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^Jobs: 3 succeeded, 0 failed, 0 running \(of 3\)/);
    // No line repeats the previous counts within 30 s.
    const counts = lines.map((l) => l.replace(/ after \d+ s$/, ''));
    expect(counts.filter((c, i) => i > 0 && c === counts[i - 1])).toHaveLength(0);
  });
});
