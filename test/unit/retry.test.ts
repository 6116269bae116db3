import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  judgeIdempotent,
  judgeNonIdempotent,
  type RetryPolicy,
  withRetry,
} from '../../src/http/retry.js';
import { NetworkError } from '../../src/http/transport.js';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 };
const res = (status: number, headers: Record<string, string> = {}) => ({ value: { status, headers } });

describe('backoffDelay', () => {
  it('is full jitter under an exponential ceiling capped at maxDelayMs', () => {
    expect(backoffDelay(policy, 1, () => 0.999)).toBe(99);
    expect(backoffDelay(policy, 2, () => 0.999)).toBe(199);
    expect(backoffDelay(policy, 3, () => 0.999)).toBe(249);
    expect(backoffDelay(policy, 9, () => 0.5)).toBe(125);
    expect(backoffDelay(policy, 2, () => 0)).toBe(0);
  });
});

describe('judges', () => {
  it('repeats reads on network errors, 408, 429 and 5xx only', () => {
    expect(judgeIdempotent({ error: new NetworkError('x', 'ECONNRESET', true) }).retry).toBe(true);
    for (const s of [408, 429, 500, 502, 503, 504]) expect(judgeIdempotent(res(s)).retry).toBe(true);
    for (const s of [200, 400, 401, 403, 404, 409]) expect(judgeIdempotent(res(s)).retry).toBe(false);
    expect(judgeIdempotent({ error: new Error('bug') }).retry).toBe(false);
  });

  it('repeats the push only on 429, 503 and connections that sent nothing', () => {
    expect(judgeNonIdempotent(res(429)).retry).toBe(true);
    expect(judgeNonIdempotent(res(503)).retry).toBe(true);
    for (const s of [401, 408, 500, 502, 504]) expect(judgeNonIdempotent(res(s)).retry).toBe(false);
    expect(judgeNonIdempotent({ error: new NetworkError('x', 'ECONNREFUSED', false) }).retry).toBe(true);
    expect(judgeNonIdempotent({ error: new NetworkError('x', 'UND_ERR_SOCKET', true) }).retry).toBe(false);
    expect(judgeNonIdempotent({ error: new NetworkError('x', 'TIMEOUT', true) }).retry).toBe(false);
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(judgeIdempotent(res(429, { 'retry-after': '3' })).afterMs).toBe(3000);
    const inTwo = new Date(Date.now() + 2000).toUTCString();
    expect(judgeIdempotent(res(503, { 'retry-after': inTwo })).afterMs).toBeGreaterThan(500);
  });
});

describe('withRetry', () => {
  it('stops at maxAttempts and returns the last answer', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => ({ status: 503, headers: {}, n: ++calls }),
      (o) => judgeIdempotent(o as never),
      policy,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    );
    expect(calls).toBe(4);
    expect(out.n).toBe(4);
    expect(sleeps).toEqual([50, 100, 125]);
  });

  it('throws the last error when it is not worth repeating', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new NetworkError('gone', 'UND_ERR_SOCKET', true);
        },
        (o) => judgeNonIdempotent(o as never),
        policy,
        { sleep: async () => {} },
      ),
    ).rejects.toThrow('gone');
    expect(calls).toBe(1);
  });

  it('waits at least what Retry-After asks, up to a minute', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await withRetry(
      async () =>
        ++calls === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200, headers: {} },
      (o) => judgeIdempotent(o as never),
      policy,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0 },
    );
    expect(sleeps).toEqual([2000]);
  });
});
