import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildCanonicalRequest, canonicalQuery, sha256Hex, verifyApigRequest } from './auth-apig.js';
import { obsSignature, verifyObsRequest } from './auth-obs.js';
import { apigPrepare, apigSignHeaders, md5Base64, obsPrepare, obsSignHeaders, send } from './client.js';
import {
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  startEmulator,
  TEMP_CREDENTIALS,
} from './index.js';
import type { Credential } from './types.js';

const require = createRequire(import.meta.url);

/** Change the signature's last character (never a no-op, whatever it was). */
function tamperSignature(authorization: string): string {
  const last = authorization.at(-1) === '=' ? authorization.length - 2 : authorization.length - 1;
  const c = authorization[last] === '0' ? '1' : '0';
  return authorization.slice(0, last) + c + authorization.slice(last + 1);
}

describe('SDK-HMAC-SHA256 verifier against the spec vectors', () => {
  const docsCredential = {
    accessKeyId: 'QTWAOYTTINDUT2QVKYUC',
    secretAccessKey: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
  };
  const sdkCredential = { accessKeyId: 'AccessKey', secretAccessKey: 'SecretKey' };
  interface ApigVector {
    name: string;
    credential: Credential;
    method: string;
    host: string;
    rawPath: string;
    rawQuery: string;
    date: string;
    extraHeaders: Record<string, string>;
    signed: string[];
    body: string;
    canonicalHash?: string;
    signature: string;
  }
  const vectors: ApigVector[] = [
    {
      name: '1 (docs example)',
      credential: docsCredential,
      method: 'GET',
      host: 'service.region.example.com',
      rawPath: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs',
      rawQuery: 'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
      date: '20191115T033655Z',
      extraHeaders: { 'content-type': 'application/json' },
      signed: ['content-type', 'host', 'x-sdk-date'],
      body: '',
      canonicalHash: 'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a',
      signature: '7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    },
    {
      name: '2 (GET)',
      credential: sdkCredential,
      method: 'GET',
      host: 'service.endpoint.myhuaweicloud.com',
      rawPath: '/resources',
      rawQuery: 'size=1',
      date: '20200608T023900Z',
      extraHeaders: {},
      signed: ['host', 'x-sdk-date'],
      body: '',
      signature: 'cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842',
    },
    {
      name: '3 (POST with body)',
      credential: sdkCredential,
      method: 'POST',
      host: 'service.endpoint.myhuaweicloud.com',
      rawPath: '/resources',
      rawQuery: 'size=1',
      date: '20200608T023900Z',
      extraHeaders: {},
      signed: ['host', 'x-sdk-date'],
      body: '{"name":"test","id":1}',
      signature: '436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f',
    },
    {
      name: '4 (only x-sdk-date signed)',
      credential: sdkCredential,
      method: 'GET',
      host: 'example.huaweicloud.com',
      rawPath: '/path',
      rawQuery: 'limit=1',
      date: '20060102T150405Z',
      extraHeaders: {},
      signed: ['x-sdk-date'],
      body: '',
      signature: '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    },
  ];

  for (const v of vectors) {
    const headers: Record<string, string> = { host: v.host, 'x-sdk-date': v.date, ...v.extraHeaders };
    const nowMs = Date.UTC(
      Number(v.date.slice(0, 4)),
      Number(v.date.slice(4, 6)) - 1,
      Number(v.date.slice(6, 8)),
      Number(v.date.slice(9, 11)),
      Number(v.date.slice(11, 13)),
      Number(v.date.slice(13, 15)),
    );
    const request = (signature: string) => ({
      method: v.method,
      rawPath: v.rawPath,
      rawQuery: v.rawQuery,
      headers: {
        ...headers,
        authorization: `SDK-HMAC-SHA256 Access=${v.credential.accessKeyId}, SignedHeaders=${v.signed.join(';')}, Signature=${signature}`,
      },
      body: Buffer.from(v.body),
    });
    const find = (ak: string) => (ak === v.credential.accessKeyId ? v.credential : undefined);

    it(`accepts vector ${v.name} and rejects it with one signature digit changed`, () => {
      const options = { nowMs, requiredSignedHeaders: ['x-sdk-date'] };
      expect(verifyApigRequest(request(v.signature), find, options)).toEqual({
        ok: true,
        credential: v.credential,
      });
      const flipped = v.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      expect(verifyApigRequest(request(flipped), find, options)).toMatchObject({
        ok: false,
        reason: 'verify aksk signature fail',
      });
      if (v.canonicalHash)
        expect(sha256Hex(buildCanonicalRequest(request(v.signature), v.signed))).toBe(v.canonicalHash);
    });

    it(`test signer reproduces vector ${v.name}`, () => {
      const out = apigSignHeaders(v.host, {
        method: v.method,
        path: v.rawPath,
        query: Object.fromEntries(new URLSearchParams(v.rawQuery)),
        headers: { 'x-sdk-date': v.date, ...v.extraHeaders },
        body: v.body,
        credential: v.credential,
        signedHeaders: v.signed,
      });
      expect(out['authorization']).toContain(`Signature=${v.signature}`);
    });
  }

  it('vector 3 payload hash', () => {
    expect(sha256Hex('{"name":"test","id":1}')).toBe(
      '8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c',
    );
  });

  it('canonical query matches vector 5 whatever the wire encoding', () => {
    const expected =
      'enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29';
    const test = '一 (&=?!#%.*)';
    const wireA = `limit=1&enable=true&test=${encodeURIComponent(test)}&path=/tmp/123&multi=3&multi=1&multi=2`;
    const wireB = new URLSearchParams([
      ['multi', '2'],
      ['test', test],
      ['path', '/tmp/123'],
      ['multi', '1'],
      ['limit', '1'],
      ['enable', 'true'],
      ['multi', '3'],
    ]).toString();
    expect(canonicalQuery(wireA)).toBe(expected);
    expect(canonicalQuery(wireB)).toBe(expected);
  });
});

describe('OBS signature verifier against the spec vectors', () => {
  const date = 'Sat, 12 Oct 2015 08:12:38 GMT';
  const nowMs = Date.parse(date);
  const credential: Credential = { accessKeyId: 'AKEXAMPLE', secretAccessKey: 'SKEXAMPLE' };
  const withToken: Credential = { ...credential, securityToken: 'TOKEN123' };
  const rows: Array<{
    method: string;
    key: string;
    query: string;
    headers: Record<string, string>;
    auth: string;
  }> = [
    { method: 'GET', key: 'object.txt', query: '', headers: {}, auth: 'f92mQYzVW+6e7FwUmq43eST1Gzs=' },
    {
      method: 'POST',
      key: 'dir/app.tar',
      query: 'uploads',
      headers: { 'content-type': 'application/x-tar' },
      auth: 'tvJcat6CBbDb9x7Iey9fQdAMLtk=',
    },
    {
      method: 'PUT',
      key: 'dir/app.tar',
      query: 'partNumber=1&uploadId=0000016F1A2B3C4D',
      headers: {},
      auth: '/aqUf+d1MQwlMHPT1GQEEAvsrt8=',
    },
    {
      method: 'POST',
      key: 'dir/app.tar',
      query: 'uploadId=0000016F1A2B3C4D',
      headers: { 'content-type': 'application/xml', 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' },
      auth: 'fBnu4Ehg15t82Jug0U3JtZuPiqQ=',
    },
    {
      method: 'DELETE',
      key: 'dir/app.tar',
      query: 'uploadId=0000016F1A2B3C4D',
      headers: {},
      auth: '+J035U4a9PWPdd49LU0RBwRovgg=',
    },
    {
      method: 'PUT',
      key: 'dir/app.tar',
      query: '',
      headers: {
        'content-type': 'application/x-tar',
        'x-obs-acl': 'private',
        'x-obs-security-token': 'TOKEN123',
      },
      auth: 'cAmokKwregKrJPcpHFWsOS1MJ3s=',
    },
  ];

  for (const row of rows) {
    const label = `${row.method} /${row.key}${row.query ? `?${row.query}` : ''}`;
    const cred = 'x-obs-security-token' in row.headers ? withToken : credential;
    const find = (ak: string) => (ak === 'AKEXAMPLE' ? cred : undefined);
    const headers = (sig: string) => ({ ...row.headers, date, authorization: `OBS AKEXAMPLE:${sig}` });

    it(`accepts ${label} path-style and virtual-hosted, rejects a changed signature`, () => {
      const base = { method: row.method, rawQuery: row.query, bucket: 'bucket', key: row.key };
      const pathStyle = {
        ...base,
        rawPath: `/bucket/${row.key}`,
        virtualHosted: false,
        headers: headers(row.auth),
      };
      const virtual = { ...base, rawPath: `/${row.key}`, virtualHosted: true, headers: headers(row.auth) };
      expect(verifyObsRequest(pathStyle, find, nowMs).ok).toBe(true);
      expect(verifyObsRequest(virtual, find, nowMs).ok).toBe(true);
      const bad = { ...pathStyle, headers: headers(`A${row.auth.slice(1)}`) };
      expect(verifyObsRequest(bad, find, nowMs)).toMatchObject({
        ok: false,
        status: 403,
        code: 'SignatureDoesNotMatch',
      });
    });

    it(`test signer reproduces ${label}`, () => {
      const query = Object.fromEntries(new URLSearchParams(row.query));
      const out = obsSignHeaders('bucket.obs.example.com', {
        method: row.method,
        bucket: 'bucket',
        key: row.key,
        query,
        headers: { ...row.headers, date },
        credential: cred,
      });
      expect(out['authorization']).toBe(`OBS AKEXAMPLE:${row.auth}`);
    });
  }

  it('matches the AWS V2 published vector (same algorithm)', () => {
    const stringToSign = 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg';
    expect(obsSignature('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', stringToSign)).toBe(
      'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    );
  });
});

describe('authentication over HTTP', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.reset());

  const listProjects = (overrides: Parameters<typeof apigPrepare>[1] | object = {}) =>
    apigPrepare(emu.url, { method: 'GET', path: '/v3/projects', query: { name: 'cn-east-3' }, ...overrides });
  const pushPath = `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`;
  const pushBody = { bucket_name: DEFAULT_BUCKET, object_path: 'a/b.tar', server_ids: ['s1'] };

  async function expectApig401(res: Awaited<ReturnType<typeof send>>, reason: RegExp) {
    expect(res.status).toBe(401);
    const body = res.json<{ error_code: string; error_msg: string; request_id: string }>();
    expect(body.error_code).toBe('APIG.0301');
    expect(body.error_msg).toMatch(/^Incorrect IAM authentication information: /);
    expect(body.error_msg).toMatch(reason);
    expect(body.request_id).toBe(res.headers['x-request-id']);
    expect(res.text).not.toContain(DEFAULT_CREDENTIALS.secretAccessKey);
    expect(res.text).not.toContain(TEMP_CREDENTIALS.secretAccessKey);
  }

  it('accepts a correctly signed request and records authOk', async () => {
    const res = await send(listProjects());
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(emu.requests[0]).toMatchObject({ op: 'ListProjects', service: 'IAM', authOk: true, status: 200 });
  });

  it('refuses a tampered signature with 401 APIG.0301', async () => {
    const req = listProjects();
    req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
    await expectApig401(await send(req), /verify aksk signature fail/);
    expect(emu.requests[0]?.authOk).toBe(false);
  });

  it('refuses a body changed after signing', async () => {
    const req = apigPrepare(emu.url, { method: 'POST', path: pushPath, json: pushBody });
    req.body = Buffer.from(JSON.stringify({ ...pushBody, server_ids: ['s2'] }));
    await expectApig401(await send(req), /signature/);
    expect(emu.cph.jobs).toHaveLength(0);
  });

  it('refuses a query changed after signing', async () => {
    const req = listProjects();
    req.url = req.url.replace('cn-east-3', 'cn-north-4');
    await expectApig401(await send(req), /signature/);
  });

  it('refuses an X-Sdk-Date more than 15 minutes off, and follows clockSkewMs', async () => {
    const old = listProjects({ date: new Date(Date.now() - 16 * 60_000) });
    await expectApig401(await send(old), /15 minutes/);
    expect((await send(listProjects({ date: new Date(Date.now() - 14 * 60_000) }))).status).toBe(200);
    emu.settings.clockSkewMs = 20 * 60_000;
    await expectApig401(await send(listProjects()), /15 minutes/);
    expect((await send(listProjects({ date: new Date(Date.now() + 20 * 60_000) }))).status).toBe(200);
  });

  it('refuses an unknown access key', async () => {
    const res = await send(listProjects({ credential: { accessKeyId: 'NOPE', secretAccessKey: 'x' } }));
    await expectApig401(res, /ak NOPE not exist/);
  });

  it('requires host and x-sdk-date to be signed', async () => {
    await expectApig401(await send(listProjects({ signedHeaders: ['x-sdk-date'] })), /host is not signed/);
    await expectApig401(await send(listProjects({ signedHeaders: ['host'] })), /x-sdk-date is not signed/);
  });

  it('refuses a missing Authorization header', async () => {
    const req = listProjects();
    delete req.headers['authorization'];
    await expectApig401(await send(req), /Authorization header is missing/);
  });

  it('temporary credentials need X-Security-Token, equal and signed', async () => {
    expect((await send(listProjects({ credential: TEMP_CREDENTIALS }))).status).toBe(200);

    const noToken = listProjects({ credential: { ...TEMP_CREDENTIALS, securityToken: undefined } });
    delete noToken.headers['x-security-token'];
    await expectApig401(await send(noToken), /X-Security-Token is required/);

    const unsigned = listProjects({
      credential: TEMP_CREDENTIALS,
      signedHeaders: ['host', 'x-sdk-date'],
    });
    expect(unsigned.headers['x-security-token']).toBe(TEMP_CREDENTIALS.securityToken);
    await expectApig401(await send(unsigned), /X-Security-Token is not signed/);

    const wrong = listProjects({ credential: { ...TEMP_CREDENTIALS, securityToken: 'other-token' } });
    await expectApig401(await send(wrong), /security token is invalid/);

    const onPermanent = listProjects({ headers: { 'x-security-token': 'x' } });
    await expectApig401(await send(onPermanent), /permanent access key/);
  });

  it('echoes the canonical request (with the token) only when echoCanonicalRequest is on', async () => {
    const tampered = () => {
      const req = listProjects({ credential: TEMP_CREDENTIALS });
      req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
      return req;
    };
    const quiet = await send(tampered());
    expect(quiet.text).not.toContain(TEMP_CREDENTIALS.securityToken);
    emu.settings.echoCanonicalRequest = true;
    const loud = await send(tampered());
    expect(loud.status).toBe(401);
    expect(loud.json<{ error_msg: string }>().error_msg).toContain(
      `x-security-token:${TEMP_CREDENTIALS.securityToken}`,
    );
    expect(loud.text).not.toContain(TEMP_CREDENTIALS.secretAccessKey);
  });

  it('locks an access key after authLockoutThreshold failures in a row', async () => {
    emu.settings.authLockoutThreshold = 3;
    for (let i = 0; i < 3; i++) {
      const req = listProjects();
      req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
      await send(req);
    }
    await expectApig401(await send(listProjects()), /reach the limit/);
  });

  describe('OBS', () => {
    const put = (overrides: Partial<Parameters<typeof obsPrepare>[1]> = {}) =>
      obsPrepare(emu.url, {
        method: 'PUT',
        bucket: DEFAULT_BUCKET,
        key: 'dir/a b+c=d#e.tar',
        body: 'hello',
        ...overrides,
      });

    async function expectObsError(res: Awaited<ReturnType<typeof send>>, status: number, code: string) {
      expect(res.status).toBe(status);
      expect(res.headers['x-obs-error-code']).toBe(code);
      expect(res.headers['x-obs-request-id']).toBe(emu.requests.at(-1)?.requestId);
      expect(res.headers['x-obs-request-id']).toMatch(/^[0-9A-F]{32}$/);
      expect(res.text).toContain(`<Code>${code}</Code>`);
      expect(res.text).toContain(`<RequestId>${res.headers['x-obs-request-id']}</RequestId>`);
      expect(res.text).not.toContain(DEFAULT_CREDENTIALS.secretAccessKey);
    }

    it('accepts a signed PUT of an awkward key and stores it', async () => {
      const res = await send(
        put({ headers: { 'content-type': 'application/x-tar', 'x-obs-meta-md5': 'abc' } }),
      );
      expect(res.status).toBe(200);
      expect(emu.obs.getObject(DEFAULT_BUCKET, 'dir/a b+c=d#e.tar')?.data?.toString()).toBe('hello');
    });

    it('refuses a tampered signature with 403 SignatureDoesNotMatch', async () => {
      const req = put();
      req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
      await expectObsError(await send(req), 403, 'SignatureDoesNotMatch');
      expect(emu.obs.getObject(DEFAULT_BUCKET, 'dir/a b+c=d#e.tar')).toBeUndefined();
    });

    it('refuses an x-obs header or sub-resource changed after signing', async () => {
      const req = put({ headers: { 'x-obs-meta-md5': 'abc' } });
      req.headers['x-obs-meta-md5'] = 'abd';
      await expectObsError(await send(req), 403, 'SignatureDoesNotMatch');
      const head = obsPrepare(emu.url, {
        method: 'PUT',
        bucket: DEFAULT_BUCKET,
        key: 'k.tar',
        query: { partNumber: 1, uploadId: 'X' },
      });
      head.url = head.url.replace('partNumber=1', 'partNumber=2');
      await expectObsError(await send(head), 403, 'SignatureDoesNotMatch');
    });

    it('ignores ordinary query parameters in the signature', async () => {
      const req = obsPrepare(emu.url, { method: 'HEAD', bucket: DEFAULT_BUCKET, key: 'missing.tar' });
      req.url += '?foo=bar';
      const res = await send(req);
      expect(res.status).toBe(404);
      expect(res.headers['x-obs-error-code']).toBe('NoSuchKey');
    });

    it('refuses a date more than 15 minutes off with RequestTimeTooSkewed', async () => {
      await expectObsError(
        await send(put({ date: new Date(Date.now() - 16 * 60_000) })),
        403,
        'RequestTimeTooSkewed',
      );
      emu.settings.clockSkewMs = -30 * 60_000;
      await expectObsError(await send(put()), 403, 'RequestTimeTooSkewed');
      expect((await send(put({ date: new Date(Date.now() - 30 * 60_000) }))).status).toBe(200);
    });

    it('accepts x-obs-date instead of Date', async () => {
      const res = await send(put({ headers: { 'x-obs-date': new Date().toUTCString() } }));
      expect(res.status).toBe(200);
      expect(emu.requests[0]?.headers['date']).toBeUndefined();
    });

    it('refuses an unknown access key with InvalidAccessKeyId', async () => {
      await expectObsError(
        await send(put({ credential: { accessKeyId: 'NOPE', secretAccessKey: 'x' } })),
        403,
        'InvalidAccessKeyId',
      );
    });

    it('temporary credentials need x-obs-security-token equal to the token', async () => {
      expect((await send(put({ credential: TEMP_CREDENTIALS }))).status).toBe(200);
      await expectObsError(
        await send(put({ credential: { ...TEMP_CREDENTIALS, securityToken: undefined } })),
        403,
        'InvalidAccessKeyId',
      );
      await expectObsError(
        await send(put({ credential: { ...TEMP_CREDENTIALS, securityToken: 'bad' } })),
        400,
        'InvalidToken',
      );
    });

    it('echoes StringToSign only with echoCanonicalRequest', async () => {
      const tampered = () => {
        const req = put({ credential: TEMP_CREDENTIALS });
        req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
        return req;
      };
      expect((await send(tampered())).text).not.toContain('StringToSign');
      emu.settings.echoCanonicalRequest = true;
      const loud = await send(tampered());
      expect(loud.text).toContain(`x-obs-security-token:${TEMP_CREDENTIALS.securityToken}`);
    });

    it('HEAD errors carry x-obs-error-code and no body', async () => {
      const req = obsPrepare(emu.url, { method: 'HEAD', bucket: DEFAULT_BUCKET, key: 'x.tar' });
      req.headers['authorization'] = tamperSignature(req.headers['authorization']!);
      const res = await send(req);
      expect(res.status).toBe(403);
      expect(res.headers['x-obs-error-code']).toBe('SignatureDoesNotMatch');
      expect(res.text).toBe('');
    });

    it('answers NoSuchBucket for an unknown bucket', async () => {
      await expectObsError(await send(put({ bucket: 'other-bucket' })), 404, 'NoSuchBucket');
    });
  });

  describe('cross-check with the official packages', () => {
    it('accepts requests signed by @huaweicloud/huaweicloud-sdk-core AKSKSigner', async () => {
      const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as {
        AKSKSigner: { sign(req: object, cred: object): Record<string, string> };
      };
      const cred = {
        getAk: () => DEFAULT_CREDENTIALS.accessKeyId,
        getSk: () => DEFAULT_CREDENTIALS.secretAccessKey,
      };
      const data = {
        bucket_name: DEFAULT_BUCKET,
        object_path: 'apps/app.tar',
        server_ids: ['srv-1', 'srv-2'],
      };
      emu.obs.putObject(DEFAULT_BUCKET, 'apps/app.tar', 'x');
      const headers = AKSKSigner.sign(
        {
          endpoint: `${emu.url}${pushPath}`,
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          queryParams: {},
          data,
        },
        cred,
      );
      const res = await send({
        method: 'POST',
        url: `${emu.url}${pushPath}`,
        headers,
        body: Buffer.from(JSON.stringify(data)),
      });
      expect(res.status).toBe(200);
      expect(res.json<{ jobs: unknown[] }>().jobs).toHaveLength(2);

      const listHeaders = AKSKSigner.sign(
        {
          endpoint: `${emu.url}/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs`,
          method: 'GET',
          headers: {},
          queryParams: { request_ids: res.json<{ request_id: string }>().request_id, limit: 100 },
        },
        cred,
      );
      const list = await send({
        method: 'GET',
        url: `${emu.url}/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs?request_ids=${res.json<{ request_id: string }>().request_id}&limit=100`,
        headers: listHeaders,
      });
      expect(list.status).toBe(200);
    });

    it('works with esdk-obs-nodejs (put, head, multipart; it signs path-style in the AWS V2 form)', async () => {
      const ObsClient = require('esdk-obs-nodejs') as new (
        opts: object,
      ) => Record<
        string,
        (p: object) => Promise<{
          CommonMsg: { Status: number; Code?: string };
          InterfaceResult?: Record<string, string>;
        }>
      > & {
        close(): void;
      };
      const client = new ObsClient({
        access_key_id: TEMP_CREDENTIALS.accessKeyId,
        secret_access_key: TEMP_CREDENTIALS.secretAccessKey,
        security_token: TEMP_CREDENTIALS.securityToken,
        server: emu.url,
        path_style: true,
        signature: 'obs',
        is_signature_negotiation: false,
        max_retry_count: 0,
      });
      // Its constructor finishes asynchronously (signature context unset until then).
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        const key = 'esdk/app (1).tar';
        const put = await client['putObject']!({
          Bucket: DEFAULT_BUCKET,
          Key: key,
          Body: 'esdk-body',
          ContentType: 'application/x-tar',
          Metadata: { md5: 'm' },
        });
        expect(put.CommonMsg.Status).toBe(200);
        const head = await client['getObjectMetadata']!({ Bucket: DEFAULT_BUCKET, Key: key });
        expect(head.CommonMsg.Status).toBe(200);
        expect(emu.obs.getObject(DEFAULT_BUCKET, key)).toMatchObject({ size: 9, metadata: { md5: 'm' } });

        const init = await client['initiateMultipartUpload']!({ Bucket: DEFAULT_BUCKET, Key: key });
        expect(init.CommonMsg.Status).toBe(200);
        const uploadId = init.InterfaceResult!['UploadId']!;
        const part1 = 'a'.repeat(100 * 1024);
        const p1 = await client['uploadPart']!({
          Bucket: DEFAULT_BUCKET,
          Key: key,
          PartNumber: 1,
          UploadId: uploadId,
          Body: part1,
          ContentMD5: md5Base64(part1),
        });
        const p2 = await client['uploadPart']!({
          Bucket: DEFAULT_BUCKET,
          Key: key,
          PartNumber: 2,
          UploadId: uploadId,
          Body: 'tail',
        });
        expect(p1.CommonMsg.Status).toBe(200);
        const done = await client['completeMultipartUpload']!({
          Bucket: DEFAULT_BUCKET,
          Key: key,
          UploadId: uploadId,
          Parts: [
            { PartNumber: 1, ETag: p1.InterfaceResult!['ETag'] },
            { PartNumber: 2, ETag: p2.InterfaceResult!['ETag'] },
          ],
        });
        expect(done.CommonMsg.Status).toBe(200);
        expect(emu.obs.getObject(DEFAULT_BUCKET, key)?.data?.toString()).toBe(`${part1}tail`);
        expect(emu.requests.every((r) => r.authOk)).toBe(true);
      } finally {
        client.close();
      }
    });
  });
});
