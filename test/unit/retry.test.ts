import { describe, expect, it, vi } from 'vitest';
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
});
