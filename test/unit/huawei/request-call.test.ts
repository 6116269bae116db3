/**
 * huaweiRequest, the one send/retry/classify loop, over a scripted dispatcher (no socket): what
 * each attempt sends, which outcomes are retried for reads and for state changes, the answers
 * that count as failures, and the one ServiceError every failure becomes.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError, ServiceError, SignInError } from '../../../src/errors.js';
import { NetworkError } from '../../../src/http/transport.js';
import type { Credentials } from '../../../src/huawei/credentials.js';
import { type HuaweiCall, huaweiRequest } from '../../../src/huawei/request.js';
import {
  FAKE_KEYS,
  type FakeRequest,
  fakeContext,
  jsonAnswer,
  osError,
} from '../../helpers/fake-dispatcher.js';
import { rejectionOf } from '../../helpers/rejection.js';

const NETWORK_HINT =
  "check the endpoint inputs, the network and the runner's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)";
const SERVER_HINT = 'the service failed; run again later, and check the Huawei Cloud status page';

function call(overrides: Partial<HuaweiCall> = {}): HuaweiCall {
  return {
    service: 'CPH',
    operation: 'ListJobs',
    method: 'GET',
    url: new URL('https://cph.example.com/v1/p/cloud-phone/jobs?offset=0'),
    idempotent: true,
    ...overrides,
  };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

describe('what each attempt sends', () => {
  it('the User-Agent, the call headers (which may replace it), the body, origin and path with query', async () => {
    const { ctx, fake } = fakeContext([{ status: 200, body: 'ok' }, { status: 204 }]);
    const response = await huaweiRequest(
      ctx,
      call({ method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello' }),
    );
    expect([response.status, response.body.toString()]).toEqual([200, 'ok']);
    await huaweiRequest(ctx, call({ headers: { 'User-Agent': 'other' } }));
    expect(fake.requests.map((r) => [r.method, r.origin, r.path, r.headers, r.body])).toEqual([
      [
        'POST',
        'https://cph.example.com',
        '/v1/p/cloud-phone/jobs?offset=0',
        { 'User-Agent': 'cph-publish/unit', 'Content-Type': 'text/plain' },
        'hello',
      ],
      [
        'GET',
        'https://cph.example.com',
        '/v1/p/cloud-phone/jobs?offset=0',
        { 'User-Agent': 'other' },
        undefined,
      ],
    ]);
  });

  it('a signed call adds the signature headers of fresh credentials and the context clock, per attempt', async () => {
    const { ctx, fake } = fakeContext([{ status: 500 }, { status: 200 }]);
    const seen: Array<[Record<string, string>, Credentials, string]> = [];
    let round = 0;
    ctx.credentials = {
      info: ctx.credentials.info,
      get: async () => ({ ...FAKE_KEYS, accessKeyId: `AK${++round}` }),
    };
    await huaweiRequest(
      ctx,
      call({
        headers: { 'X-A': '1' },
        sign: (headers, credentials, now) => {
          seen.push([{ ...headers }, credentials, now.toISOString()]);
          return { Authorization: `sig ${credentials.accessKeyId}` };
        },
      }),
    );
    expect(seen).toEqual([
      [
        { 'User-Agent': 'cph-publish/unit', 'X-A': '1' },
        { ...FAKE_KEYS, accessKeyId: 'AK1' },
        '2026-01-02T03:04:05.000Z',
      ],
      [
        { 'User-Agent': 'cph-publish/unit', 'X-A': '1' },
        { ...FAKE_KEYS, accessKeyId: 'AK2' },
        '2026-01-02T03:04:05.000Z',
      ],
    ]);
    expect(fake.requests.map((r) => r.headers.Authorization)).toEqual(['sig AK1', 'sig AK2']);
  });

  it('without a context clock, signs with the time of the attempt', async () => {
    const { ctx } = fakeContext([{ status: 200 }]);
    ctx.now = undefined;
    let signedAt = 0;
    const before = Date.now();
    await huaweiRequest(
      ctx,
      call({
        sign: (_h, _c, now) => {
          signedAt = now.getTime();
          return {};
        },
      }),
    );
    expect(signedAt).toBeGreaterThanOrEqual(before);
    expect(signedAt).toBeLessThanOrEqual(Date.now());
  });

  it('a signed call without credentials fails before anything is sent, naming the operation', async () => {
    const { ctx, fake } = fakeContext([]);
    const { credentials: _, ...unsigned } = ctx;
    const error = await failure(huaweiRequest(unsigned, call({ sign: () => ({}) })));
    expect(error.message).toBe('CPH ListJobs failed: ListJobs is signed but no credentials were given');
    expect(fake.requests).toHaveLength(0);
  });

  it('a cancel ends a request in flight, unless the call finishes on cancel (then its answer counts)', async () => {
    const run = new AbortController();
    const cancelDuring = (req: FakeRequest) => {
      run.abort(new CancelledError('SIGTERM'));
      return req.signal?.aborted ? new Promise<never>(() => {}) : { status: 200, body: 'pushed' };
    };
    const { ctx, fake } = fakeContext([cancelDuring], { signal: run.signal });
    const finished = await huaweiRequest(ctx, call({ finishOnCancel: true, idempotent: false }));
    expect(finished.body.toString()).toBe('pushed');
    const ended = await huaweiRequest(ctx, call()).catch((e: unknown) => e);
    expect(ended).toBe(run.signal.reason);
    // The second never reached the dispatcher: a cancelled run starts no new attempt.
    expect(fake.requests).toHaveLength(1);
    const run2 = new AbortController();
    const { ctx: ctx2 } = fakeContext(
      [
        () => {
          run2.abort(new CancelledError('SIGINT'));
          return new Promise<never>(() => {});
        },
      ],
      { signal: run2.signal },
    );
    const cancelled = await huaweiRequest(ctx2, call()).catch((e: unknown) => e);
    expect(cancelled).toBe(run2.signal.reason);
    expect(cancelled).toBeInstanceOf(CancelledError);
  });

  it('the deadline of one attempt is the call’s, else the context’s', async () => {
    const hang = () => new Promise<never>(() => {});
    const { ctx, fake } = fakeContext([hang], { timeoutMs: 300, retry: { maxAttempts: 1 } });
    const error = await failure(huaweiRequest(ctx, call({ timeoutMs: 100 })));
    expect(error.detail).toBe('no complete answer from cph.example.com within 0.1 s');
    fake.queue(hang);
    ctx.timeoutMs = 200;
    const error2 = await failure(huaweiRequest(ctx, call()));
    expect(error2.detail).toBe('no complete answer from cph.example.com within 0.2 s');
  });
});

describe('which outcomes are tried again', () => {
  it('a read: a 500 is retried with a notice, and the answer after it returned', async () => {
    const { ctx, fake, logs, sleeps } = fakeContext([{ status: 500 }, { status: 200, body: 'ok' }]);
    const response = await huaweiRequest(ctx, call());
    expect(response.body.toString()).toBe('ok');
    expect(fake.requests).toHaveLength(2);
    expect(logs).toEqual(['CPH ListJobs: HTTP 500; retrying in 0.5 s (attempt 2 of 5)']);
    expect(sleeps).toEqual([500]);
  });

  it('a state change: a 500 is not retried (the service may have acted); a 503 is', async () => {
    const { ctx, fake } = fakeContext([{ status: 500 }]);
    const error = await failure(huaweiRequest(ctx, call({ method: 'POST', idempotent: false })));
    expect(error.status).toBe(500);
    expect(fake.requests).toHaveLength(1);
    const again = fakeContext([{ status: 503 }, { status: 200 }]);
    await huaweiRequest(again.ctx, call({ method: 'POST', idempotent: false }));
    expect(again.fake.requests).toHaveLength(2);
  });

  it('a connection refused is retried for a state change too: it was certainly not sent', async () => {
    const { ctx, fake } = fakeContext([osError('ECONNREFUSED'), { status: 200 }]);
    await huaweiRequest(ctx, call({ method: 'POST', idempotent: false }));
    expect(fake.requests).toHaveLength(2);
  });

  it('onRetry runs before each repeated attempt', async () => {
    const order: string[] = [];
    const { ctx } = fakeContext([
      () => {
        order.push('attempt');
        return { status: 500 };
      },
      () => {
        order.push('attempt');
        return { status: 502 };
      },
      () => {
        order.push('attempt');
        return { status: 200 };
      },
    ]);
    await huaweiRequest(ctx, call({ onRetry: () => order.push('undo') }));
    expect(order).toEqual(['attempt', 'undo', 'attempt', 'undo', 'attempt']);
  });

  it('a deadline already past stops the retries: the first failure stands', async () => {
    const { ctx, fake } = fakeContext([{ status: 500 }, { status: 200 }]);
    const error = await failure(huaweiRequest(ctx, call({ deadline: Date.now() - 1 })));
    expect(error.status).toBe(500);
    expect(fake.requests).toHaveLength(1);
    const later = fakeContext([{ status: 500 }, { status: 200 }]);
    await huaweiRequest(later.ctx, call({ deadline: Date.now() + 3_600_000 }));
    expect(later.fake.requests).toHaveLength(2);
  });
});

describe('answers that are failures despite a 2xx, and statuses that are answers', () => {
  const errorBody = (response: { body: Buffer }) =>
    response.body.toString() === 'bad' ? 'with an <Error> body' : undefined;

  it('a read: retried with a notice saying why, and the failure kept when it lasts', async () => {
    const { ctx, fake, logs } = fakeContext([], {
      retry: { maxAttempts: 3 },
      fallback: { status: 200, body: 'bad' },
    });
    const error = await failure(huaweiRequest(ctx, call({ failsDespiteStatus: errorBody })));
    expect([error.status, error.detail]).toEqual([200, 'bad']);
    expect(fake.requests).toHaveLength(3);
    expect(logs[0]).toBe('CPH ListJobs: HTTP 200 with an <Error> body; retrying in 0.5 s (attempt 2 of 3)');
  });

  it('a read: a good answer after a failing 200 is returned', async () => {
    const { ctx } = fakeContext([
      { status: 200, body: 'bad' },
      { status: 200, body: 'good' },
    ]);
    const response = await huaweiRequest(ctx, call({ failsDespiteStatus: errorBody }));
    expect(response.body.toString()).toBe('good');
  });

  it('a state change: not retried, and it fails', async () => {
    const { ctx, fake } = fakeContext([{ status: 200, body: 'bad' }]);
    const error = await failure(
      huaweiRequest(ctx, call({ method: 'POST', idempotent: false, failsDespiteStatus: errorBody })),
    );
    expect(error.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
  });

  it('an accepted status is returned as it is, never judged by the 2xx check nor retried', async () => {
    const { ctx, fake } = fakeContext([{ status: 404, body: 'bad' }]);
    const response = await huaweiRequest(
      ctx,
      call({ accept: [404], failsDespiteStatus: () => 'always failing' }),
    );
    expect(response.status).toBe(404);
    expect(fake.requests).toHaveLength(1);
  });

  it('only 2xx and accepted statuses are answers: 199 and 300 fail, 200 and 299 do not', async () => {
    for (const [status, ok] of [
      [199, false],
      [200, true],
      [299, true],
      [300, false],
    ] as const) {
      const { ctx } = fakeContext([{ status, body: 'x' }]);
      const outcome = await huaweiRequest(ctx, call({ accept: [404] })).then(
        (r) => r.status,
        (e: unknown) => (e as ServiceError).status,
      );
      expect([outcome, ok]).toEqual([status, ok]);
      const threw = await huaweiRequest(fakeContext([{ status, body: 'x' }]).ctx, call()).then(
        () => false,
        () => true,
      );
      expect(threw).toBe(!ok);
    }
  });
});

describe('the 2xx check applies to 2xx answers only', () => {
  it.each([199, 300])('a %i is not judged by it, so a read is not retried for it', async (status) => {
    const { ctx, fake } = fakeContext([{ status, body: 'x' }]);
    const error = await failure(huaweiRequest(ctx, call({ failsDespiteStatus: () => 'always failing' })));
    expect(error.status).toBe(status);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('the one ServiceError of a failed answer', () => {
  it.each([
    [
      'the service message',
      jsonAnswer(400, { error_code: 'CPS.0001', error_msg: 'bad request' }),
      'bad request',
    ],
    ['the code when there is no message', jsonAnswer(400, { error_code: 'CPS.0001' }), 'CPS.0001'],
    [
      'the start of the body when it has neither',
      { status: 400, body: '  <html>\n oops </html> ' },
      '<html> oops </html>',
    ],
    ['no body', { status: 400, body: '' }, 'the answer has no body'],
    ['a body of white space only', { status: 400, body: ' \n ' }, 'the answer has no body'],
  ])('names %s', async (_, answer, detail) => {
    const { ctx } = fakeContext([answer]);
    const error = await failure(huaweiRequest(ctx, call()));
    expect(error.detail).toBe(detail);
    expect(error.status).toBe(400);
  });

  it('carries service, operation, status, code, request id, the hint for them, and is scrubbed', async () => {
    const { ctx } = fakeContext([
      jsonAnswer(401, {
        error_code: 'APIG.0301',
        error_msg: `sig of ${FAKE_KEYS.secretAccessKey} wrong`,
        request_id: 'rid-1',
      }),
    ]);
    const error = await failure(
      huaweiRequest(ctx, call({ service: 'IAM', operation: 'KeystoneListProjects' })),
    );
    expect(error.message).toBe(
      'IAM KeystoneListProjects failed: sig of *** wrong (HTTP 401, error code APIG.0301, request id rid-1)',
    );
    expect(error.hint).toBe(
      "check access-key-id and secret-access-key (and security-token for temporary credentials: it expires), and that the runner's clock is within 15 minutes of the real time",
    );
  });

  it('a call’s own hint is asked with the status and the code', async () => {
    const asked: unknown[] = [];
    const { ctx } = fakeContext([jsonAnswer(404, { error: { code: 'IAM.0004', message: 'gone' } })]);
    const error = await failure(
      huaweiRequest(
        ctx,
        call({
          hint: (status, code) => {
            asked.push([status, code]);
            return 'look there';
          },
        }),
      ),
    );
    expect(asked).toEqual([[404, 'IAM.0004']]);
    expect(error.hint).toBe('look there');
  });

  it('a 5xx hint by default, by service', async () => {
    const { ctx } = fakeContext([], { retry: { maxAttempts: 1 }, fallback: { status: 502 } });
    expect((await failure(huaweiRequest(ctx, call()))).hint).toBe(SERVER_HINT);
  });
});

describe('the one ServiceError of a failure before any answer', () => {
  it('a network failure on every attempt of a read: the transport message, the network hint, the cause', async () => {
    const refused = osError('ECONNREFUSED');
    const { ctx, fake } = fakeContext([], { retry: { maxAttempts: 2 }, fallback: refused });
    const error = await failure(huaweiRequest(ctx, call()));
    expect(error.message).toBe(
      'CPH ListJobs failed: cannot reach cph.example.com: connect ECONNREFUSED 127.0.0.1:443 (ECONNREFUSED)',
    );
    expect([error.status, error.code, error.requestId]).toEqual([undefined, undefined, undefined]);
    expect(error.hint).toBe(NETWORK_HINT);
    expect(error.cause).toBeInstanceOf(NetworkError);
    expect((error.cause as NetworkError).cause).toBe(refused);
    expect(fake.requests).toHaveLength(2);
  });

  it('a state change that may have been sent says it was not repeated', async () => {
    const { ctx, fake } = fakeContext([osError('ECONNRESET', 'read ECONNRESET')]);
    const error = await failure(huaweiRequest(ctx, call({ method: 'POST', idempotent: false })));
    expect(error.detail).toBe(
      'cannot reach cph.example.com: read ECONNRESET (ECONNRESET); the request may have reached the service, so it was not repeated',
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('a read that may have been sent does not say so (it was repeated); nor does an unsent state change', async () => {
    const { ctx } = fakeContext([], {
      retry: { maxAttempts: 1 },
      fallback: osError('ECONNRESET', 'read ECONNRESET'),
    });
    expect((await failure(huaweiRequest(ctx, call()))).detail).toBe(
      'cannot reach cph.example.com: read ECONNRESET (ECONNRESET)',
    );
    const unsent = fakeContext([], {
      retry: { maxAttempts: 1 },
      fallback: osError('ECONNREFUSED', 'refused'),
    });
    expect(
      (await failure(huaweiRequest(unsent.ctx, call({ method: 'POST', idempotent: false })))).detail,
    ).toBe('cannot reach cph.example.com: refused (ECONNREFUSED)');
  });

  it('an error that is not the network’s (a signer throwing) is wrapped, with the call’s hint', async () => {
    const { ctx } = fakeContext([]);
    const error = await failure(
      huaweiRequest(
        ctx,
        call({
          sign: () => {
            throw new Error(`cannot sign with ${FAKE_KEYS.secretAccessKey}`);
          },
          hint: (status, code) => `hint ${status} ${code}`,
        }),
      ),
    );
    expect([error.detail, error.hint]).toEqual(['cannot sign with ***', 'hint undefined undefined']);
  });

  it.each([
    ['a ServiceError', new ServiceError({ service: 'IAM', operation: 'Renew', detail: 'refused' })],
    ['a CancelledError', new CancelledError('SIGINT')],
    ['a SignInError', new SignInError('no ID token', 'check permissions')],
  ])('%s from the credentials is passed through as it is', async (_, thrown) => {
    const { ctx, fake } = fakeContext([]);
    ctx.credentials = { info: ctx.credentials.info, get: () => Promise.reject(thrown) };
    const outcome = await huaweiRequest(ctx, call({ sign: () => ({}) })).catch((e: unknown) => e);
    expect(outcome).toBe(thrown);
    expect(fake.requests).toHaveLength(0);
  });
});
