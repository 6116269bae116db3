/**
 * How the run signs in: AK/SK (and a security token), from the inputs or the environment, or
 * keyless through an IAM identity provider. Every secret is handed to the masking before any
 * message about it exists.
 */

import { type Field, type Found, field, fromEnv, matching, type Parsed, type Reader } from './reader.js';

/**
 * AK/SK as the inputs give them. The same shape as the signers' credentials (`huawei/`), declared
 * here because the inputs sit above the clients and must not import them.
 */
export interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary (STS) credentials. */
  securityToken?: string;
}

export type SignIn =
  | { method: 'keys'; credentials: StaticKeys }
  | { method: 'keyless'; identityProvider: string; audience: string | undefined };

/**
 * Printable ASCII without space: anything else in a key would corrupt a header or the signature.
 * The problem never shows the value: it is secret.
 */
function credential(raw: string): Parsed<string> {
  return /^[\x21-\x7e]+$/.test(raw)
    ? { value: raw }
    : { problem: 'contains white space, control or non-ASCII characters' };
}

export const ACCESS_KEY_ID = field('access-key-id', '', credential, [
  'HUAWEI_CLOUD_ACCESS_KEY_ID',
  'HUAWEICLOUD_SDK_AK',
]);
export const SECRET_ACCESS_KEY = field('secret-access-key', '', credential, [
  'HUAWEI_CLOUD_SECRET_ACCESS_KEY',
  'HUAWEICLOUD_SDK_SK',
]);
export const SECURITY_TOKEN = field('security-token', '', credential, [
  'HUAWEI_CLOUD_SECURITY_TOKEN',
  'HUAWEICLOUD_SDK_SECURITY_TOKEN',
]);
export const IDENTITY_PROVIDER = field(
  'identity-provider',
  '',
  matching(/^[A-Za-z0-9_-]{1,64}$/, "an IAM identity provider id of 1 to 64 letters, digits, '-' or '_'"),
);
export const AUDIENCE = field(
  'audience',
  '',
  matching(
    /^[\x21-\x7e]{1,255}$/,
    "1 to 255 printable ASCII characters without spaces (the identity provider's client ID)",
  ),
);

export const SIGN_IN_FIELDS = [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SECURITY_TOKEN, IDENTITY_PROVIDER, AUDIENCE];
const KEY_FIELDS = [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SECURITY_TOKEN];

/**
 * `identity-provider` chooses keyless sign-in; it excludes the key inputs (one way to sign in),
 * while keys left in the environment are only ignored, with one warning.
 */
export function readSignIn(r: Reader): SignIn | undefined {
  const idp = r.raw(IDENTITY_PROVIDER);
  const audience = r.raw(AUDIENCE);
  if (!idp) {
    if (audience) {
      r.warn("'audience' is ignored without 'identity-provider' (it is the audience of the keyless sign-in)");
    }
    const credentials = readKeys(r);
    return credentials && { method: 'keys', credentials };
  }
  const given = KEY_FIELDS.filter((f) => r.given(f.name) !== '');
  for (const f of given) r.secret(r.given(f.name));
  if (given.length > 0) {
    r.report(
      IDENTITY_PROVIDER.name,
      `cannot be used together with ${given.map((f) => `'${f.name}'`).join(', ')}: choose one way to sign in ` +
        '(keyless through the identity provider, or AK/SK)',
    );
  }
  const envKeys = KEY_FIELDS.flatMap((f) => (f.env ?? []).filter((name) => r.env(name)));
  for (const name of envKeys) r.secret(r.env(name) as string);
  if (given.length === 0 && envKeys.length > 0) {
    r.warn(
      `signing in through identity provider '${idp}'; the keys in the environment (${envKeys.join(', ')}) are ignored`,
    );
  }
  const identityProvider = r.read(IDENTITY_PROVIDER);
  const checkedAudience = audience ? r.read(AUDIENCE) : undefined;
  if (identityProvider === undefined || (audience && checkedAudience === undefined)) return undefined;
  return { method: 'keyless', identityProvider, audience: checkedAudience };
}

function readKeys(r: Reader): StaticKeys | undefined {
  const ak = r.find(ACCESS_KEY_ID);
  const sk = r.find(SECRET_ACCESS_KEY);
  const token = r.find(SECURITY_TOKEN);
  for (const found of [ak, sk, token]) if (found) r.secret(found.value);

  const checks: [Field<string>, Found | undefined][] = [
    [ACCESS_KEY_ID, ak],
    [SECRET_ACCESS_KEY, sk],
    [SECURITY_TOKEN, token],
  ];
  for (const [f, found] of checks) {
    const parsed = found ? f.parse(found.value) : { value: '' };
    if (found && 'problem' in parsed) {
      r.report(
        f.name,
        `${parsed.problem}${fromEnv(found)}; ` +
          'copy the value again without spaces or line breaks (the value is not shown because it is secret)',
      );
    }
  }
  const akEnv = ACCESS_KEY_ID.env ?? [];
  const skEnv = SECRET_ACCESS_KEY.env ?? [];
  if (!ak) {
    r.report(
      ACCESS_KEY_ID.name,
      `no access key id found (tried the 'access-key-id' input and the environment variables ${akEnv.join(', ')}); ` +
        `AK/SK signing needs both 'access-key-id' and 'secret-access-key' (or ${skEnv.join(' / ')})`,
    );
  }
  if (!sk) {
    r.report(
      SECRET_ACCESS_KEY.name,
      `no secret access key found (tried the 'secret-access-key' input and the environment variables ${skEnv.join(', ')}); ` +
        `AK/SK signing needs both 'access-key-id' and 'secret-access-key' (or ${akEnv.join(' / ')})`,
    );
  }
  if (!ak || !sk) return undefined;
  if (token?.env && !ak.env) {
    // Each credential falls back on its own, so a token left in the environment by an
    // earlier step would be sent with unrelated long-term keys, and every request refused.
    r.warn(
      `the security token comes from ${token.env} while the AK/SK come from the inputs; ` +
        "if these are long-term keys, unset that variable or pass 'security-token' explicitly",
    );
  }
  return token
    ? { accessKeyId: ak.value, secretAccessKey: sk.value, securityToken: token.value }
    : { accessKeyId: ak.value, secretAccessKey: sk.value };
}
