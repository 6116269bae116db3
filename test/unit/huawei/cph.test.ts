/**
 * CphClient over a scripted dispatcher (no socket): the exact requests each call makes (URL,
 * query, body, signature), how each answer is read, and every malformed answer it refuses.
 * The same calls against the emulator are in test/integration/huawei/cph.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { CphClient } from '../../../src/huawei/cph.js';
import { signApigRequest } from '../../../src/huawei/sign-apig.js';
import { FAKE_KEYS, type FakeStep, fakeContext, jsonAnswer } from '../../helpers/fake-dispatcher.js';
import { rejectionOf } from '../../helpers/rejection.js';

const PROJECT = '0123456789abcdef0123456789abcdef';
const ENDPOINT = 'https://cph.example.com';
const ANSWER_HINT =
  'a proxy or gateway may be answering instead of CPH: check cph-endpoint and the proxy settings';
const NOW = new Date('2026-01-02T03:04:05Z');

function client(steps: FakeStep[], retry = {}) {
  const context = fakeContext(steps, { retry });
  return { ...context, cph: new CphClient(context.ctx, { endpoint: new URL(ENDPOINT), projectId: PROJECT }) };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

describe('PushShareFiles and DeleteShareFiles', () => {
  it('a push: one signed POST with exactly bucket_name, object_path and server_ids', async () => {
    const { cph, fake } = client([
      jsonAnswer(200, {
        request_id: 'rq-1',
        jobs: [
          { server_id: 's-1', job_id: 'j-1' },
          { server_id: 's-2', error_code: 'CPS.0005', error_msg: 'Phone not found.' },
        ],
      }),
    ]);
    const result = await cph.pushShareFiles({
      bucket: 'b',
      objectPath: 'rel/app.tar',
      serverIds: ['s-1', 's-2'],
    });
    expect(result).toEqual({
      requestId: 'rq-1',
      jobs: [
        { server_id: 's-1', job_id: 'j-1', error_code: null, error_msg: null },
        { server_id: 's-2', job_id: null, error_code: 'CPS.0005', error_msg: 'Phone not found.' },
      ],
    });
    const [sent] = fake.requests;
    expect([sent?.method, sent?.origin, sent?.path]).toEqual([
      'POST',
      ENDPOINT,
      `/v1/${PROJECT}/cloud-phone/phones/share-files`,
    ]);
    expect(sent?.body).toBe('{"bucket_name":"b","object_path":"rel/app.tar","server_ids":["s-1","s-2"]}');
    const url = new URL(`${ENDPOINT}/v1/${PROJECT}/cloud-phone/phones/share-files`);
    const expected = signApigRequest(
      { method: 'POST', url, headers: { 'Content-Type': 'application/json' }, body: sent?.body },
      FAKE_KEYS,
      NOW,
    );
    expect(sent?.headers).toEqual({
      'User-Agent': 'cph-publish/unit',
      'Content-Type': 'application/json',
      ...expected,
    });
  });

  it('a delete: exactly server_ids and file_paths, to the same address', async () => {
    const { cph, fake } = client([
      jsonAnswer(200, { request_id: 'rq-2', jobs: [{ server_id: 's-1', job_id: 'j-9' }] }),
    ]);
    const result = await cph.deleteShareFiles(['s-1'], ['/data/a', '/cache/b']);
    expect(result).toEqual({
      requestId: 'rq-2',
      jobs: [{ server_id: 's-1', job_id: 'j-9', error_code: null, error_msg: null }],
    });
    expect([fake.requests[0]?.path, fake.requests[0]?.body]).toEqual([
      `/v1/${PROJECT}/cloud-phone/phones/share-files`,
      '{"server_ids":["s-1"],"file_paths":["/data/a","/cache/b"]}',
    ]);
  });

  it('entries that are not objects or have no string server_id are dropped; empty texts read null', async () => {
    const { cph } = client([
      jsonAnswer(200, {
        request_id: 'rq-3',
        jobs: [
          null,
          'x',
          7,
          { job_id: 'j-0' },
          { server_id: 5 },
          { server_id: 's-1', job_id: '', error_code: '', error_msg: 3 },
        ],
      }),
    ]);
    const result = await cph.pushShareFiles({ bucket: 'b', objectPath: 'o', serverIds: ['s-1'] });
    expect(result.jobs).toEqual([{ server_id: 's-1', job_id: null, error_code: null, error_msg: null }]);
  });

  it('the request id may come from the X-Request-Id header', async () => {
    const { cph } = client([jsonAnswer(200, { jobs: [] }, 'hdr-1')]);
    expect((await cph.pushShareFiles({ bucket: 'b', objectPath: 'o', serverIds: ['s'] })).requestId).toBe(
      'hdr-1',
    );
  });

  it.each([
    ['no request_id', jsonAnswer(200, { jobs: [] }), 'unexpected answer: no request_id', undefined],
    [
      'no jobs array',
      jsonAnswer(200, { request_id: 'rq', jobs: {} }),
      'unexpected answer: no jobs array',
      'rq',
    ],
    ['not a JSON object', { status: 200, body: '[]' }, 'the answer is not a JSON object: []', undefined],
  ])('an answer with %s fails, pointing at a proxy', async (_, answer, detail, requestId) => {
    const { cph, fake } = client([answer]);
    const error = await failure(cph.pushShareFiles({ bucket: 'b', objectPath: 'o', serverIds: ['s'] }));
    expect([error.operation, error.detail, error.requestId, error.hint]).toEqual([
      'PushShareFiles',
      detail,
      requestId,
      ANSWER_HINT,
    ]);
    expect(fake.requests).toHaveLength(1);
  });

  it('a malformed delete answer names DeleteShareFiles', async () => {
    const { cph } = client([jsonAnswer(200, { request_id: 'rq' })]);
    const error = await failure(cph.deleteShareFiles(['s'], ['/data/a']));
    expect(error.message).toBe(
      'CPH DeleteShareFiles failed: unexpected answer: no jobs array (request id rq)',
    );
  });

  it('a 500 is not repeated (the push may have happened); a 429 is', async () => {
    const { cph, fake } = client([jsonAnswer(500, { error_code: 'CPS.9999', error_msg: 'x' })]);
    const error = await failure(cph.pushShareFiles({ bucket: 'b', objectPath: 'o', serverIds: ['s'] }));
    expect([error.status, error.code]).toEqual([500, 'CPS.9999']);
    expect(fake.requests).toHaveLength(1);
    const throttled = client([
      jsonAnswer(429, { error_code: 'APIG.0308', error_msg: 'slow down' }),
      jsonAnswer(200, { request_id: 'rq', jobs: [] }),
    ]);
    await throttled.cph.deleteShareFiles(['s'], ['/data/a']);
    expect(throttled.fake.requests).toHaveLength(2);
  });

  it('a push in flight is finished when the run is cancelled, and its job ids kept', async () => {
    const run = new AbortController();
    const context = fakeContext(
      [
        () => {
          run.abort(new Error('cancelled'));
          return jsonAnswer(200, { request_id: 'rq', jobs: [{ server_id: 's', job_id: 'j' }] });
        },
      ],
      { signal: run.signal },
    );
    const cph = new CphClient(context.ctx, { endpoint: new URL(ENDPOINT), projectId: PROJECT });
    const result = await cph.pushShareFiles({ bucket: 'b', objectPath: 'o', serverIds: ['s'] });
    expect(result.jobs[0]?.job_id).toBe('j');
    expect(context.fake.requests[0]?.signal?.aborted).toBe(false);
  });
});

describe('ListJobs and ShowJob', () => {
  const job = {
    job_id: 'j-1',
    server_id: 's-1',
    status: 2,
    error_code: 'CPS.0203',
    error_msg: 'failed',
    execute_msg: 'done',
  };

  it('ListJobs: the request ids, offset and limit in the query; every entry read', async () => {
    const { cph, fake } = client([
      jsonAnswer(200, {
        jobs: [
          job,
          { job_id: 'j-2', status: '1' },
          { job_id: 'j-3', status: 'running' },
          { job_id: 'j-4', status: 'Infinity' },
        ],
      }),
    ]);
    const jobs = await cph.listJobs({ requestIds: ['r1', 'r2'], offset: 100, limit: 50 });
    expect(jobs).toEqual([
      job,
      { job_id: 'j-2', server_id: null, status: 1, error_code: null, error_msg: null, execute_msg: null },
      {
        job_id: 'j-3',
        server_id: null,
        status: Number.NaN,
        error_code: null,
        error_msg: null,
        execute_msg: null,
      },
      {
        job_id: 'j-4',
        server_id: null,
        status: Number.NaN,
        error_code: null,
        error_msg: null,
        execute_msg: null,
      },
    ]);
    expect([fake.requests[0]?.method, fake.requests[0]?.path, fake.requests[0]?.body]).toEqual([
      'GET',
      `/v1/${PROJECT}/cloud-phone/jobs?request_ids=r1%2Cr2&offset=100&limit=50`,
      undefined,
    ]);
    expect(fake.requests[0]?.headers['Content-Type']).toBeUndefined();
  });

  it.each([
    ['no jobs array', { jobs: 'none' }, 'unexpected answer: no jobs array'],
    ['an entry that is not an object', { jobs: [job, null] }, 'unexpected answer: jobs[1] has no job_id'],
    ['an empty job_id', { jobs: [{ job_id: '' }] }, 'unexpected answer: jobs[0] has no job_id'],
    ['a numeric job_id', { jobs: [{ job_id: 5 }] }, 'unexpected answer: jobs[0] has no job_id'],
  ])('ListJobs: %s fails with the request id', async (_, data, detail) => {
    const { cph } = client([jsonAnswer(200, data, 'rq-l')]);
    const error = await failure(cph.listJobs({ requestIds: ['r'], offset: 0, limit: 100 }));
    expect([error.operation, error.detail, error.requestId, error.hint]).toEqual([
      'ListJobs',
      detail,
      'rq-l',
      ANSWER_HINT,
    ]);
  });

  it('ShowJob: the job id encoded in the path; the job read', async () => {
    const { cph, fake } = client([jsonAnswer(200, { ...job, status: ' 3 ' })]);
    expect(await cph.showJob('j/1 x')).toEqual({ ...job, status: 3 });
    expect(fake.requests[0]?.path).toBe(`/v1/${PROJECT}/cloud-phone/jobs/j%2F1%20x`);
  });

  it.each([
    ['ListJobs', (c: CphClient) => c.listJobs({ requestIds: ['r'], offset: 0, limit: 1 })],
    ['ShowJob', (c: CphClient) => c.showJob('j')],
  ])('%s: a GET retried on a 500, named when it fails', async (operation, run) => {
    const { cph, fake, logs } = client([
      jsonAnswer(500, {}),
      jsonAnswer(400, { error_code: 'CPS.0001', error_msg: 'bad' }),
    ]);
    const error = await failure(run(cph));
    expect(error.message).toBe(`CPH ${operation} failed: bad (HTTP 400, error code CPS.0001)`);
    expect(logs).toEqual([`CPH ${operation}: HTTP 500; retrying in 0.5 s (attempt 2 of 5)`]);
    expect(fake.requests.map((r) => [r.method, r.body])).toEqual([
      ['GET', undefined],
      ['GET', undefined],
    ]);
  });

  it('ShowJob: an answer without job_id fails', async () => {
    const { cph } = client([jsonAnswer(200, { status: 1 }, 'rq-s')]);
    const error = await failure(cph.showJob('j'));
    expect(error.message).toBe('CPH ShowJob failed: unexpected answer: no job_id (request id rq-s)');
  });

  it('reads are retried on a 500, but no wait runs past the deadline', async () => {
    const { cph, fake } = client([jsonAnswer(500, {}), jsonAnswer(200, { jobs: [] })]);
    expect(await cph.listJobs({ requestIds: ['r'], offset: 0, limit: 1 })).toEqual([]);
    expect(fake.requests).toHaveLength(2);
    const late = client([jsonAnswer(500, {}), jsonAnswer(200, job)]);
    expect((await failure(late.cph.showJob('j', { deadline: Date.now() - 1 }))).status).toBe(500);
    expect(late.fake.requests).toHaveLength(1);
    const lateList = client([jsonAnswer(500, {}), jsonAnswer(200, { jobs: [] })]);
    expect(
      (
        await failure(
          lateList.cph.listJobs({ requestIds: ['r'], offset: 0, limit: 1 }, { deadline: Date.now() - 1 }),
        )
      ).status,
    ).toBe(500);
    expect(lateList.fake.requests).toHaveLength(1);
  });
});

const server = (i: number, extra: Record<string, unknown> = {}) => ({
  server_id: `s-${i}`,
  server_name: `n-${i}`,
  status: 5,
  phone_model_name: 'cph.m1',
  ...extra,
});

describe('ListCloudPhoneServers', () => {
  it('pages of 100 by offset until count; each server read', async () => {
    const all = Array.from({ length: 150 }, (_, i) => server(i));
    const { cph, fake } = client([
      jsonAnswer(200, { count: 150, servers: all.slice(0, 100) }),
      jsonAnswer(200, { count: 150, servers: all.slice(100) }),
    ]);
    const servers = await cph.listServers();
    expect(servers).toHaveLength(150);
    expect(servers[149]).toEqual({ id: 's-149', name: 'n-149', status: 5, phoneModel: 'cph.m1' });
    expect(fake.requests.map((r) => r.path)).toEqual([
      `/v1/${PROJECT}/cloud-phone/servers?offset=0&limit=100`,
      `/v1/${PROJECT}/cloud-phone/servers?offset=100&limit=100`,
    ]);
  });

  it('a server without name or model reads empty text; a status as text is read as a number', async () => {
    const { cph } = client([
      jsonAnswer(200, {
        count: 3,
        servers: [
          { server_id: 'a', status: '5' },
          { server_id: 'b', server_name: 7, phone_model_name: null, status: 'x' },
          { server_id: 'c', server_name: 'c', phone_model_name: 'm', status: 2 },
        ],
      }),
    ]);
    expect(await cph.listServers()).toEqual([
      { id: 'a', name: '', status: 5, phoneModel: '' },
      { id: 'b', name: '', status: Number.NaN, phoneModel: '' },
      { id: 'c', name: 'c', status: 2, phoneModel: 'm' },
    ]);
  });

  it.each([
    ['no servers array', { count: 1 }, 'unexpected answer: no servers array'],
    ['no count', { servers: [] }, 'unexpected answer: no count'],
    ['a count as text', { servers: [], count: '0' }, 'unexpected answer: no count'],
    [
      'an entry that is not an object',
      { servers: [server(0), 'x'], count: 2 },
      'unexpected answer: servers[1] has no server_id',
    ],
    [
      'an empty server_id',
      { servers: [server(0, { server_id: '' })], count: 1 },
      'unexpected answer: servers[0] has no server_id',
    ],
  ])('%s fails with the request id', async (_, data, detail) => {
    const { cph, fake } = client([jsonAnswer(200, data, 'rq-p')]);
    const error = await failure(cph.listServers());
    expect([error.operation, error.detail, error.requestId, error.hint]).toEqual([
      'ListCloudPhoneServers',
      detail,
      'rq-p',
      ANSWER_HINT,
    ]);
    expect(fake.requests).toHaveLength(1);
  });

  it('a page short on every attempt fails as a CPH list, with a notice per retry', async () => {
    const short = jsonAnswer(200, { count: 5, servers: [server(0)] }, 'rq-short');
    const { cph, logs, fake } = client([short, short], { maxAttempts: 2 });
    const error = await failure(cph.listServers());
    expect([error.service, error.operation, error.detail, error.hint]).toEqual([
      'CPH',
      'ListCloudPhoneServers',
      'the list came back short: 1 of 5 servers collected, the page at offset 0 had 1',
      'CPH listed fewer servers than its count; run again later (the action does not act on part of a list)',
    ]);
    expect(logs).toEqual([
      'CPH ListCloudPhoneServers: CPH ListCloudPhoneServers failed: the list came back short: 1 of 5 servers collected, the page at offset 0 had 1 (request id rq-short); retrying in 0.5 s (attempt 2 of 2)',
    ]);
    expect(fake.requests).toHaveLength(2);
  });

  it('a bad entry on a later page is named by its place in the whole list', async () => {
    const { cph } = client([
      jsonAnswer(200, { count: 102, servers: Array.from({ length: 100 }, (_, i) => server(i)) }),
      jsonAnswer(200, { count: 102, servers: [server(100), {}] }),
    ]);
    expect((await failure(cph.listServers())).detail).toBe(
      'unexpected answer: servers[101] has no server_id',
    );
  });

  it('a page whose read fails with a 500 is read again (lists are reads)', async () => {
    const { cph, fake } = client([jsonAnswer(500, {}), jsonAnswer(200, { count: 1, servers: [server(0)] })]);
    expect((await cph.listServers()).map((s) => s.id)).toEqual(['s-0']);
    const models = client([jsonAnswer(502, {}), jsonAnswer(200, { phone_models: [] })]);
    expect(await models.cph.listPhoneModels()).toEqual([]);
    expect([fake.requests.length, models.fake.requests.length]).toEqual([2, 2]);
  });

  it('a 403 names the permission and preflight: false; other failures are left as they are', async () => {
    const { cph } = client([
      jsonAnswer(403, { error_code: 'CPS.0004', error_msg: 'Forbidden.', request_id: 'r403' }),
    ]);
    const error = await failure(cph.listServers());
    expect([error.service, error.operation, error.status, error.code, error.requestId, error.detail]).toEqual(
      ['CPH', 'ListCloudPhoneServers', 403, 'CPS.0004', 'r403', 'Forbidden.'],
    );
    expect(error.hint).toBe(
      'the credentials may not list this (IAM action cph:servers:list): grant it, or set preflight: false to push without checking the servers',
    );
    expect(error.cause).toBeInstanceOf(ServiceError);
    const other = client([jsonAnswer(404, { error_code: 'CPS.0404', error_msg: 'nope' })]);
    const notFound = await failure(other.cph.listServers());
    expect(notFound.hint).toBe('check project-id and cph-endpoint (region)');
    expect(notFound.cause).toBeUndefined();
  });
});

describe('ListCloudPhoneModels', () => {
  it('pages while full (no count), each model read', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ phone_model_name: `m${i}`, extend_spec: '{}' }));
    const { cph, fake } = client([
      jsonAnswer(200, { phone_models: full }),
      jsonAnswer(200, {
        phone_models: [
          { phone_model_name: 'x', extend_spec: null },
          { phone_model_name: 'y', extend_spec: { cpu: 4 } },
          { phone_model_name: 'z', extend_spec: '' },
        ],
      }),
    ]);
    const models = await cph.listPhoneModels();
    expect(models).toHaveLength(103);
    expect(models.slice(99)).toEqual([
      { name: 'm99', extendSpec: '{}' },
      { name: 'x', extendSpec: null },
      { name: 'y', extendSpec: null },
      { name: 'z', extendSpec: '' },
    ]);
    expect(fake.requests.map((r) => r.path)).toEqual([
      `/v1/${PROJECT}/cloud-phone/phone-models?offset=0&limit=100`,
      `/v1/${PROJECT}/cloud-phone/phone-models?offset=100&limit=100`,
    ]);
  });

  it.each([
    ['no phone_models array', { phone_models: null }, 'unexpected answer: no phone_models array'],
    [
      'an entry that is not an object',
      { phone_models: [null] },
      'unexpected answer: phone_models[0] has no phone_model_name',
    ],
    [
      'an empty name',
      { phone_models: [{ phone_model_name: 'a' }, { phone_model_name: '' }] },
      'unexpected answer: phone_models[1] has no phone_model_name',
    ],
  ])('%s fails', async (_, data, detail) => {
    const { cph } = client([jsonAnswer(200, data, 'rq-m')]);
    const error = await failure(cph.listPhoneModels());
    expect([error.operation, error.detail, error.requestId]).toEqual([
      'ListCloudPhoneModels',
      detail,
      'rq-m',
    ]);
  });

  it('a bad entry on a later page is named by its place in the whole list', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ phone_model_name: `m${i}` }));
    const { cph } = client([
      jsonAnswer(200, { phone_models: full }),
      jsonAnswer(200, { phone_models: [{}] }),
    ]);
    expect((await failure(cph.listPhoneModels())).detail).toBe(
      'unexpected answer: phone_models[100] has no phone_model_name',
    );
  });

  it('a 403 names cph:system:listPhoneSpecifications', async () => {
    const { cph } = client([jsonAnswer(403, { error_code: 'CPS.0004', error_msg: 'Forbidden.' })]);
    expect((await failure(cph.listPhoneModels())).hint).toBe(
      'the credentials may not list this (IAM action cph:system:listPhoneSpecifications): grant it, or set preflight: false to push without checking the servers',
    );
  });

  it('a network failure on every attempt is passed on as it is', async () => {
    const { cph, fake } = client([], { maxAttempts: 2 });
    fake.queue(new Error('boom'), new Error('boom'));
    const error = await failure(cph.listPhoneModels());
    expect(error.detail).toBe('cannot reach cph.example.com: boom (UNKNOWN)');
    expect(fake.requests).toHaveLength(2);
  });
});
