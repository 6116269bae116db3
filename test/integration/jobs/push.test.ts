/**
 * Pushing in batches and the CPH client in process against the emulator: what each failure
 * leaves in the results, and what the error says. test/e2e/faults.test.ts runs the same faults
 * through the bundle.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ServiceError } from '../../../src/errors.js';
import { CphClient, type CphTarget } from '../../../src/huawei/cph.js';
import { type BatchEvent, pushInBatches } from '../../../src/jobs/push.js';
import type { PushTarget } from '../../../src/model/results.js';
import {
  apigError,
  DEFAULT_BUCKET,
  DEFAULT_PROJECT_ID,
  type Emulator,
  startEmulator,
} from '../../emulator/index.js';
import { type TestContext, testContext } from '../../helpers/client-context.js';

const OBJECT = 'releases/game.tar';
let emu: Emulator;
let test: TestContext;
let target: CphTarget;

beforeAll(async () => {
  emu = await startEmulator();
  target = { endpoint: new URL(emu.url), projectId: DEFAULT_PROJECT_ID };
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(DEFAULT_BUCKET, OBJECT, Buffer.from('tar'));
  test = testContext();
});
afterEach(() => test.close());

const servers = (n: number): PushTarget[] =>
  Array.from({ length: n }, (_, i) => ({ serverId: `srv-${i + 1}`, serverName: null, stage: 1 }));

async function push(n: number, batchSize = 2, onBatch: (e: BatchEvent) => void = () => {}) {
  return pushInBatches(
    test.ctx,
    target,
    servers(n),
    { bucket: DEFAULT_BUCKET, objectPath: OBJECT, batchSize, startedStatus: 'submitted' },
    onBatch,
  );
}

describe('pushInBatches', () => {
  it('pushes batch after batch, tracking every started job with its request id', async () => {
    const events: BatchEvent[] = [];
    const outcome = await push(5, 2, (e) => events.push(e));
    expect(outcome.error).toBeUndefined();
    const pushes = emu.requestsFor('PushShareFiles');
    expect(pushes.map((p) => (p.body as { server_ids: string[] }).server_ids)).toEqual([
      ['srv-1', 'srv-2'],
      ['srv-3', 'srv-4'],
      ['srv-5'],
    ]);
    expect(outcome.requestIds).toEqual(pushes.map((p) => p.requestId));
    expect(outcome.tracked).toEqual(
      emu.cph.jobs.map((j) => ({ serverId: j.serverId, jobId: j.jobId, requestId: j.requestId })),
    );
    expect(outcome.results.map((r) => [r.server_id, r.status, r.job_id])).toEqual(
      emu.cph.jobs.map((j) => [j.serverId, 'submitted', j.jobId]),
    );
    expect(events).toEqual([
      { index: 0, of: 3, servers: 2, requestId: pushes[0]?.requestId, started: 2, rejected: 0 },
      { index: 1, of: 3, servers: 2, requestId: pushes[1]?.requestId, started: 2, rejected: 0 },
      { index: 2, of: 3, servers: 1, requestId: pushes[2]?.requestId, started: 1, rejected: 0 },
    ]);
  });

  it('a failed batch stops the rest: its servers are rejected with the code, the later ones skipped with why', async () => {
    const events: BatchEvent[] = [];
    // Batch 1 goes through (a no-op rule takes the first call), batch 2 fails for good (a push
    // is not repeated on 500), batch 3 is never sent.
    let calls = 0;
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'delay', ms: 0 } });
    emu.faults.add({ op: 'PushShareFiles', action: apigError(500, 'CPS.0000', 'Internal error.') });
    const outcome = await push(5, 2, (e) => {
      calls++;
      events.push(e);
    });
    const failed = emu.requestsFor('PushShareFiles')[1];
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(2);
    expect(outcome.error).toBeInstanceOf(ServiceError);
    expect((outcome.error as ServiceError).message).toBe(
      `CPH PushShareFiles failed: Internal error. (HTTP 500, error code CPS.0000, request id ${failed?.requestId})`,
    );
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_code, r.error_msg])).toEqual([
      ['srv-1', 'submitted', null, null],
      ['srv-2', 'submitted', null, null],
      ['srv-3', 'rejected', 'CPS.0000', (outcome.error as Error).message],
      ['srv-4', 'rejected', 'CPS.0000', (outcome.error as Error).message],
      ['srv-5', 'skipped', null, 'not pushed: batch 2 failed before it'],
    ]);
    expect(outcome.tracked.map((t) => t.serverId)).toEqual(['srv-1', 'srv-2']);
    expect(calls).toBe(2);
    expect(events[1]).toEqual({ index: 1, of: 3, servers: 2, started: 0, rejected: 2 });
  });

  it('per-server refusals and servers the answer leaves out are rejected; the rest are tracked', async () => {
    emu.phones.set('srv-2', { reject: { error_code: 'CPS.0005', error_msg: 'Phone not found.' } });
    emu.phones.set('srv-3', { omit: true });
    const outcome = await push(3, 3);
    expect(outcome.error).toBeUndefined();
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_code, r.error_msg])).toEqual([
      ['srv-1', 'submitted', null, null],
      ['srv-2', 'rejected', 'CPS.0005', 'Phone not found.'],
      ['srv-3', 'rejected', null, 'PushShareFiles returned no job for this server'],
    ]);
    expect(outcome.tracked.map((t) => t.serverId)).toEqual(['srv-1']);
  });

  it('an answer lost after CPH acted: not repeated, and the error says it may have reached CPH', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'drop-after' } });
    const outcome = await push(2, 2);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
    expect(emu.cph.pushes).toHaveLength(1);
    expect((outcome.error as Error).message).toMatch(
      /^CPH PushShareFiles failed: cannot reach 127\.0\.0\.1:\d+: other side closed \(UND_ERR_SOCKET\); the request may have reached the service, so it was not repeated$/,
    );
    expect(outcome.results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('throttled (429) pushes are repeated, with the notice naming the attempt', async () => {
    emu.faults.add({ op: 'PushShareFiles', times: 2, action: apigError(429, 'APIG.0308') });
    const outcome = await push(1, 1);
    expect(outcome.error).toBeUndefined();
    expect(emu.requestsFor('PushShareFiles').map((r) => r.status)).toEqual([429, 429, 200]);
    expect(test.logs).toEqual([
      'CPH PushShareFiles: HTTP 429; retrying in 0.5 s (attempt 2 of 5)',
      'CPH PushShareFiles: HTTP 429; retrying in 1.0 s (attempt 3 of 5)',
    ]);
    expect(test.sleeps).toEqual([500, 1000]);
  });

  it('a 200 that is not JSON: fails naming the answer and the gateway hint', async () => {
    emu.faults.add({
      op: 'PushShareFiles',
      action: {
        kind: 'status',
        status: 200,
        body: '<html>proxy</html>',
        headers: { 'x-request-id': 'r-html' },
      },
    });
    const outcome = await push(1, 1);
    const error = outcome.error as ServiceError;
    expect(error.message).toBe(
      'CPH PushShareFiles failed: the answer is not a JSON object: <html>proxy</html> (HTTP 200, request id r-html)',
    );
    expect(error.hint).toBe(
      'a proxy or gateway may be answering instead of CPH: check cph-endpoint and the proxy settings',
    );
  });

  it('reads the nested error shape {error: {code, message}} too', async () => {
    emu.faults.add({
      op: 'PushShareFiles',
      action: {
        kind: 'status',
        status: 403,
        body: JSON.stringify({ error: { code: 'CPS.0004', message: 'No permission.' } }),
        headers: { 'content-type': 'application/json', 'x-request-id': 'r-nested' },
      },
    });
    const error = (await push(1, 1)).error as ServiceError;
    expect(error).toMatchObject({
      status: 403,
      code: 'CPS.0004',
      requestId: 'r-nested',
      detail: 'No permission.',
    });
    expect(error.hint).toBe(
      "check that the IAM user has CPH permissions (for example the policy 'CPH FullAccess') in this project",
    );
  });

  it('an error answer without a JSON body: the start of the body is the message', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'status', status: 404, body: 'no such route' } });
    const error = (await push(1, 1)).error as ServiceError;
    expect(error).toMatchObject({ status: 404, code: undefined, detail: 'no such route' });
    expect(error.hint).toBe('check project-id and cph-endpoint (region)');
  });

  it('cancelled between batches: nothing more is sent, the rest are skipped', async () => {
    const run = new AbortController();
    test.ctx.signal = run.signal;
    const outcome = await push(5, 2, (e) => {
      if (e.index === 0) run.abort(new CancelledError('SIGINT'));
    });
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(CancelledError);
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_msg])).toEqual([
      ['srv-1', 'submitted', null],
      ['srv-2', 'submitted', null],
      ['srv-3', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-4', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-5', 'skipped', 'not pushed: the run was cancelled'],
    ]);
  });
});

describe('pushInBatches reading the answer', () => {
  it('an entry with neither job id nor error code, or with both, is rejected; the batch event counts them', async () => {
    emu.faults.add({
      op: 'PushShareFiles',
      action: {
        kind: 'status',
        status: 200,
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify({
          request_id: 'req-answer',
          jobs: [
            { server_id: 'srv-1', job_id: 'job-1' },
            { server_id: 'srv-2' },
            { server_id: 'srv-3', job_id: 'job-3', error_code: 'CPS.0005', error_msg: 'Phone not found.' },
          ],
        }),
      },
    });
    const events: BatchEvent[] = [];
    const outcome = await push(4, 4, (e) => events.push(e));
    expect(outcome.error).toBeUndefined();
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_code, r.error_msg])).toEqual([
      ['srv-1', 'submitted', null, null],
      ['srv-2', 'rejected', null, 'no job id'],
      ['srv-3', 'rejected', 'CPS.0005', 'Phone not found.'],
      ['srv-4', 'rejected', null, 'PushShareFiles returned no job for this server'],
    ]);
    expect(outcome.tracked.map((t) => [t.serverId, t.jobId])).toEqual([['srv-1', 'job-1']]);
    expect(events).toEqual([
      { index: 0, of: 1, servers: 4, requestId: expect.any(String), started: 1, rejected: 3 },
    ]);
  });

  it('cancelled while a throttled batch waits to be repeated: that batch and the rest are skipped, not rejected', async () => {
    const run = new AbortController();
    test.ctx.signal = run.signal;
    test.ctx.hooks = {
      ...test.ctx.hooks,
      sleep: async () => {
        run.abort(new CancelledError('SIGINT'));
      },
    };
    emu.faults.add({ op: 'PushShareFiles', action: apigError(429, 'APIG.0308') });
    const events: BatchEvent[] = [];
    const outcome = await push(3, 2, (e) => events.push(e));
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(CancelledError);
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_msg])).toEqual([
      ['srv-1', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-2', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-3', 'skipped', 'not pushed: the run was cancelled'],
    ]);
  });

  it('cancelled before the first batch: nothing is sent, no batch is reported, every server is skipped', async () => {
    const run = new AbortController();
    const reason = new CancelledError('SIGTERM');
    run.abort(reason);
    test.ctx.signal = run.signal;
    const events: BatchEvent[] = [];
    const outcome = await push(3, 2, (e) => events.push(e));
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    expect(events).toEqual([]);
    expect(outcome.error).toBe(reason);
    expect(outcome.results.map((r) => [r.server_id, r.status, r.error_msg])).toEqual([
      ['srv-1', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-2', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-3', 'skipped', 'not pushed: the run was cancelled'],
    ]);
  });
});

describe('ListJobs and ShowJob', () => {
  it('ShowJob of an unknown job fails with CPH’s code and request id', async () => {
    const error = await new CphClient(test.ctx, target).showJob('f'.repeat(32)).then(
      () => undefined,
      (e: unknown) => e as ServiceError,
    );
    const request = emu.requestsFor('ShowJob')[0];
    expect(error).toBeInstanceOf(ServiceError);
    expect(error?.message).toBe(
      `CPH ShowJob failed: Job ${'f'.repeat(32)} not found. (HTTP 404, error code CPS.0015, request id ${request?.requestId})`,
    );
  });

  it('ListJobs by request ids returns the jobs as they stand', async () => {
    const outcome = await push(2, 2);
    const jobs = await new CphClient(test.ctx, target).listJobs({
      requestIds: outcome.requestIds,
      offset: 0,
      limit: 100,
    });
    expect(jobs.map((j) => [j.job_id, j.server_id, j.status])).toEqual(
      emu.cph.jobs.map((j) => [j.jobId, j.serverId, 1]),
    );
  });

  it('a 429 whose Retry-After would end past the deadline is not waited for: the read fails at once', async () => {
    const throttled = {
      ...apigError(429, 'APIG.0308'),
      headers: { 'content-type': 'application/json', 'retry-after': '100' },
    };
    emu.faults.add({ op: 'ListJobs', times: 2, action: throttled });
    const page = { requestIds: ['r1'], offset: 0, limit: 100 };
    const error = await new CphClient(test.ctx, target)
      .listJobs(page, { deadline: Date.now() + 20_000 })
      .then(
        () => undefined,
        (e: unknown) => e as ServiceError,
      );
    expect([error?.status, error?.code]).toEqual([429, 'APIG.0308']);
    expect(test.sleeps).toEqual([]);
    expect(emu.requestsFor('ListJobs')).toHaveLength(1);
    // Without a deadline the same answer is waited for (a minute at most) and the read repeated.
    await new CphClient(test.ctx, target).listJobs(page);
    expect(test.sleeps).toEqual([60_000]);
    expect(emu.requestsFor('ListJobs')).toHaveLength(3);
  });
});

describe('DeleteShareFiles', () => {
  it('POSTs exactly {server_ids, file_paths} to share-files and returns the jobs', async () => {
    const result = await new CphClient(test.ctx, target).deleteShareFiles(
      ['srv-1', 'srv-2'],
      ['/data/local/game/old.bin', '/data/local/game/levels'],
    );
    const [sent] = emu.requestsFor('DeleteShareFiles');
    expect(result.requestId).toBe(sent?.requestId);
    expect(result.jobs.map((j) => [j.server_id, typeof j.job_id, j.error_code ?? null])).toEqual([
      ['srv-1', 'string', null],
      ['srv-2', 'string', null],
    ]);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    expect([sent?.method, sent?.path, sent?.authOk]).toEqual([
      'POST',
      `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`,
      true,
    ]);
    expect(sent?.body).toEqual({
      server_ids: ['srv-1', 'srv-2'],
      file_paths: ['/data/local/game/old.bin', '/data/local/game/levels'],
    });
    expect(Object.keys(sent?.body as object)).toEqual(['server_ids', 'file_paths']);
  });

  it('is repeated after a 429 like a push, but never after a 500 (it may have acted)', async () => {
    emu.faults.add({ op: 'DeleteShareFiles', action: apigError(429, 'APIG.0308') });
    const client = new CphClient(test.ctx, target);
    await client.deleteShareFiles(['srv-1'], ['/data/a']);
    expect(emu.requestsFor('DeleteShareFiles')).toHaveLength(2);

    emu.faults.add({ op: 'DeleteShareFiles', action: apigError(500, 'CPS.0000', 'Internal error.') });
    const error = await client.deleteShareFiles(['srv-1'], ['/data/a']).then(
      () => undefined,
      (e: unknown) => e as ServiceError,
    );
    expect([error?.operation, error?.status]).toEqual(['DeleteShareFiles', 500]);
    expect(emu.requestsFor('DeleteShareFiles')).toHaveLength(3);
  });
});
