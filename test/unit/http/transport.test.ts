/**
 * send() over a scripted dispatcher (no socket): the error codes it finds on an error's causes,
 * a deadline that runs out while the body is being read, the deadline's wording at 10 s, the
 * answer's headers, and the options of the action's own dispatcher. The failures real sockets
 * can produce are in test/integration/http/transport.test.ts.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDispatcher, type HttpRequest, NetworkError, send } from '../../../src/http/transport.js';
import { type FakeStep, fakeDispatcher } from '../../helpers/fake-dispatcher.js';
import { rejectionOf } from '../../helpers/rejection.js';

function request(overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'GET',
    url: new URL('https://cph.example.com:8443/v1/jobs?x=1'),
    headers: {},
    timeoutMs: 10_000,
    ...overrides,
  };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, NetworkError);

function failing(error: unknown): FakeStep {
  return () => {
    throw error;
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the error code of a failure, from the error or its causes', () => {
  const chain = (depth: number, code: unknown): Error => {
    let error: Error = Object.assign(new Error('level 0'), { code });
    for (let i = 1; i <= depth; i++) error = new Error(`level ${i}`, { cause: error });
    return error;
  };

  it.each([
    ['on the error itself', chain(0, 'ECONNREFUSED'), 'ECONNREFUSED', false],
    ['on the 5th error of the chain', chain(4, 'ECONNREFUSED'), 'ECONNREFUSED', false],
    ['past the 5th error: not looked for', chain(5, 'ECONNREFUSED'), 'UNKNOWN', true],
    [
      'an empty code: the cause’s is used',
      Object.assign(new Error('x', { cause: chain(0, 'ENOTFOUND') }), { code: '' }),
      'ENOTFOUND',
      false,
    ],
    [
      'a numeric code: the cause’s is used',
      Object.assign(new Error('x', { cause: chain(0, 'EAI_AGAIN') }), { code: -3008 }),
      'EAI_AGAIN',
      false,
    ],
    ['a null cause', new Error('x', { cause: null }), 'UNKNOWN', true],
    [
      'a function as cause is not read',
      new Error('x', { cause: Object.assign(() => {}, { code: 'EHOSTUNREACH' }) }),
      'UNKNOWN',
      true,
    ],
  ])('%s', async (_, raised, code, maybeSent) => {
    const fake = fakeDispatcher([failing(raised)]);
    const error = await failure(send(fake.dispatcher, request()));
    expect([error.code, error.maybeSent]).toEqual([code, maybeSent]);
    expect(error.message).toBe(`cannot reach cph.example.com:8443: ${(raised as Error).message} (${code})`);
    expect(error.cause).toBe(raised);
  });

  it('a cause chain that loops ends the search', async () => {
    const looping = new Error('loop') as Error & { cause?: unknown };
    looping.cause = looping;
    const error = await failure(send(fakeDispatcher([failing(looping)]).dispatcher, request()));
    expect(error.code).toBe('UNKNOWN');
  });

  it('something thrown that is no Error is named as it is', async () => {
    const error = await failure(send(fakeDispatcher([failing('socket hang up')]).dispatcher, request()));
    expect([error.message, error.code]).toEqual([
      'cannot reach cph.example.com:8443: socket hang up (UNKNOWN)',
      'UNKNOWN',
    ]);
  });

  it('a proxy refusal is only recognised at the start of the message', async () => {
    const wrapped = new Error('while connecting: Proxy response (407) !== 200 when HTTP Tunneling');
    const error = await failure(send(fakeDispatcher([failing(wrapped)]).dispatcher, request()));
    expect([error.code, error.maybeSent]).toEqual(['UNKNOWN', true]);
    expect(error.message).toBe(`cannot reach cph.example.com:8443: ${wrapped.message} (UNKNOWN)`);
  });
});

describe('the deadline', () => {
  it('running out while the body is read is a TIMEOUT, whatever error the body stream raises', async () => {
    const run = new AbortController();
    const fake = fakeDispatcher([
      {
        status: 200,
        stream: (signal) => ({
          async *[Symbol.asyncIterator]() {
            yield Buffer.from('{"jobs": [');
            await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
            throw new Error('This operation was aborted');
          },
        }),
      },
    ]);
    const error = await failure(send(fake.dispatcher, request({ timeoutMs: 50, signal: run.signal })));
    expect([error.code, error.maybeSent, error.message]).toEqual([
      'TIMEOUT',
      true,
      'no complete answer from cph.example.com:8443 within 0.1 s',
    ]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('a cancel while the body is read ends with the run’s reason, not a timeout', async () => {
    const run = new AbortController();
    const reason = new Error('cancelled');
    const fake = fakeDispatcher([
      {
        status: 200,
        stream: (signal) => ({
          async *[Symbol.asyncIterator]() {
            yield Buffer.from('{');
            run.abort(reason);
            if (signal?.aborted) throw new Error('This operation was aborted');
          },
        }),
      },
    ]);
    await expect(send(fake.dispatcher, request({ signal: run.signal }))).rejects.toBe(reason);
  });

  it.each([
    [9_999, 'within 10.0 s'],
    [10_000, 'within 10 s'],
  ])('%i ms is named "%s"', async (timeoutMs, words) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fake = fakeDispatcher([() => new Promise<never>(() => {})]);
    const pending = failure(send(fake.dispatcher, request({ timeoutMs })));
    await vi.advanceTimersByTimeAsync(timeoutMs);
    expect((await pending).message).toBe(`no complete answer from cph.example.com:8443 ${words}`);
  });

  it('no timer is left behind by an answer or a failure', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fake = fakeDispatcher([{ status: 204 }, failing(new Error('x'))]);
    await send(fake.dispatcher, request());
    expect(vi.getTimerCount()).toBe(0);
    await failure(send(fake.dispatcher, request()));
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the answer', () => {
  it('headers with no value are left out; names lower-cased, repeated ones joined', async () => {
    const fake = fakeDispatcher([
      {
        status: 200,
        headers: { 'X-Request-Id': 'r', 'x-none': undefined, 'Set-Cookie': ['a', 'b'] },
        body: 'ok',
      },
    ]);
    const answer = await send(fake.dispatcher, request());
    expect(answer.headers).toStrictEqual({ 'x-request-id': 'r', 'set-cookie': 'a, b' });
  });

  it('the request goes to the origin, with path and query, method, headers and body', async () => {
    const fake = fakeDispatcher([{ status: 200 }]);
    await send(
      fake.dispatcher,
      request({
        method: 'PUT',
        headers: { 'x-a': '1' },
        body: async function* () {
          yield Buffer.from('streamed');
        },
      }),
    );
    expect(fake.requests.map((r) => [r.method, r.origin, r.path, r.headers, r.body])).toEqual([
      ['PUT', 'https://cph.example.com:8443', '/v1/jobs?x=1', { 'x-a': '1' }, 'streamed'],
    ]);
  });
});

describe("the action's dispatcher", () => {
  it('connects within 15 s, keeps idle connections 4 s, and leaves the deadline to send()', async () => {
    const dispatcher = createDispatcher();
    try {
      // undici keeps an EnvHttpProxyAgent's options on the agent it uses without a proxy.
      const own = (o: object, name: string) =>
        (o as Record<symbol, unknown>)[
          Object.getOwnPropertySymbols(o).find((s) => s.description === name) as symbol
        ];
      const direct = own(dispatcher, 'no proxy agent') as object;
      expect(own(direct, 'options')).toMatchObject({
        connect: { timeout: 15_000 },
        keepAliveTimeout: 4_000,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } finally {
      await dispatcher.close();
    }
  });
});
