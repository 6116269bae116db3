import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apigError, type Emulator, startEmulator } from '../emulator/index.js';
import {
  BUCKET,
  baseInputs,
  DEFAULT_PROJECT_ID,
  failureLine,
  jobsOutput,
  OBJECT,
  run,
  serverIds,
  TEMP_CREDENTIALS,
} from '../helpers/action-fixture.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 200, credentials: undefined });
});
afterAll(async () => emu.close());
beforeEach(async () => {
  emu.reset();
  await emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

describe('push and wait', () => {
  it('pushes to every server, waits for the jobs and reports success', async () => {
    const result = await run({ inputs: baseInputs(emu) });
    expect(result.code, result.stdout).toBe(0);
    const jobs = jobsOutput(result);
    expect(jobs.map((j) => j.server_id)).toEqual(['srv-0001', 'srv-0002', 'srv-0003']);
    expect(jobs.every((j) => j.status === 'succeeded' && j.job_id && j.error_code === null)).toBe(true);
    expect(JSON.parse(result.outputs['job-ids'] ?? '')).toEqual(jobs.map((j) => j.job_id));
    expect(JSON.parse(result.outputs['succeeded-server-ids'] ?? '')).toEqual([
      'srv-0001',
      'srv-0002',
      'srv-0003',
    ]);
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual([]);
    expect(result.outputs['project-id']).toBe(DEFAULT_PROJECT_ID);
    expect(result.outputs['object-url']).toBe(`obs://${BUCKET}/${OBJECT}`);
    expect(result.outputs.uploaded).toBe('false');
    const pushes = emu.requests.filter((r) => r.op === 'PushShareFiles');
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.body).toEqual({
      bucket_name: BUCKET,
      object_path: OBJECT,
      server_ids: ['srv-0001', 'srv-0002', 'srv-0003'],
    });
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toEqual([pushes[0]?.requestId]);
    expect(emu.requests.some((r) => r.op === 'ListProjects')).toBe(false);
    expect(emu.requests.every((r) => r.authOk)).toBe(true);
    expect(result.stdout).toMatch(/::group::Push/);
    expect(result.stdout).toMatch(/::group::Wait/);
    expect(result.stdout).toMatch(/Jobs: 3 succeeded, 0 failed, 0 running \(of 3\)/);
    expect(result.summary).toContain('all 3 servers succeeded');
    expect(result.summary).toContain('refs/tags/v1.2.3');
    expect(result.summary).toContain('0123456789abcdef0123456789abcdef01234567');
    expect(result.summary).toContain('<td>srv-0002</td>');
  });

  it('splits 250 servers into three PushShareFiles calls of at most 100', async () => {
    const ids = serverIds(250);
    const result = await run({ inputs: baseInputs(emu, { 'server-ids': ids.join('\n') }) });
    expect(result.code, result.stdout).toBe(0);
    const pushes = emu.requests.filter((r) => r.op === 'PushShareFiles');
    expect(pushes.map((p) => (p.body as { server_ids: string[] }).server_ids.length)).toEqual([100, 100, 50]);
    expect(pushes.flatMap((p) => (p.body as { server_ids: string[] }).server_ids)).toEqual(ids);
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toHaveLength(3);
    expect(JSON.parse(result.outputs['succeeded-server-ids'] ?? '')).toEqual(ids);
    expect(emu.requests.some((r) => r.deleteShareFilesHazard)).toBe(false);
  });

  it('honours batch-size', async () => {
    const result = await run({
      inputs: baseInputs(emu, { 'server-ids': serverIds(5).join(' '), 'batch-size': '2' }),
    });
    expect(result.code, result.stdout).toBe(0);
    const sizes = emu.requests
      .filter((r) => r.op === 'PushShareFiles')
      .map((p) => (p.body as { server_ids: string[] }).server_ids.length);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('marks servers with an error_code or without a job entry as rejected and fails the step', async () => {
    emu.phones.set('srv-0002', { reject: { error_code: 'CPS.0005', error_msg: 'Phone not found.' } });
    emu.phones.set('srv-0003', { omit: true });
    const result = await run({ inputs: baseInputs(emu) });
    expect(result.code).not.toBe(0);
    const jobs = jobsOutput(result);
    expect(jobs[0]?.status).toBe('succeeded');
    expect(jobs[1]).toMatchObject({
      server_id: 'srv-0002',
      status: 'rejected',
      job_id: null,
      error_code: 'CPS.0005',
      error_msg: 'Phone not found.',
    });
    expect(jobs[2]).toMatchObject({ server_id: 'srv-0003', status: 'rejected', job_id: null });
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual(['srv-0002', 'srv-0003']);
    expect(failureLine(result)).toMatch(/2 servers were rejected/);
    expect(failureLine(result)).toContain('CPS.0005');
    expect(result.summary).toContain('Phone not found.');
  });

  it('retries a throttled push and succeeds', async () => {
    emu.faults.add({
      op: 'PushShareFiles',
      times: 2,
      action: apigError(429, 'APIG.0308', 'Too many requests'),
    });
    const result = await run({ inputs: baseInputs(emu) });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests.filter((r) => r.op === 'PushShareFiles').map((r) => r.status)).toEqual([
      429, 429, 200,
    ]);
    expect(result.stdout).toMatch(/PushShareFiles: HTTP 429; retrying/);
  });

  it('stops pushing after a batch fails for good: its servers rejected, later batches skipped, started jobs followed', async () => {
    const ids = serverIds(250);
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'delay', ms: 1 } });
    emu.faults.add({ op: 'PushShareFiles', action: apigError(400, 'CPS.0001', 'Invalid parameter') });
    const result = await run({ inputs: baseInputs(emu, { 'server-ids': ids.join(',') }) });
    expect(result.code).not.toBe(0);
    expect(emu.requests.filter((r) => r.op === 'PushShareFiles')).toHaveLength(2);
    const jobs = jobsOutput(result);
    expect(jobs).toHaveLength(250);
    expect(jobs.slice(0, 100).every((j) => j.status === 'succeeded')).toBe(true);
    expect(jobs.slice(100, 200).every((j) => j.status === 'rejected' && j.error_code === 'CPS.0001')).toBe(
      true,
    );
    expect(
      jobs
        .slice(200)
        .every((j) => j.status === 'skipped' && /not pushed: batch 2 failed/.test(j.error_msg ?? '')),
    ).toBe(true);
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toHaveLength(1);
    expect(failureLine(result)).toMatch(
      /PushShareFiles failed: Invalid parameter \(HTTP 400, error code CPS\.0001, request id \S+\)/,
    );
  });

  it('looks up the project id with temporary credentials from HUAWEI_CLOUD_* variables and signs the token', async () => {
    const inputs = baseInputs(emu);
    for (const name of ['region', 'project-id', 'access-key-id', 'secret-access-key']) delete inputs[name];
    const result = await run({
      inputs,
      env: {
        HUAWEI_CLOUD_REGION: 'cn-east-3',
        HUAWEI_CLOUD_ACCESS_KEY_ID: TEMP_CREDENTIALS.accessKeyId,
        HUAWEI_CLOUD_SECRET_ACCESS_KEY: TEMP_CREDENTIALS.secretAccessKey,
        HUAWEI_CLOUD_SECURITY_TOKEN: TEMP_CREDENTIALS.securityToken,
      },
    });
    expect(result.code, result.stdout).toBe(0);
    expect(result.outputs['project-id']).toBe(DEFAULT_PROJECT_ID);
    const lookups = emu.requests.filter((r) => r.op === 'ListProjects');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.query.name).toBe('cn-east-3');
    for (const r of emu.requests) {
      expect(r.authOk).toBe(true);
      if (r.op === 'HeadObject') {
        expect(r.headers['x-obs-security-token']).toBe(TEMP_CREDENTIALS.securityToken);
        continue;
      }
      expect(r.headers['x-security-token']).toBe(TEMP_CREDENTIALS.securityToken);
      expect(r.headers.authorization).toMatch(/SignedHeaders=[^,]*x-security-token/);
    }
    expect(emu.requests.map((r) => r.op)).toContain('HeadObject');
  });

  it('with wait: false reports submitted jobs and never polls', async () => {
    const result = await run({ inputs: baseInputs(emu, { wait: 'false' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['submitted', 'submitted', 'submitted']);
    expect(emu.requests.filter((r) => r.op === 'ListJobs' || r.op === 'ShowJob')).toHaveLength(0);
  });

  it('fails with the job error when a job fails, and still reports every server', async () => {
    emu.phones.set('srv-0003', {
      outcome: 'failure',
      failure: {
        error_code: 'CPS.0203',
        error_msg: 'Failed to push file',
        execute_msg: 'share storage not supported',
      },
    });
    const result = await run({ inputs: baseInputs(emu) });
    expect(result.code).not.toBe(0);
    const jobs = jobsOutput(result);
    expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(jobs[2]?.error_code).toBe('CPS.0203');
    expect(jobs[2]?.error_msg).toContain('share storage not supported');
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual(['srv-0003']);
    expect(failureLine(result)).toMatch(/1 job failed \(srv-0003 CPS\.0203/);
    expect(failureLine(result)).toMatch(/shared storage/);
    expect(result.summary).toContain('Failed to push file');
  });

  it('fails near wait-timeout when jobs never end, reporting them as running', async () => {
    emu.phones.set('srv-0001', { outcome: 'stuck' });
    const result = await run({ inputs: baseInputs(emu, { 'wait-timeout': '3' }) });
    expect(result.code).not.toBe(0);
    // It stopped at the deadline: a poll a second for 3 s is at most 3 rounds (no wall-clock bound).
    expect(emu.requestsFor('ListJobs').length).toBeGreaterThanOrEqual(1);
    expect(emu.requestsFor('ListJobs').length).toBeLessThanOrEqual(3);
    const jobs = jobsOutput(result);
    expect(jobs.map((j) => j.status)).toEqual(['running', 'succeeded', 'succeeded']);
    expect(failureLine(result)).toMatch(
      /1 of 3 jobs still running after wait-timeout 3 s \(servers srv-0001\)/,
    );
  });

  it('never retries a 401 and names the credentials and clock', async () => {
    const result = await run({
      inputs: baseInputs(emu, { 'secret-access-key': 'not-the-right-secret-key' }),
    });
    expect(result.code).not.toBe(0);
    expect(emu.requests.filter((r) => r.op === 'PushShareFiles')).toHaveLength(1);
    const line = failureLine(result);
    expect(line).toMatch(/APIG\.0301/);
    expect(line).toMatch(/request id \S+/);
    expect(line).toMatch(/clock/);
    expect(result.everything).not.toContain('not-the-right-secret-key');
  });

  it('dry run sends nothing and prints the plan', async () => {
    const result = await run({ inputs: baseInputs(emu, { 'dry-run': 'true', 'project-id': '' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['planned', 'planned', 'planned']);
    expect(result.stdout).toMatch(/Would push to 3 servers given by id in 1 PushShareFiles call/);
    expect(result.summary).toContain('dry run');
  });
});

describe('bad input', () => {
  it.each([
    ['bucket', { bucket: 'Bad_Bucket' }],
    ['object-path', { 'object-path': '/abs/app.tar' }],
    ['batch-size', { 'batch-size': '101' }],
    ['cph-endpoint', { 'cph-endpoint': 'http://example.com' }],
    ['strict-layout', { 'strict-layout': 'yes' }],
    ['server-ids', { 'server-ids': 'ok-1,bad id!' }],
  ])('refuses a bad %s before any request', async (input, extra) => {
    const result = await run({ inputs: baseInputs(emu, extra) });
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toContain(`input '${input}'`);
    expect(emu.requests).toHaveLength(0);
  });

  it('names both inputs and the environment variables when the SK is missing', async () => {
    const result = await run({ inputs: baseInputs(emu, { 'secret-access-key': '' }) });
    expect(result.code).not.toBe(0);
    const line = failureLine(result);
    expect(line).toContain('secret-access-key');
    expect(line).toContain('HUAWEI_CLOUD_SECRET_ACCESS_KEY');
    expect(line).toContain('HUAWEICLOUD_SDK_SK');
    expect(emu.requests).toHaveLength(0);
    // Outputs stay valid JSON for `fromJSON` in an `if: always()` step.
    expect(result.outputs.jobs).toBe('[]');
    expect(result.outputs['failed-server-ids']).toBe('[]');
    expect(result.outputs.uploaded).toBe('false');
  });
});

describe("the runner's files", () => {
  it('a GITHUB_OUTPUT that cannot be written is one error line naming it, not a stack trace', async () => {
    // A directory: the toolkit's file command throws EISDIR when it appends an output.
    const result = await run({
      inputs: baseInputs(emu, { 'dry-run': 'true' }),
      env: { GITHUB_OUTPUT: tmpdir() },
    });
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
      expect.stringMatching(
        /^::error::cph-publish: could not write the step outputs to GITHUB_OUTPUT \(.+\): .*EISDIR.* — it must name a file/,
      ),
    ]);
    expect(result.stderr).not.toMatch(/^ {4}at /m);
  });

  it('a GITHUB_OUTPUT naming a file that does not exist is the same one line', async () => {
    const missing = path.join(tmpdir(), `cph-publish-no-such-dir-${process.pid}`, 'output');
    const result = await run({
      inputs: baseInputs(emu, { 'dry-run': 'true' }),
      env: { GITHUB_OUTPUT: missing },
    });
    expect(result.code).toBe(1);
    expect(failureLine(result)).toContain(`could not write the step outputs to GITHUB_OUTPUT (${missing})`);
    expect(result.stderr).not.toMatch(/^ {4}at /m);
  });
});

describe('unexpected errors', () => {
  it('with RUNNER_DEBUG, the stack of a failure points at src/ files and lines, through dist/index.js.map', async () => {
    const result = await run({
      inputs: baseInputs(emu, { 'secret-access-key': 'not-the-right-secret-key-0123456789' }),
      env: { RUNNER_DEBUG: '1' },
    });
    expect(result.code).toBe(1);
    const debug = result.stdout.split('\n').filter((l) => l.startsWith('::debug::'));
    const stack = debug.find((l) => l.includes('%0A    at '));
    expect(stack).toBeDefined();
    expect(stack).toMatch(/%0A {4}at (async )?\S+ \(src\/\S+\.ts:\d+:\d+\)/);
    expect(stack).not.toContain('dist/index.js:');
  });
});
