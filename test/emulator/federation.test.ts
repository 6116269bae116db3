import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apigPrepare, obsPrepare, send } from './client.js';
import { type MappingRule, matchRule } from './federation.js';
import {
  DEFAULT_BUCKET,
  DEFAULT_IDENTITY_PROVIDER_ID,
  DEFAULT_PROJECT_ID,
  type Emulator,
  GITHUB_ISSUER,
  keystoneError,
  startEmulator,
} from './index.js';
import { signJwt, verifyJwtSignature } from './jwt.js';

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8'));
}

describe('emulated GitHub OIDC and IAM federation', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.reset());

  async function idToken(audience?: string): Promise<string> {
    const url = `${emu.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_URL}${audience === undefined ? '' : `&audience=${encodeURIComponent(audience)}`}`;
    const res = await send({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${emu.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
    });
    expect(res.status).toBe(200);
    return res.json<{ value: string }>().value;
  }

  function federate(token: string | undefined, idp = DEFAULT_IDENTITY_PROVIDER_ID, protocol = 'oidc') {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return send({
      method: 'POST',
      url: `${emu.url}/v3/OS-FEDERATION/identity_providers/${idp}/protocols/${protocol}/auth`,
      headers,
      body: Buffer.from('{}'),
    });
  }

  function securityTokens(authToken: string | undefined, body: unknown) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authToken !== undefined) headers['x-auth-token'] = authToken;
    return send({
      method: 'POST',
      url: `${emu.url}/v3.0/OS-CREDENTIAL/securitytokens`,
      headers,
      body: Buffer.from(JSON.stringify(body)),
    });
  }

  const durationBody = (seconds: unknown) => ({
    auth: { identity: { methods: ['token'], token: { duration_seconds: seconds } } },
  });

  async function temporaryCredentials() {
    const auth = await federate(await idToken());
    const res = await securityTokens(auth.headers['x-subject-token'], durationBody(3600));
    expect(res.status).toBe(201);
    const c = res.json<{
      credential: { access: string; secret: string; securitytoken: string; expires_at: string };
    }>().credential;
    return {
      accessKeyId: c.access,
      secretAccessKey: c.secret,
      securityToken: c.securitytoken,
      expiresText: c.expires_at,
    };
  }

  const listJobs = (credential: { accessKeyId: string; secretAccessKey: string; securityToken: string }) =>
    apigPrepare(emu.url, {
      method: 'GET',
      path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs`,
      query: { request_ids: 'x' },
      credential,
    });

  it('issues RS256 ID tokens with GitHub claims, defaulting the audience to the owner URL', async () => {
    const token = await idToken();
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: GITHUB_ISSUER,
      sub: 'repo:example/game:ref:refs/tags/v1.2.3',
      aud: 'https://github.com/example',
      repository: 'example/game',
      repository_owner: 'example',
      ref: 'refs/tags/v1.2.3',
      ref_type: 'tag',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300 + 5);
    expect(verifyJwtSignature(token, emu.github.jwks()).ok).toBe(true);
    expect(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString())).toMatchObject({
      alg: 'RS256',
      kid: emu.github.keys[0]?.kid,
    });
    expect(claimsOf(await idToken('sts.example.com')).aud).toBe('sts.example.com');
    expect(emu.github.issued).toHaveLength(2);
  });

  it('uses an environment in sub when the job has one', async () => {
    emu.github.job = { ...emu.github.job, environment: 'production' };
    expect(claimsOf(await idToken()).sub).toBe('repo:example/game:environment:production');
  });

  it('refuses an ID token request without the request token', async () => {
    const res = await send({ method: 'GET', url: emu.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_URL, headers: {} });
    expect(res.status).toBe(401);
    expect(emu.github.issued).toHaveLength(0);
  });

  it('exchanges an ID token for an unscoped token and temporary credentials that sign requests', async () => {
    const auth = await federate(await idToken());
    expect(auth.status).toBe(201);
    const unscoped = auth.headers['x-subject-token'] as string;
    expect(unscoped.length).toBeGreaterThan(100);
    expect(auth.json()).toMatchObject({
      token: { methods: ['mapped'], user: { name: 'github-release' } },
    });
    const before = Date.now();
    const res = await securityTokens(unscoped, durationBody(3600));
    expect(res.status).toBe(201);
    const credential = res.json<{ credential: Record<string, string> }>().credential;
    expect(credential.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const expires = Date.parse(credential.expires_at as string);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(emu.federation.issued[0]).toMatchObject({
      accessKeyId: credential.access,
      unscopedToken: unscoped,
      subject: 'repo:example/game:ref:refs/tags/v1.2.3',
    });

    const signed = await send(
      listJobs({
        accessKeyId: credential.access as string,
        secretAccessKey: credential.secret as string,
        securityToken: credential.securitytoken as string,
      }),
    );
    expect(signed.status).toBe(200);
    const recorded = emu.requestsFor('ListJobs')[0];
    expect(recorded?.credentialExpiresAt).toBe(emu.federation.issued[0]?.expiresAt);
    expect(recorded?.expiredCredentials).toBeUndefined();
    expect(
      emu.requestsFor(['CreateUnscopedTokenWithIdToken', 'CreateTemporaryAccessKeyByToken']),
    ).toHaveLength(2);
    expect(emu.requests.find((r) => r.op === 'GetIdToken')?.service).toBe('GitHub');
  });

  it('lists every secret it handed out for secret scans', async () => {
    const c = await temporaryCredentials();
    expect(emu.federation.secrets()).toEqual(
      expect.arrayContaining([c.accessKeyId, c.secretAccessKey, c.securityToken]),
    );
    expect(emu.federation.secrets()).toHaveLength(4);
  });

  it('refuses, once expired, requests signed with temporary credentials: APIG 401 and OBS 403', async () => {
    emu.settings.credentialsLifetimeMs = 60_000;
    const c = await temporaryCredentials();
    expect(Date.parse(c.expiresText) - Date.now()).toBeLessThanOrEqual(60_000);
    // Jump the emulator's clock past the expiry instead of waiting for it.
    emu.settings.clockSkewMs = 61_000;
    const apig = await send(listJobs(c));
    expect(apig.status).toBe(401);
    expect(apig.json()).toMatchObject({ error_code: 'APIG.0307' });
    const obs = await send(
      obsPrepare(emu.url, { method: 'HEAD', bucket: DEFAULT_BUCKET, key: 'a.tar', credential: c }),
    );
    expect(obs.status).toBe(403);
    expect(obs.headers['x-obs-error-code'] ?? 'InvalidAccessKeyId').toBe('InvalidAccessKeyId');
    const refused = emu.requests.filter((r) => r.expiredCredentials);
    expect(refused.map((r) => r.op)).toEqual(['ListJobs', 'HeadObject']);
    expect(refused.every((r) => !r.authOk)).toBe(true);
  });

  it('refuses an ID token whose audience is not the client ID', async () => {
    const res = await federate(await idToken('someone-else'));
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({
      error: {
        code: 401,
        message:
          'The request you have made requires authentication. (the audience of the ID token is not the client ID)',
        title: 'Unauthorized',
      },
    });
    expect(emu.federation.unscopedTokens.size).toBe(0);
  });

  it('refuses an ID token signed by a key the provider does not have (GitHub rotated its keys)', async () => {
    emu.github.rotateKey();
    const res = await federate(await idToken());
    expect(res.status).toBe(401);
    expect(res.text).toContain("which is not among the identity provider's signing keys");
    // The admin pastes the new JWKS: accepted again.
    const provider = emu.federation.providers[0];
    if (provider) provider.signingKeys = emu.github.jwks();
    expect((await federate(await idToken())).status).toBe(201);
  });

  it('refuses a tampered ID token, a wrong issuer and an expired token', async () => {
    const token = await idToken();
    const [h, p, sig] = token.split('.') as [string, string, string];
    const forged = { ...claimsOf(token), sub: 'repo:example/game:ref:refs/tags/v9' };
    const tampered = `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`;
    expect((await federate(tampered)).text).toContain('the ID token signature is invalid');
    expect((await federate(`${h}.${p}`)).text).toContain('the ID token is not a JWT');

    emu.github.claimOverrides = { iss: 'https://evil.example.com' };
    expect((await federate(await idToken())).text).toContain(
      `issuer https://evil.example.com is not ${GITHUB_ISSUER}`,
    );
    emu.github.claimOverrides = {};

    const old = await idToken();
    emu.settings.clockSkewMs = 301_000;
    const expired = await federate(old);
    expect(expired.status).toBe(401);
    expect(expired.text).toContain('the ID token has expired');
  });

  it('refuses with 403 when no mapping rule matches the claims', async () => {
    emu.github.job = { ...emu.github.job, ref: 'refs/heads/main' };
    const res = await federate(await idToken());
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({
      error: { code: 403, message: expect.stringContaining('no mapping rule matches'), title: 'Forbidden' },
    });
  });

  it('answers 404 for an unknown provider or protocol, 401 without a Bearer token', async () => {
    const token = await idToken();
    expect((await federate(token, 'nobody')).status).toBe(404);
    expect((await federate(token, DEFAULT_IDENTITY_PROVIDER_ID, 'saml')).status).toBe(404);
    expect((await federate(undefined)).status).toBe(401);
  });

  it('checks the securitytokens call: a known unscoped token, methods ["token"], 900–86400 s', async () => {
    const auth = await federate(await idToken());
    const unscoped = auth.headers['x-subject-token'] as string;
    expect((await securityTokens(undefined, durationBody(3600))).status).toBe(401);
    expect((await securityTokens('nope', durationBody(3600))).status).toBe(401);
    expect((await securityTokens(unscoped, durationBody(899))).status).toBe(400);
    expect((await securityTokens(unscoped, durationBody(86401))).status).toBe(400);
    expect((await securityTokens(unscoped, durationBody('3600'))).status).toBe(400);
    expect(
      (await securityTokens(unscoped, { auth: { identity: { methods: ['password'], token: {} } } })).status,
    ).toBe(400);
    const ok = await securityTokens(unscoped, durationBody(900));
    expect(ok.status).toBe(201);
    expect(emu.federation.issued).toHaveLength(1);
    expect(emu.credentials.at(-1)?.expiresAt).toBe(emu.federation.issued[0]?.expiresAt);
    emu.settings.clockSkewMs = 25 * 3600_000;
    expect((await securityTokens(unscoped, durationBody(900))).status).toBe(401);
  });

  it('takes faults on the new operations like on any other', async () => {
    emu.faults.add({
      op: 'CreateUnscopedTokenWithIdToken',
      times: 1,
      action: { kind: 'status', status: 503, body: keystoneError(500, 'x').body as string },
    });
    emu.faults.add({ op: 'GetIdToken', times: 1, action: { kind: 'status', status: 500 } });
    expect(
      (
        await send({
          method: 'GET',
          url: emu.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_URL,
          headers: { authorization: `Bearer ${emu.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
        })
      ).status,
    ).toBe(500);
    const token = await idToken();
    expect((await federate(token)).status).toBe(503);
    expect((await federate(token)).status).toBe(201);
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken').map((r) => r.fault ?? '')).toEqual([
      'status:503',
      '',
    ]);
  });

  it('reset forgets issued tokens and credentials and restores the providers', async () => {
    await temporaryCredentials();
    emu.federation.providers.length = 0;
    emu.reset();
    expect(emu.federation.issued).toHaveLength(0);
    expect(emu.github.issued).toHaveLength(0);
    expect(emu.credentials.every((c) => c.expiresAt === undefined)).toBe(true);
    expect(emu.federation.providers.map((p) => p.id)).toEqual([DEFAULT_IDENTITY_PROVIDER_ID]);
    expect((await federate(await idToken())).status).toBe(201);
  });
});

describe('mapping rules', () => {
  const rule = (remote: MappingRule['remote']): MappingRule => ({
    local: [{ group: { name: 'g' } }],
    remote,
  });
  const claims = {
    sub: 'repo:org/app:ref:refs/tags/v1.2.0',
    repository: 'org/app',
    ref: 'refs/tags/v1.2.0',
    aud: ['a', 'b'],
  };
  it.each([
    ['exact any_one_of', [{ type: 'repository', any_one_of: ['org/app'] }], true],
    ['exact mismatch', [{ type: 'repository', any_one_of: ['org/other'] }], false],
    [
      'regex matches whole',
      [{ type: 'sub', any_one_of: ['repo:org/app:ref:refs/tags/v.*'], regex: true }],
      true,
    ],
    ['regex is anchored', [{ type: 'sub', any_one_of: ['org/app'], regex: true }], false],
    [
      'every condition',
      [
        { type: 'repository', any_one_of: ['org/app'] },
        { type: 'ref', any_one_of: ['refs/heads/main'] },
      ],
      false,
    ],
    ['not_any_of', [{ type: 'ref', not_any_of: ['refs/heads/.*'], regex: true }], true],
    ['not_any_of excludes', [{ type: 'ref', not_any_of: ['refs/tags/v1.2.0'] }], false],
    ['missing claim', [{ type: 'environment', any_one_of: ['prod'] }], false],
    ['array claim', [{ type: 'aud', any_one_of: ['b'] }], true],
    ['no condition never matches', [], false],
  ] as Array<[string, MappingRule['remote'], boolean]>)('%s', (_name, remote, expected) => {
    expect(matchRule([rule(remote)], claims) !== undefined).toBe(expected);
  });

  it('verifies signatures made by signJwt and no others', async () => {
    const emu = await startEmulator();
    try {
      const key = emu.github.keys[0];
      if (!key) throw new Error('no key');
      const token = signJwt({ sub: 'x' }, key);
      expect(verifyJwtSignature(token, emu.github.jwks())).toEqual({ ok: true, claims: { sub: 'x' } });
      emu.github.rotateKey();
      const other = signJwt({ sub: 'x' }, emu.github.keys[1] as typeof key);
      expect(verifyJwtSignature(other, { keys: [key.jwk] }).ok).toBe(false);
    } finally {
      await emu.close();
    }
  });
});
