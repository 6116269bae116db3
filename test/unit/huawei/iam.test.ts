/**
 * IamClient over a scripted dispatcher (no socket): the project lookup (exactly one project of the
 * region, a 32-hex id) and the two unsigned calls of keyless sign-in, request by request.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { IamClient } from '../../../src/huawei/iam.js';
import { signApigRequest } from '../../../src/huawei/sign-apig.js';
import { FAKE_KEYS, type FakeStep, fakeContext, jsonAnswer } from '../../helpers/fake-dispatcher.js';
import { rejectionOf } from '../../helpers/rejection.js';

const REGION = 'cn-east-3';
const ID = '0123456789abcdef0123456789abcdef';
const HINT = `set the project-id input (or HUAWEI_CLOUD_PROJECT_ID) to the project of region ${REGION}, or check region`;

function iam(steps: FakeStep[], endpoint = 'https://iam.example.com') {
  const context = fakeContext(steps);
  return { ...context, iam: new IamClient(context.ctx, new URL(endpoint)) };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

describe('resolveProjectId', () => {
  it('one signed GET /v3/projects?name=<region>; the one project of that name among others', async () => {
    const { iam: client, fake } = iam(
      [
        jsonAnswer(200, {
          projects: [
            null,
            { id: 'f'.repeat(32), name: 'cn-north-4' },
            { id: ID, name: REGION },
            { id: 'e'.repeat(32), name: `${REGION}_sub` },
          ],
        }),
      ],
      'https://iam.example.com/ignored/',
    );
    expect(await client.resolveProjectId(REGION)).toBe(ID);
    const [sent] = fake.requests;
    expect([sent?.method, sent?.origin, sent?.path, sent?.body]).toEqual([
      'GET',
      'https://iam.example.com',
      `/v3/projects?name=${REGION}`,
      undefined,
    ]);
    expect(sent?.headers).toEqual({
      'User-Agent': 'cph-publish/unit',
      ...signApigRequest(
        { method: 'GET', url: new URL(`https://iam.example.com/v3/projects?name=${REGION}`), headers: {} },
        FAKE_KEYS,
        new Date('2026-01-02T03:04:05Z'),
      ),
    });
  });

  it.each([
    [
      'no projects array',
      { projects: 'none' },
      `no project named '${REGION}' is visible to these credentials`,
    ],
    ['no projects at all', {}, `no project named '${REGION}' is visible to these credentials`],
    [
      'only projects of other names',
      { projects: [{ id: ID, name: 'cn-north-4' }] },
      `no project named '${REGION}' is visible to these credentials`,
    ],
    [
      'two of that name',
      {
        projects: [
          { id: ID, name: REGION },
          { id: 'f'.repeat(32), name: REGION },
        ],
      },
      `2 projects are named '${REGION}'; cannot tell which to use`,
    ],
    [
      'three of that name',
      {
        projects: [
          { id: ID, name: REGION },
          { id: ID, name: REGION },
          { id: ID, name: REGION },
        ],
      },
      `3 projects are named '${REGION}'; cannot tell which to use`,
    ],
    [
      'an id that is no string',
      { projects: [{ id: 7, name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
    [
      'an id of 31 hex digits',
      { projects: [{ id: ID.slice(1), name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
    [
      'an id of 33 hex digits',
      { projects: [{ id: `${ID}0`, name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
    [
      'an id in upper case',
      { projects: [{ id: ID.toUpperCase(), name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
    [
      'an id inside an array',
      { projects: [{ id: [ID], name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
    [
      'an id with a prefix',
      { projects: [{ id: `x${ID}`, name: REGION }] },
      'the project id IAM returned is not 32 hex digits',
    ],
  ])('%s: fails with the request id and the project-id hint', async (_, data, detail) => {
    const { iam: client } = iam([jsonAnswer(200, data, 'rq-iam')]);
    const error = await failure(client.resolveProjectId(REGION));
    expect([error.service, error.operation, error.detail, error.requestId, error.hint, error.status]).toEqual(
      ['IAM', 'KeystoneListProjects', detail, 'rq-iam', HINT, undefined],
    );
  });

  it('without credentials: refused before any request', async () => {
    const { ctx, fake } = fakeContext([]);
    const { credentials: _, ...unsigned } = ctx;
    const client = new IamClient(unsigned, new URL('https://iam.example.com'));
    await expect(client.resolveProjectId(REGION)).rejects.toThrow(
      new Error('KeystoneListProjects is signed but no credentials were given'),
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('a refusal keeps IAM’s code and request id; a 500 is retried', async () => {
    const { iam: client, fake } = iam([
      jsonAnswer(500, {}),
      jsonAnswer(403, { error: { code: 'IAM.0002', message: 'forbidden' } }, 'rq-403'),
    ]);
    const error = await failure(client.resolveProjectId(REGION));
    expect(error.message).toBe(
      'IAM KeystoneListProjects failed: forbidden (HTTP 403, error code IAM.0002, request id rq-403)',
    );
    expect(fake.requests).toHaveLength(2);
  });
});

describe('the unsigned calls of keyless sign-in', () => {
  const hint = (status: number | undefined, code: string | undefined) => `iam hint ${status} ${code}`;

  it('CreateUnscopedTokenWithIdToken: POST with the bearer token, under the endpoint’s own path', async () => {
    const { iam: client, fake } = iam(
      [
        {
          status: 201,
          headers: { 'X-Subject-Token': 'tok', 'x-request-id': 'rq-u' },
          body: '{"token":{"x":1}}',
        },
      ],
      'https://iam.example.com/base//',
    );
    const answer = await client.unscopedToken('github/idp x', 'id.token.jwt', hint);
    expect(answer).toEqual({
      data: { token: { x: 1 } },
      headers: { 'x-subject-token': 'tok', 'x-request-id': 'rq-u' },
      requestId: 'rq-u',
    });
    const [sent] = fake.requests;
    expect([sent?.method, sent?.origin, sent?.path, sent?.body, sent?.headers]).toEqual([
      'POST',
      'https://iam.example.com',
      '/base/v3/OS-FEDERATION/identity_providers/github%2Fidp%20x/protocols/oidc/auth',
      '{}',
      {
        'User-Agent': 'cph-publish/unit',
        'Content-Type': 'application/json',
        Authorization: 'Bearer id.token.jwt',
      },
    ]);
  });

  it('CreateTemporaryAccessKeyByToken: POST with the token header and the duration', async () => {
    const { iam: client, fake } = iam([jsonAnswer(201, { credential: { access: 'a' } })]);
    const answer = await client.temporaryCredentials('unscoped-tok', 900, hint);
    expect(answer.data).toEqual({ credential: { access: 'a' } });
    expect(answer.requestId).toBeUndefined();
    const [sent] = fake.requests;
    expect([sent?.path, sent?.body, sent?.headers]).toEqual([
      '/v3.0/OS-CREDENTIAL/securitytokens',
      '{"auth":{"identity":{"methods":["token"],"token":{"duration_seconds":900}}}}',
      {
        'User-Agent': 'cph-publish/unit',
        'Content-Type': 'application/json',
        'X-Auth-Token': 'unscoped-tok',
      },
    ]);
  });

  it('run without credentials, retried like reads, failing with the caller’s hint', async () => {
    const { ctx, fake } = fakeContext([
      jsonAnswer(500, {}),
      jsonAnswer(400, { error: { code: 'IAM.1000', message: 'bad token' } }, 'rq-b'),
    ]);
    const { credentials: _, ...unsigned } = ctx;
    const client = new IamClient(unsigned, new URL('https://iam.example.com'));
    const error = await failure(client.temporaryCredentials('t', 900, hint));
    expect([error.service, error.operation, error.status, error.code, error.detail, error.hint]).toEqual([
      'IAM',
      'CreateTemporaryAccessKeyByToken',
      400,
      'IAM.1000',
      'bad token',
      'iam hint 400 IAM.1000',
    ]);
    expect(fake.requests).toHaveLength(2);
  });

  it('an answer that is not a JSON object fails, naming the operation', async () => {
    const { iam: client } = iam([{ status: 201, headers: { 'x-request-id': 'rq-h' }, body: '<html>' }]);
    const error = await failure(client.unscopedToken('idp', 'jwt', hint));
    expect(error.message).toBe(
      'IAM CreateUnscopedTokenWithIdToken failed: the answer is not a JSON object: <html> (HTTP 201, request id rq-h)',
    );
  });
});
