/** The environment's tuning knobs: request timeout, attempts and backoff base, read with the inputs. */
import { describe, expect, it } from 'vitest';
import { config, KEYS, problems } from './fixtures.js';

describe('tuning knobs (CPH_PUBLISH_*)', () => {
  it('has the defaults of the HTTP layer when unset or empty', () => {
    const expected = { timeoutMs: 30_000, retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 } };
    expect(config(KEYS).tuning).toEqual(expected);
    expect(
      config(KEYS, {
        CPH_PUBLISH_REQUEST_TIMEOUT_MS: '',
        CPH_PUBLISH_MAX_ATTEMPTS: '',
        CPH_PUBLISH_RETRY_BASE_MS: '',
      }).tuning,
    ).toEqual(expected);
  });

  it('reads every knob at both ends of its range', () => {
    const low = {
      CPH_PUBLISH_REQUEST_TIMEOUT_MS: '100',
      CPH_PUBLISH_MAX_ATTEMPTS: '1',
      CPH_PUBLISH_RETRY_BASE_MS: '0',
    };
    expect(config(KEYS, low).tuning).toEqual({
      timeoutMs: 100,
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 20_000 },
    });
    const high = {
      CPH_PUBLISH_REQUEST_TIMEOUT_MS: '600000',
      CPH_PUBLISH_MAX_ATTEMPTS: '10',
      CPH_PUBLISH_RETRY_BASE_MS: '60000',
    };
    expect(config(KEYS, high).tuning).toEqual({
      timeoutMs: 600_000,
      retry: { maxAttempts: 10, baseDelayMs: 60_000, maxDelayMs: 20_000 },
    });
  });

  it.each([
    ['CPH_PUBLISH_REQUEST_TIMEOUT_MS', '99', "must be a whole number from 100 to 600000, got '99'"],
    ['CPH_PUBLISH_REQUEST_TIMEOUT_MS', '600001', "must be a whole number from 100 to 600000, got '600001'"],
    ['CPH_PUBLISH_REQUEST_TIMEOUT_MS', 'fast', "must be a whole number from 100 to 600000, got 'fast'"],
    ['CPH_PUBLISH_MAX_ATTEMPTS', '0', "must be a whole number from 1 to 10, got '0'"],
    ['CPH_PUBLISH_MAX_ATTEMPTS', '2.5', "must be a whole number from 1 to 10, got '2.5'"],
    ['CPH_PUBLISH_RETRY_BASE_MS', '-1', "must be a whole number from 0 to 60000, got '-1'"],
    [
      'CPH_PUBLISH_RETRY_BASE_MS',
      '1'.repeat(50),
      `must be a whole number from 0 to 60000, got '${'1'.repeat(40)}'`,
    ],
  ])('refuses %s=%j, naming the variable', (name, raw, message) => {
    expect(problems(KEYS, { [name]: raw })).toEqual([{ input: `env ${name}`, message }]);
  });

  it('reports every bad knob along with the bad inputs, before anything else happens', () => {
    expect(
      problems(
        { ...KEYS, bucket: 'B', 'batch-size': '0' },
        { CPH_PUBLISH_MAX_ATTEMPTS: '11', CPH_PUBLISH_REQUEST_TIMEOUT_MS: '1' },
      ).map((p) => p.input),
    ).toEqual(['bucket', 'batch-size', 'env CPH_PUBLISH_REQUEST_TIMEOUT_MS', 'env CPH_PUBLISH_MAX_ATTEMPTS']);
  });
});
