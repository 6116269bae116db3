import { describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  judgeIdempotent,
  judgeNonIdempotent,
  type RetryPolicy,
  withRetry,
} from '../../../src/http/retry.js';
import { NetworkError } from '../../../src/http/transport.js';

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

  it('reads Retry-After in seconds or as a date (on a fixed clock)', () => {
    expect(judgeIdempotent(res(429, { 'retry-after': '3' })).afterMs).toBe(3000);
    expect(judgeNonIdempotent(res(503, { 'retry-after': '0.5' })).afterMs).toBe(500);
    vi.useFakeTimers({ now: Date.parse('2026-01-02T03:04:05Z') });
    try {
      expect(judgeIdempotent(res(503, { 'retry-after': 'Fri, 02 Jan 2026 03:04:07 GMT' })).afterMs).toBe(
        2000,
      );
      expect(judgeNonIdempotent(res(429, { 'retry-after': 'Fri, 02 Jan 2026 03:04:07 GMT' })).afterMs).toBe(
        2000,
      );
      // A date in the past means "now".
      expect(judgeIdempotent(res(503, { 'retry-after': 'Fri, 02 Jan 2026 03:00:00 GMT' })).afterMs).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    for (const raw of ['', 'soon']) {
      expect(judgeIdempotent(res(503, { 'retry-after': raw })).afterMs, raw).toBeUndefined();
    }
    expect(judgeIdempotent(res(503)).afterMs).toBeUndefined();
  });

  it('gives the reason a retry notice shows', () => {
    expect(judgeIdempotent(res(503)).reason).toBe('HTTP 503');
    expect(judgeNonIdempotent(res(429)).reason).toBe('HTTP 429');
    expect(judgeIdempotent({ error: new NetworkError('cannot reach x', 'ECONNRESET', true) }).reason).toBe(
      'cannot reach x',
    );
    expect(judgeNonIdempotent({ error: 'a string' }).reason).toBe('a string');
    expect(judgeNonIdempotent({ error: 'a string' }).retry).toBe(false);
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

  it('caps what Retry-After asks at a minute, whatever the server says', async () => {
    for (const [asked, slept] of [
      ['59', 59_000],
      ['60', 60_000],
      ['61', 60_000],
      ['86400', 60_000],
    ] as const) {
      const sleeps: number[] = [];
      let calls = 0;
      await withRetry(
        async () =>
          ++calls === 1 ? { status: 503, headers: { 'retry-after': asked } } : { status: 200, headers: {} },
        (o) => judgeIdempotent(o as never),
        policy,
        { sleep: async (ms) => void sleeps.push(ms), random: () => 0 },
      );
      expect(sleeps, asked).toEqual([slept]);
    }
  });

  it('takes the backoff when it is longer than Retry-After, and tells onRetry each wait', async () => {
    const seen: Array<{ attempt: number; delayMs: number; reason: string }> = [];
    let calls = 0;
    const out = await withRetry(
      async () =>
        ++calls < 3 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200, headers: {} },
      (o) => judgeIdempotent(o as never),
      policy,
      { sleep: async () => {}, random: () => 0.5, onRetry: (info) => seen.push(info) },
    );
    expect(out.status).toBe(200);
    expect(seen).toEqual([
      { attempt: 1, delayMs: 50, reason: 'HTTP 429' },
      { attempt: 2, delayMs: 100, reason: 'HTTP 429' },
    ]);
  });

  it('with one attempt allowed, never waits', async () => {
    let calls = 0;
    const out = await withRetry(
      async () => ({ status: 503, headers: {}, n: ++calls }),
      (o) => judgeIdempotent(o as never),
      { ...policy, maxAttempts: 1 },
      {
        sleep: async () => {
          throw new Error('slept');
        },
      },
    );
    expect(out.n).toBe(1);
  });

  describe('with a deadline', () => {
    /** 429 with Retry-After until `okAt`, on a clock that only the sleeps move. */
    const throttled = (retryAfter: string, okAt = Number.POSITIVE_INFINITY) => {
      let clock = 1_000_000;
      let calls = 0;
      const sleeps: number[] = [];
      return {
        sleeps,
        calls: () => calls,
        attempt: async () =>
          ++calls >= okAt
            ? { status: 200, headers: {} }
            : { status: 429, headers: { 'retry-after': retryAfter } },
        hooks: (deadlineIn: number) => ({
          sleep: async (ms: number) => {
            sleeps.push(ms);
            clock += ms;
          },
          random: () => 0,
          now: () => clock,
          deadline: clock + deadlineIn,
        }),
      };
    };

    it('makes no retry whose Retry-After would end past it: the 429 stands', async () => {
      const t = throttled('100');
      const out = await withRetry(t.attempt, (o) => judgeIdempotent(o as never), policy, t.hooks(20_000));
      expect(out.status).toBe(429);
      expect(t.calls()).toBe(1);
      expect(t.sleeps).toEqual([]);
    });

    it('retries while the waits fit before it, then stops with the last answer', async () => {
      const t = throttled('8');
      const out = await withRetry(t.attempt, (o) => judgeIdempotent(o as never), policy, t.hooks(20_000));
      // 8 s + 8 s fit in 20 s; a third wait would end at 24 s.
      expect(t.sleeps).toEqual([8000, 8000]);
      expect(t.calls()).toBe(3);
      expect(out.status).toBe(429);
    });

    it('a wait that ends exactly at the deadline is made', async () => {
      const t = throttled('10', 2);
      const out = await withRetry(t.attempt, (o) => judgeIdempotent(o as never), policy, t.hooks(10_000));
      expect(out.status).toBe(200);
      expect(t.sleeps).toEqual([10_000]);
    });

    it('throws the last error when the backoff would pass it', async () => {
      let calls = 0;
      await expect(
        withRetry(
          async () => {
            calls++;
            throw new NetworkError('reset', 'ECONNRESET', true);
          },
          (o) => judgeIdempotent(o as never),
          { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 1000 },
          { sleep: async () => {}, random: () => 0.5, now: () => 0, deadline: 499 },
        ),
      ).rejects.toThrow('reset');
      expect(calls).toBe(1);
    });
  });
});
