/**
 * Keyless sign-in end to end: dist/index.js with `identity-provider` and the runner's ID-token
 * variables, against the emulated GitHub token service and IAM federation. No AK/SK is given
 * anywhere; every run is scanned for the ID token, the unscoped token and the temporary keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_CREDENTIALS,
  DEFAULT_IDENTITY_PROVIDER_ID,
  type Emulator,
  keystoneError,
  type RecordedRequest,
  startEmulator,
} from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, jobsOutput, OBJECT, run } from '../helpers/action-fixture.js';
import type { RunOptions } from '../helpers/run-action.js';
import { buildTar } from '../helpers/tar-builder.js';

let emu: Emulator;
let dir: string;
let tar: string;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 200 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-keyless-e2e-'));
  tar = path.join(dir, 'app.tar');
  writeFileSync(
    tar,
    buildTar([
      { path: 'data/', type: 'directory' },
      { path: 'data/app/config.json', content: '{"v":1}\n' },
    ]),
  );
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  // Runs without `file` push the object already in OBS.
  emu.obs.putObject(BUCKET, OBJECT, buildTar([{ path: 'data/app/config.json', content: '{"v":0}\n' }]));
});

/** The base inputs less every key, plus the identity provider. */
function keylessInputs(extra: Record<string, string> = {}): Record<string, string> {
  const { 'access-key-id': _ak, 'secret-access-key': _sk, ...rest } = baseInputs(emu);
  return { ...rest, 'identity-provider': DEFAULT_IDENTITY_PROVIDER_ID, ...extra };
}

function keyless(extra: Record<string, string> = {}, env: Record<string, string> = {}): RunOptions {
  return { inputs: keylessInputs(extra), env: { ...emu.idTokenEnv, ...env } };
}

/**
 * A keyless run with RUNNER_DEBUG=1 whose first sign-in works and whose renewal is refused with an
 * answer that quotes the ID token it got.
 */
async function runWithRefusedRenewal() {
  const original = emu.github.issue.bind(emu.github);
  let calls = 0;
  emu.github.issue = (audience, lifetimeMs) => {
    const token = original(audience, lifetimeMs);
    calls += 1;
    if (calls === 2) {
      emu.faults.add({
        op: 'CreateUnscopedTokenWithIdToken',
        action: {
          kind: 'status',
          status: 401,
          body: keystoneError(401, `The request you have made requires authentication. token=${token}`)
            .body as string,
        },
      });
    }
    return token;
  };
  try {
    return await run(keyless({ 'server-ids': 'srv-0001' }, { RUNNER_DEBUG: '1' }), emu);
  } finally {
    emu.github.issue = original;
  }
}

const SIGN_IN_OPS = ['GetIdToken', 'CreateUnscopedTokenWithIdToken', 'CreateTemporaryAccessKeyByToken'];
const signedRequests = () => emu.requests.filter((r) => !SIGN_IN_OPS.includes(r.op));
const accessKeyOf = (r: RecordedRequest) =>
  /Access=([^,\s]+)/.exec(r.headers.authorization ?? '')?.[1] ??
  /^OBS ([^:]+):/.exec(r.headers.authorization ?? '')?.[1];

