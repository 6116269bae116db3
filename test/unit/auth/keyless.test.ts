/**
 * The pure parts of keyless sign-in: the renewal arithmetic, the clock-skew correction of the
 * expiry, the ID token's claims, IAM's error bodies and the ID-token environment check. The
 * exchange itself, against the emulator, is in test/integration/auth/keyless.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeIdTokenClaims } from '../../../src/auth/id-token-claims.js';
import { checkIdTokenEnvironment, localExpiry } from '../../../src/auth/keyless.js';
import { needsRenewal, renewAt, renewalMarginMs } from '../../../src/auth/renewal.js';
import { SignInError } from '../../../src/errors.js';
import { readErrorBody } from '../../../src/huawei/request.js';

const MIN = 60_000;

describe('renewal arithmetic', () => {
  it.each([
    // lifetime → margin: a quarter, at most 10 minutes
    [3600_000, 10 * MIN],
    [900_000, 225_000],
    [40 * MIN, 10 * MIN],
    [39 * MIN, 9.75 * MIN],
    [8_000, 2_000],
    [0, 0],
  ])('lifetime %i ms renews %i ms before expiry', (lifetime, margin) => {
    expect(renewalMarginMs(1_000, 1_000 + lifetime)).toBe(margin);
    expect(renewAt(1_000, 1_000 + lifetime)).toBe(1_000 + lifetime - margin);
  });

  it('renews from the renewal moment on, not a millisecond before', () => {
    expect(needsRenewal(2_999_999, 0, 3_600_000)).toBe(false);
    expect(needsRenewal(3_000_000, 0, 3_600_000)).toBe(true);
    expect(needsRenewal(4_000_000, 0, 3_600_000)).toBe(true);
  });

  it('moves IAM’s expiry onto our clock with its Date header, a second on the safe side', () => {
    const date = 'Mon, 30 Nov 2026 12:00:00 GMT';
    const serverExpiry = Date.parse('2026-11-30T13:00:00.000000Z');
    expect(localExpiry(serverExpiry, date, 5_000)).toBe(5_000 + 3600_000 - 1000);
    expect(localExpiry(serverExpiry, undefined, 5_000)).toBe(serverExpiry);
    expect(localExpiry(serverExpiry, 'garbage', 5_000)).toBe(serverExpiry);
  });
});

describe('decodeIdTokenClaims', () => {
  const jwt = (claims: unknown) =>
    `e30.${Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)).toString('base64url')}.sig`;
  it.each([
    [
      jwt({ sub: 'repo:o/r:ref:refs/tags/v1', aud: 'https://github.com/o', exp: 10 }),
      { sub: 'repo:o/r:ref:refs/tags/v1', aud: 'https://github.com/o', expiresAt: 10_000 },
    ],
    [jwt({ sub: 's', aud: ['a', 'b', 3] }), { sub: 's', aud: 'a, b' }],
    [jwt({ sub: 5 }), {}],
    [jwt('not json'), {}],
    [jwt([1]), {}],
    [jwt('null'), {}],
    [jwt('{"sub":"s","exp":1e999}'), { sub: 's' }],
    [jwt({ exp: '10' }), {}],
    ['no-dots', {}],
    ['', {}],
  ])('%s', (token, expected) => {
    expect(decodeIdTokenClaims(token)).toEqual(expected);
  });
});

describe("readErrorBody on IAM's error shapes", () => {
  it.each([
    [
      {
        error: {
          code: 401,
          message: 'The request you have made requires authentication.',
          title: 'Unauthorized',
        },
      },
      { message: 'The request you have made requires authentication.' },
    ],
    [{ error: { code: 'IAM.0001', message: 'm' } }, { code: 'IAM.0001', message: 'm' }],
    [
      { error_code: 'APIG.0101', error_msg: 'not found' },
      { code: 'APIG.0101', message: 'not found' },
    ],
    [{ error: 'text' }, {}],
    [undefined, {}],
    ['<html>', {}],
  ])('%j', (body, expected) => {
    const { code, message } = readErrorBody({
      status: 0,
      headers: {},
      body: Buffer.from(JSON.stringify(body ?? null)),
    });
    expect({ code, message }).toEqual({ code: undefined, message: undefined, ...expected });
  });
});

describe('checkIdTokenEnvironment', () => {
  it('passes when both variables are set', () => {
    expect(() =>
      checkIdTokenEnvironment({ ACTIONS_ID_TOKEN_REQUEST_URL: 'u', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' }),
    ).not.toThrow();
  });
  it.each([
    [{}, 'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set'],
    [{ ACTIONS_ID_TOKEN_REQUEST_URL: 'u' }, 'ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set'],
    [
      { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't', ACTIONS_ID_TOKEN_REQUEST_URL: '' },
      'ACTIONS_ID_TOKEN_REQUEST_URL is not set',
    ],
  ])('names what is missing, the permission and forks (%j)', (env, missing) => {
    let error: unknown;
    try {
      checkIdTokenEnvironment(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SignInError);
    expect((error as SignInError).message).toContain(missing);
    expect((error as SignInError).hint).toContain('permissions: id-token: write');
    expect((error as SignInError).hint).toContain('pull requests from forks get no ID token');
  });
});
