/** The inputs of keyless sign-in, choosing servers by name, staged rollout and the upload. */
import { describe, expect, it } from 'vitest';
import { InputError, type InputProblem } from '../../src/errors.js';
import { type Config, type InputSource, readConfig } from '../../src/inputs.js';

const AK = 'AKIDEXAMPLE0000000AK';
const SK = 'sk-SECRET-0123456789abcdefghijklmnop';

const BASE: Record<string, string> = {
  region: 'cn-east-3',
  bucket: 'my-bucket',
  'object-path': 'releases/app.tar',
  'server-ids': 'server-1',
};
const KEYS = { 'access-key-id': AK, 'secret-access-key': SK };

function read(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const all = { ...BASE, ...inputs };
  const secrets: string[] = [];
  const src: InputSource = {
    getInput: (name) => all[name] ?? '',
    env,
    onSecret: (value) => secrets.push(value),
  };
  return { config: () => readConfig(src), secrets };
}

function config(inputs: Record<string, string>, env: Record<string, string> = {}): Config {
  return read(inputs, env).config();
}

function problems(inputs: Record<string, string>, env: Record<string, string> = {}): InputProblem[] {
  try {
    config(inputs, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error('expected an InputError');
}

describe('identity-provider and audience', () => {
  it('chooses keyless sign-in, with or without an audience', () => {
    expect(config({ 'identity-provider': 'github_actions-1' }).signIn).toEqual({
      method: 'keyless',
      identityProvider: 'github_actions-1',
      audience: undefined,
    });
    expect(config({ 'identity-provider': 'gh', audience: 'cph-publish-client' }).signIn).toEqual({
      method: 'keyless',
      identityProvider: 'gh',
      audience: 'cph-publish-client',
    });
  });

  it('refuses the key inputs next to identity-provider, naming them, and still masks them', () => {
    const run = read({ 'identity-provider': 'gh', ...KEYS, 'security-token': 'TOKEN-SECRET' });
    expect(() => run.config()).toThrow(InputError);
    expect(run.secrets).toEqual(expect.arrayContaining([AK, SK, 'TOKEN-SECRET']));
    const found = problems({ 'identity-provider': 'gh', 'secret-access-key': SK });
    expect(found).toEqual([
      {
        input: 'identity-provider',
        message:
          "cannot be used together with 'secret-access-key': choose one way to sign in (keyless through the identity provider, or AK/SK)",
      },
    ]);
  });

  it('ignores keys found only in the environment with one warning, and masks them', () => {
    const run = read(
      { 'identity-provider': 'gh' },
      { HUAWEI_CLOUD_ACCESS_KEY_ID: AK, HUAWEICLOUD_SDK_SK: SK },
    );
    const c = run.config();
    expect(c.signIn.method).toBe('keyless');
    expect(c.warnings).toEqual([
      "signing in through identity provider 'gh'; the keys in the environment (HUAWEI_CLOUD_ACCESS_KEY_ID, HUAWEICLOUD_SDK_SK) are ignored",
    ]);
    expect(run.secrets).toEqual(expect.arrayContaining([AK, SK]));
    expect(c.warnings.join('\n')).not.toContain(SK);
  });

  it('warns about an audience without identity-provider', () => {
    expect(config({ ...KEYS, audience: 'x' }).warnings).toEqual([
      "'audience' is ignored without 'identity-provider' (it is the audience of the keyless sign-in)",
    ]);
  });

  it.each([
    [
      'identity-provider',
      { 'identity-provider': 'has space' },
      /^must be an IAM identity provider id of 1 to 64/,
    ],
    ['identity-provider', { 'identity-provider': 'x'.repeat(65) }, /^must be an IAM identity provider id/],
    ['identity-provider', { 'identity-provider': 'idp/../x' }, /got 'idp\/\.\.\/x'$/],
    ['audience', { 'identity-provider': 'gh', audience: 'a b' }, /^must be 1 to 255 printable ASCII/],
    ['audience', { 'identity-provider': 'gh', audience: 'a'.repeat(256) }, /^must be 1 to 255/],
  ])('refuses a bad %s', (input, inputs, message) => {
    const found = problems(inputs as Record<string, string>);
    expect(found).toHaveLength(1);
    expect(found[0]?.input).toBe(input);
    expect(found[0]?.message).toMatch(message);
  });

  it('still requires AK and SK without identity-provider', () => {
    expect(problems({}).map((p) => p.input)).toEqual(['access-key-id', 'secret-access-key']);
  });
});

describe('server-names', () => {
  it('splits patterns on commas and new lines and strips the ! of exclusions', () => {
    expect(
      config({ ...KEYS, 'server-ids': '', 'server-names': 'game-prod-*, !game-prod-0?\r\nedge-?.x' })
        .serverNames,
    ).toEqual({ include: ['game-prod-*', 'edge-?.x'], exclude: ['game-prod-0?'] });
  });

  it('lets names alone choose the servers', () => {
    const c = config({ ...KEYS, 'server-ids': '', 'server-names': 'game-*' });
    expect(c.serverIds).toEqual([]);
    expect(c.serverNames.include).toEqual(['game-*']);
  });

  it('allows only exclusions when ids are given', () => {
    expect(config({ ...KEYS, 'server-names': '!game-01' }).serverNames).toEqual({
      include: [],
      exclude: ['game-01'],
    });
  });

  it('refuses only exclusions without ids', () => {
    expect(problems({ ...KEYS, 'server-ids': '', 'server-names': '!game-01' })).toEqual([
      {
        input: 'server-names',
        message:
          "has only '!' exclusions and no server id is given: add a pattern that chooses servers, such as 'game-prod-*'",
      },
    ]);
  });

  it.each(['game prod', 'game/*', '!', `${'a'.repeat(256)}`, 'ga[me]'])(
    'refuses the pattern %j',
    (pattern) => {
      const found = problems({ ...KEYS, 'server-names': pattern });
      expect(found).toHaveLength(1);
      expect(found[0]?.input).toBe('server-names');
      expect(found[0]?.message).toMatch(/^pattern '.*' must be 1 to 255 letters, digits/);
    },
  );
});

describe('preflight, rollout, max-failures, upload-concurrency', () => {
  it('has the defaults of action.yml', () => {
    const c = config(KEYS);
    expect([c.preflight, c.rollout, c.maxFailures, c.uploadConcurrency]).toEqual([
      true,
      [],
      { count: 0 },
      16,
    ]);
  });

  it('parses stages as counts and percentages', () => {
    expect(config({ ...KEYS, rollout: '1, 10%, 50%' }).rollout).toEqual([
      { count: 1 },
      { percent: 10 },
      { percent: 50 },
    ]);
    expect(config({ ...KEYS, rollout: '0.5%\n5 100%' }).rollout).toEqual([
      { percent: 0.5 },
      { count: 5 },
      { percent: 100 },
    ]);
  });

  it.each([
    ['0', /^stage '0' must be at least 1 server/],
    ['0%', /^stage '0%' must be a percentage above 0 and at most 100/],
    ['101%', /^stage '101%' must be a percentage above 0/],
    ['ten', /^stage 'ten' is neither a whole number nor a percentage/],
    ['-1', /^stage '-1' is neither/],
    ['10, 5', /^stage '5' is smaller than an earlier stage/],
    ['50%, 10%', /^stage '10%' is smaller than an earlier stage/],
    ['1,2,3,4,5,6,7,8,9,10,11', /^has 11 stages, at most 10 are allowed/],
  ])('refuses rollout %j', (rollout, message) => {
    const found = problems({ ...KEYS, rollout });
    expect(found).toHaveLength(1);
    expect(found[0]?.input).toBe('rollout');
    expect(found[0]?.message).toMatch(message);
    expect(found[0]?.message).toContain("write cumulative stage sizes such as '1, 10%, 50%'");
  });

  it('refuses a rollout without waiting', () => {
    expect(problems({ ...KEYS, rollout: '1', wait: 'false' })).toEqual([
      {
        input: 'rollout',
        message: "needs 'wait: true': each stage is waited for before the next one is pushed",
      },
    ]);
  });

  it.each([
    ['0', { count: 0 }],
    ['3', { count: 3 }],
    ['0%', { percent: 0 }],
    ['2.5%', { percent: 2.5 }],
    ['100%', { percent: 100 }],
  ])('reads max-failures %j', (raw, expected) => {
    expect(config({ ...KEYS, 'max-failures': raw }).maxFailures).toEqual(expected);
  });

  it.each(['-1', '101%', '1.5', 'some', '%'])('refuses max-failures %j', (raw) => {
    const found = problems({ ...KEYS, 'max-failures': raw });
    expect(found).toHaveLength(1);
    expect(found[0]).toEqual({
      input: 'max-failures',
      message: `must be a whole number of servers (0 or more) or a percentage from 0% to 100% such as '2%', got '${raw}'`,
    });
  });

  it.each([
    ['1', 1],
    ['32', 32],
  ])('reads upload-concurrency %j', (raw, expected) => {
    expect(config({ ...KEYS, 'upload-concurrency': raw }).uploadConcurrency).toBe(expected);
  });

  it.each(['0', '33', '4.5'])('refuses upload-concurrency %j', (raw) => {
    expect(problems({ ...KEYS, 'upload-concurrency': raw })).toEqual([
      { input: 'upload-concurrency', message: `must be a whole number from 1 to 32, got '${raw}'` },
    ]);
  });

  it('refuses a bad preflight', () => {
    expect(problems({ ...KEYS, preflight: 'yes' })).toEqual([
      { input: 'preflight', message: "must be true or false (also True, TRUE, False, FALSE), got 'yes'" },
    ]);
  });
});