describe('keyless sign-in', () => {
  it('uploads, pushes and waits with temporary credentials from the ID token, and says so', async () => {
    const { 'project-id': _p, ...inputs } = keylessInputs({ file: tar });
    const result = await run({ inputs, env: emu.idTokenEnv }, emu);
    expect(result.code, result.stdout).toBe(0);
    expect(result.outputs.uploaded).toBe('true');
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    expect(emu.requests.slice(0, 3).map((r) => r.op)).toEqual(SIGN_IN_OPS);
    expect(emu.requestsFor('GetIdToken')[0]?.query).toEqual({ 'api-version': '2.0' });
    const [credential] = emu.federation.issued;
    const signed = signedRequests();
    expect(signed.map((r) => r.op)).toEqual(
      expect.arrayContaining(['ListProjects', 'PutObject', 'PushShareFiles', 'ListJobs']),
    );
    for (const r of signed) {
      expect(accessKeyOf(r), r.op).toBe(credential?.accessKeyId);
      expect(r.headers['x-security-token'] ?? r.headers['x-obs-security-token'], r.op).toBe(
        credential?.securityToken,
      );
      expect(r.authOk, r.op).toBe(true);
    }
    expect(emu.requests.some((r) => r.headers.authorization?.includes(DEFAULT_CREDENTIALS.accessKeyId))).toBe(
      false,
    );

    expect(result.stdout).toContain(
      'Signed in without keys through identity provider github-actions as repo:example/game:ref:refs/tags/v1.2.3',
    );
    // Every secret of the sign-in was masked through the runner's protocol as it arrived.
    const masked = [...result.stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1]);
    expect(masked).toEqual(
      expect.arrayContaining([
        emu.github.issued[0],
        credential?.unscopedToken,
        credential?.accessKeyId,
        credential?.secretAccessKey,
        credential?.securityToken,
      ]),
    );
    expect(result.summary).toContain('github-actions');
    expect(result.summary).toContain('repo:example/game:ref:refs/tags/v1.2.3');
  });

  it('fails before any request, naming id-token: write and forks, when the job has no ID token', async () => {
    const result = await run({ inputs: keylessInputs() }, emu);
    expect(result.code).not.toBe(0);
    const line = failureLine(result);
    expect(line).toContain('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set');
    expect(line).toContain('permissions: id-token: write');
    expect(line).toContain('pull requests from forks get no ID token');
    expect(emu.requests).toHaveLength(0);
  });

  it('names aud, sub and what to check when IAM refuses the audience, without retrying', async () => {
    const result = await run(keyless({ audience: 'not-the-client-id' }), emu);
    expect(result.code).not.toBe(0);
    const line = failureLine(result);
    expect(line).toMatch(
      /IAM CreateUnscopedTokenWithIdToken failed: .*\(HTTP 401, request id [0-9a-f]{32}\)/,
    );
    expect(line).toContain("identity provider 'github-actions'");
    expect(line).toContain("client ID equals the token's aud 'not-the-client-id' (the audience input)");
    expect(line).toContain('https://token.actions.githubusercontent.com/.well-known/jwks');
    expect(line).toContain("mapping rule matches the token's sub 'repo:example/game:ref:refs/tags/v1.2.3'");
    expect(emu.requestsFor('GetIdToken')[0]?.query.audience).toBe('not-the-client-id');
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken')).toHaveLength(1);
    expect(signedRequests()).toHaveLength(0);
  });

  it('names the sub when no mapping rule matches (a branch build)', async () => {
    emu.github.job = { ...emu.github.job, ref: 'refs/heads/main' };
    const result = await run(keyless(), emu);
    expect(result.code).not.toBe(0);
    const line = failureLine(result);
    expect(line).toContain('HTTP 403');
    expect(line).toContain("sub 'repo:example/game:ref:refs/heads/main'");
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken')).toHaveLength(1);
    expect(signedRequests()).toHaveLength(0);
  });

  it('does not retry a 401 on the securitytokens call', async () => {
    emu.faults.add({
      op: 'CreateTemporaryAccessKeyByToken',
      times: 3,
      action: {
        kind: 'status',
        status: 401,
        body: keystoneError(401, 'The token has expired.').body as string,
      },
    });
    const result = await run(keyless(), emu);
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toContain(
      'IAM CreateTemporaryAccessKeyByToken failed: The token has expired.',
    );
    expect(emu.requestsFor('CreateTemporaryAccessKeyByToken')).toHaveLength(1);
    expect(signedRequests()).toHaveLength(0);
  });

  it('retries IAM 5xx and 429, then publishes', async () => {
    const body = keystoneError(500, 'An unexpected error prevented the server from fulfilling your request.')
      .body as string;
    emu.faults.add({
      op: 'CreateUnscopedTokenWithIdToken',
      times: 2,
      action: { kind: 'status', status: 503, body },
    });
    emu.faults.add({ op: 'CreateTemporaryAccessKeyByToken', action: { kind: 'status', status: 429 } });
    const result = await run(keyless(), emu);
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requestsFor('CreateUnscopedTokenWithIdToken').map((r) => r.status)).toEqual([503, 503, 201]);
    expect(emu.requestsFor('CreateTemporaryAccessKeyByToken').map((r) => r.status)).toEqual([429, 201]);
    expect(result.stdout).toMatch(/IAM CreateUnscopedTokenWithIdToken: HTTP 503; retrying in/);
  });

  it('renews the credentials during a wait longer than their lifetime; nothing is signed with expired ones', async () => {
    // IAM grants 8 s instead of the hour asked: renewed 2 s before expiry, so a 13 s job needs at
    // least two renewals.
    emu.settings.credentialsLifetimeMs = 8_000;
    emu.settings.defaultJobDurationMs = 13_000;
    const result = await run(keyless({ 'server-ids': 'srv-0001' }), emu);
    expect(result.code, result.stdout).toBe(0);
    expect(jobsOutput(result)[0]?.status).toBe('succeeded');
    expect(emu.federation.issued.length).toBeGreaterThanOrEqual(3);
    expect(emu.github.issued).toHaveLength(emu.federation.issued.length);
    const signed = signedRequests();
    expect(signed.filter((r) => r.expiredCredentials)).toEqual([]);
    for (const r of signed) {
      expect(r.credentialExpiresAt, r.op).toBeDefined();
      expect(r.time, r.op).toBeLessThan(r.credentialExpiresAt as number);
    }
    // The credentials in use changed as the wait went on.
    const used = new Set(signed.map(accessKeyOf));
    expect(used.size).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(
      /Renewed the temporary credentials through identity provider github-actions/,
    );
  });

  it('keeps every sign-in secret out of the log with step debugging on, also when a renewal is refused', async () => {
    // Credentials of 8 s: the renewal during the 5 s job's wait meets an IAM 401 (its body echoes
    // the ID token, as a careless gateway might), which ends the run with the error's stack logged.
    emu.settings.credentialsLifetimeMs = 8_000;
    emu.settings.defaultJobDurationMs = 30_000;
    const result = await runWithRefusedRenewal();
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('::debug::');
    expect(failureLine(result)).toContain('IAM CreateUnscopedTokenWithIdToken failed');
    expect(emu.github.issued.length).toBe(2);
    expect(emu.federation.issued.length).toBe(1);
  });

  it('refuses identity-provider together with key inputs, before any request', async () => {
    const result = await run(
      keyless({
        'access-key-id': DEFAULT_CREDENTIALS.accessKeyId,
        'secret-access-key': 'not-a-real-secret-xyz',
      }),
      emu,
    );
    expect(result.code).not.toBe(0);
    const line = failureLine(result);
    expect(line).toContain("input 'identity-provider'");
    expect(line).toMatch(/access-key-id/);
    expect(emu.requests).toHaveLength(0);
  });

  it('ignores keys found only in the environment, with one warning, and signs in without them', async () => {
    const result = await run(
      keyless(
        {},
        {
          HUAWEI_CLOUD_ACCESS_KEY_ID: DEFAULT_CREDENTIALS.accessKeyId,
          HUAWEI_CLOUD_SECRET_ACCESS_KEY: DEFAULT_CREDENTIALS.secretAccessKey,
        },
      ),
      emu,
    );
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::warning::'))).toHaveLength(1);
    expect(signedRequests().every((r) => accessKeyOf(r) === emu.federation.issued[0]?.accessKeyId)).toBe(
      true,
    );
  });

  it('dry-run sends nothing, and says keyless sign-in would be used with the ID token variables present', async () => {
    const result = await run(keyless({ 'dry-run': 'true' }), emu);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain(
      "Would sign in without keys through identity provider github-actions (audience GitHub's default)",
    );
    expect(result.stdout).toContain(
      'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are present',
    );
    expect(emu.requests).toHaveLength(0);
  });

  it('dry-run without the ID token variables fails like a real run, sending nothing', async () => {
    const result = await run({ inputs: keylessInputs({ 'dry-run': 'true' }) }, emu);
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toContain('permissions: id-token: write');
    expect(emu.requests).toHaveLength(0);
  });
});
