import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KeylessOptions, keylessCredentials } from '../../../src/auth/keyless.js';
import { ServiceError, SignInError } from '../../../src/errors.js';
import { createDispatcher } from '../../../src/http/transport.js';
import type { UnsignedContext } from '../../../src/huawei/unsigned.js';
import { Redactor } from '../../../src/redact.js';
import { type Emulator, keystoneError, startEmulator } from '../../emulator/index.js';

describe('keylessCredentials against the emulator', () => {
  let emu: Emulator;
  let ctx: UnsignedContext;
  let secrets: string[];
  let logs: string[];
  let idTokenCalls: unknown[][];
  let clock: number;

  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.reset();
    secrets = [];
    logs = [];
    idTokenCalls = [];
    clock = 1_000_000;
    ctx = {
      dispatcher: createDispatcher(),
      redactor: new Redactor(),
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
      hooks: { sleep: async () => {} },
      log: (m) => logs.push(m),
      userAgent: 'cph-publish-test',
    };
  });

  function provider(overrides: Partial<KeylessOptions> = {}) {
    return keylessCredentials(ctx, {
      identityProvider: 'github-actions',
      audience: undefined,
      iamEndpoint: new URL(emu.url),
      // What @actions/core getIDToken does, minus the HTTP: the emulated GitHub signs a token.
      getIdToken: async (...args: [string?]) => {
        idTokenCalls.push(args);
        return emu.github.issue(args[0], 300_000);
      },
      onSecret: (s) => {
        secrets.push(s);
        ctx.redactor.add(s);
      },
      now: () => clock,
      log: (m) => logs.push(m),
      ...overrides,
    });
  }

  const iamOps = () =>
    emu.requestsFor(['CreateUnscopedTokenWithIdToken', 'CreateTemporaryAccessKeyByToken']).map((r) => r.op);

  it('signs in with the ID token, masks every secret, and describes the sign-in', async () => {
    const p = provider();
    const credentials = await p.get();
    const issued = emu.federation.issued[0];
    expect(credentials).toEqual({
      accessKeyId: issued?.accessKeyId,
      secretAccessKey: issued?.secretAccessKey,
      securityToken: issued?.securityToken,
    });
    expect(idTokenCalls).toEqual([[]]);
    expect(secrets).toEqual([
      emu.github.issued[0],
      issued?.unscopedToken,
      issued?.accessKeyId,
      issued?.secretAccessKey,
      issued?.securityToken,
    ]);
    expect(p.info).toEqual({
      method: 'keyless',
      identityProvider: 'github-actions',
      subject: 'repo:example/game:ref:refs/tags/v1.2.3',
      audience: 'https://github.com/example',
    });
    const federation = emu.requestsFor('CreateUnscopedTokenWithIdToken')[0];
    expect(federation?.path).toBe('/v3/OS-FEDERATION/identity_providers/github-actions/protocols/oidc/auth');
    expect(federation?.headers.authorization).toBe(`Bearer ${emu.github.issued[0]}`);
    expect(federation?.body).toEqual({});
    expect(emu.requestsFor('CreateTemporaryAccessKeyByToken')[0]?.body).toEqual({
      auth: { identity: { methods: ['token'], token: { duration_seconds: 3600 } } },
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^Signed in without keys through identity provider github-actions as repo:example\/game:ref:refs\/tags\/v1\.2\.3 \(audience https:\/\/github\.com\/example\); temporary credentials valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    for (const secret of secrets) expect(logs.join('\n')).not.toContain(secret);
  });

  it('asks GitHub for the audience input when there is one', async () => {
    const provider0 = emu.federation.providers[0];
    if (provider0) provider0.clientId = 'huawei-iam';
    const p = provider({ audience: 'huawei-iam' });
    await p.get();
    expect(idTokenCalls).toEqual([['huawei-iam']]);
    expect(p.info).toMatchObject({ audience: 'huawei-iam' });
  });

  it('keeps the credentials until a quarter of their lifetime is left, then renews once', async () => {
    const p = provider();
    const first = await p.get();
    // 3600 s granted; the Date header costs up to 2 s of it, so the renewal is due at about 3000 s.
    clock += 2_990_000;
    expect(await p.get()).toBe(first);
    expect(iamOps()).toHaveLength(2);
    clock += 10_000;
    const second = await p.get();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.accessKeyId).toBe(emu.federation.issued[1]?.accessKeyId);
    expect(emu.github.issued).toHaveLength(2);
    expect(iamOps()).toHaveLength(4);
    expect(await p.get()).toBe(second);
    expect(logs[1]).toMatch(/^Renewed the temporary credentials through identity provider github-actions/);
  });

  it('follows the lifetime IAM grants: 900 s renews 225 s before expiry', async () => {
    emu.settings.credentialsLifetimeMs = 900_000;
    const p = provider();
    const first = await p.get();
    clock += 900_000 - 225_000 - 3_000;
    expect(await p.get()).toBe(first);
    clock += 3_000;
    expect((await p.get()).accessKeyId).not.toBe(first.accessKeyId);
  });

  it('shares one sign-in among concurrent callers, also when renewing', async () => {
    const p = provider();
    const firsts = await Promise.all(Array.from({ length: 8 }, () => p.get()));
    expect(new Set(firsts.map((c) => c.accessKeyId)).size).toBe(1);
    expect(iamOps()).toEqual(['CreateUnscopedTokenWithIdToken', 'CreateTemporaryAccessKeyByToken']);
    clock += 3_600_000;
    const seconds = await Promise.all(Array.from({ length: 8 }, () => p.get()));
    expect(new Set(seconds.map((c) => c.accessKeyId)).size).toBe(1);
    expect(emu.federation.issued).toHaveLength(2);
    expect(idTokenCalls).toHaveLength(2);
  });

  async function failure(p: ReturnType<typeof provider>): Promise<ServiceError> {
    const error = await p.get().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceError);
    return error as ServiceError;
  }

  it('does not retry a 401 and names the provider, client ID, signing keys, mapping rules, sub and aud', async () => {
    const p = provider({ audience: 'wrong-audience' });
    const error = await failure(p);
    expect(error.status).toBe(401);
    expect(error.operation).toBe('CreateUnscopedTokenWithIdToken');
    expect(error.message).toContain('the audience of the ID token is not the client ID');
    expect(error.message).toMatch(/request id [0-9a-f]{32}/);
    expect(error.hint).toBe(
      "IAM refused the GitHub ID token: check identity provider 'github-actions' in IAM (protocol OpenID Connect, " +
        'programmatic access enabled, identity provider URL https://token.actions.githubusercontent.com), ' +
        "that its client ID equals the token's aud 'wrong-audience' (the audience input), " +
        "that its signing keys are GitHub's current keys from https://token.actions.githubusercontent.com/.well-known/jwks, " +
        "and that a mapping rule matches the token's sub 'repo:example/game:ref:refs/tags/v1.2.3'",
    );
    expect(iamOps()).toEqual(['CreateUnscopedTokenWithIdToken']);
    const text = `${error.message} ${error.hint}`;
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(secrets).toEqual([emu.github.issued[0]]);
  });

  it('names the sub when no mapping rule matches (403), and suggests the audience input by default', async () => {
    emu.github.job = { ...emu.github.job, ref: 'refs/heads/main' };
    const error = await failure(provider());
    expect(error.status).toBe(403);
    expect(error.hint).toContain(
      "a mapping rule matches the token's sub 'repo:example/game:ref:refs/heads/main'",
    );
    expect(error.hint).toContain(
      "aud 'https://github.com/example' (GitHub's default audience; set the audience input to the client ID)",
    );
  });

  it('retries 5xx and 429 from IAM like reads, then signs in', async () => {
    const body = keystoneError(
      500,
      'An unexpected error prevented the server from fulfilling your request.',
    ).body;
    emu.faults.add({
      op: 'CreateUnscopedTokenWithIdToken',
      action: { kind: 'status', status: 503, body: body as string },
    });
    emu.faults.add({ op: 'CreateTemporaryAccessKeyByToken', action: { kind: 'status', status: 429 } });
    const credentials = await provider().get();
    expect(credentials.accessKeyId).toBe(emu.federation.issued[0]?.accessKeyId);
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken').map((r) => r.status)).toEqual([503, 201]);
    expect(emu.requestsFor('CreateTemporaryAccessKeyByToken').map((r) => r.status)).toEqual([429, 201]);
    expect(logs.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('gives up after the retries on a lasting 5xx, with the request id', async () => {
    emu.faults.add({
      op: 'CreateUnscopedTokenWithIdToken',
      times: 3,
      action: { kind: 'status', status: 500 },
    });
    const error = await failure(provider());
    expect(error.status).toBe(500);
    expect(error.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken')).toHaveLength(3);
    expect(error.hint).toBe('IAM failed or throttled the sign-in; run again later');
  });

  it.each([
    [429, 'IAM failed or throttled the sign-in; run again later'],
    [499, 'check identity-provider and iam-endpoint'],
  ])('a lasting %i without an IAM error code: the hint says what to check', async (status, hint) => {
    emu.faults.add({ op: 'CreateUnscopedTokenWithIdToken', times: 3, action: { kind: 'status', status } });
    const error = await failure(provider());
    expect(error.status).toBe(status);
    expect(error.hint).toBe(hint);
  });

  it('a connection IAM drops every time: the hint points at the endpoint, the network and the proxy', async () => {
    emu.faults.add({ op: 'CreateUnscopedTokenWithIdToken', times: 3, action: { kind: 'drop' } });
    const error = await failure(provider());
    expect(error.status).toBeUndefined();
    expect(error.hint).toBe(
      "check iam-endpoint, the network and the runner's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)",
    );
  });

  it('says the identity provider was not found on a 404', async () => {
    const error = await failure(provider({ identityProvider: 'no-such-idp' }));
    expect(error.status).toBe(404);
    expect(error.hint).toContain(
      "identity provider 'no-such-idp' or its OpenID Connect protocol was not found",
    );
  });

  it('wraps a failure to get the ID token, sending nothing to IAM', async () => {
    const p = provider({
      getIdToken: async () => {
        throw new Error('Error message: Failed to get ID Token. Error Code : 401');
      },
    });
    const error = await p.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect((error as SignInError).message).toBe(
      'cannot get an ID token from GitHub: Error message: Failed to get ID Token. Error Code : 401',
    );
    expect(emu.requests).toHaveLength(0);
  });

  it('stops before signing in when the run is cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(provider().get(controller.signal)).rejects.toThrow('cancelled');
    expect(emu.requests).toHaveLength(0);
  });

  describe('IAM answers without what sign-in needs', () => {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
      kind: 'status' as const,
      status,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
    const credential = {
      access: 'AKTEMPORARY0001',
      secret: 'sk-temporary-secret',
      securitytoken: 'st-temporary-token',
      expires_at: '2026-12-03T17:00:00.000000Z',
    };

    it('no X-Subject-Token header on the unscoped token: a SignInError with the request id', async () => {
      emu.faults.add({ op: 'CreateUnscopedTokenWithIdToken', action: answer(201, { token: {} }) });
      const error = await provider()
        .get()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SignInError);
      const requestId = emu.requestsFor('CreateUnscopedTokenWithIdToken')[0]?.requestId;
      expect((error as SignInError).message).toBe(
        `IAM CreateUnscopedTokenWithIdToken answered without an X-Subject-Token header (request id ${requestId})`,
      );
      expect(iamOps()).toEqual(['CreateUnscopedTokenWithIdToken']);
    });

    it.each(['secret', 'securitytoken', 'expires_at'] as const)(
      'a credential without %s fails, and what did come is masked first',
      async (missing) => {
        const { [missing]: _, ...partial } = credential;
        emu.faults.add({
          op: 'CreateTemporaryAccessKeyByToken',
          action: answer(201, { credential: partial }),
        });
        const error = await provider()
          .get()
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SignInError);
        expect((error as SignInError).message).toMatch(
          /^IAM CreateTemporaryAccessKeyByToken answered without access, secret, securitytoken and expires_at \(request id [0-9a-f]+\)$/,
        );
        const came = (['access', 'secret', 'securitytoken'] as const)
          .filter((name) => name !== missing)
          .map((name) => credential[name]);
        expect(came.length).toBeGreaterThan(1);
        for (const value of came) expect(secrets).toContain(value);
      },
    );

    it.each([
      ['no credential object', {}],
      ['a credential that is not an object', { credential: null }],
    ])('%s: a SignInError naming what was missing, not a TypeError', async (_, body) => {
      emu.faults.add({ op: 'CreateTemporaryAccessKeyByToken', action: answer(201, body) });
      const error = await provider()
        .get()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SignInError);
      expect((error as SignInError).message).toMatch(
        /^IAM CreateTemporaryAccessKeyByToken answered without access, secret, securitytoken and expires_at \(request id [0-9a-f]+\)$/,
      );
    });

    it('an expires_at that is no date fails: a NaN expiry would never renew', async () => {
      emu.faults.add({
        op: 'CreateTemporaryAccessKeyByToken',
        action: answer(201, { credential: { ...credential, expires_at: 'tomorrow' } }),
      });
      await expect(provider().get()).rejects.toBeInstanceOf(SignInError);
    });

    it('a 201 that is not JSON fails naming IAM, the body and where to look', async () => {
      emu.faults.add({ op: 'CreateTemporaryAccessKeyByToken', action: answer(201, '<html>portal</html>') });
      const error = (await provider()
        .get()
        .catch((e: unknown) => e)) as ServiceError;
      expect(error).toBeInstanceOf(ServiceError);
      expect(error.message).toMatch(
        /^IAM CreateTemporaryAccessKeyByToken failed: the answer is not a JSON object: <html>portal<\/html> \(HTTP 201, request id /,
      );
      expect(error.hint).toBe(
        'a proxy or gateway may be answering instead of IAM: check iam-endpoint and the proxy settings',
      );
    });
  });
});
