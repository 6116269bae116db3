/** Sign-in inputs: AK/SK, and keyless through an identity provider (`identity-provider`, `audience`). */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { AK, config, KEYS, problems, read, SK } from './fixtures.js';

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
