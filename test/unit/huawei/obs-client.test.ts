/**
 * ObsClient over a scripted dispatcher (no socket): the exact request of every call (method,
 * path-style or virtual-hosted address, sub-resources, headers, signature, body, deadline), how
 * each answer is read, and the answers it refuses. The same calls against the emulator are in
 * test/integration/huawei/obs-client.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { ObsClient } from '../../../src/huawei/obs.js';
import { signObsRequest } from '../../../src/huawei/sign-obs.js';
import { FAKE_KEYS, type FakeStep, fakeContext, xmlAnswer } from '../../helpers/fake-dispatcher.js';
import { rejectionOf } from '../../helpers/rejection.js';

const NOW = new Date('2026-01-02T03:04:05Z');
const ENDPOINT = 'http://127.0.0.1:9000';
const ANSWER_HINT =
  'a proxy or gateway may be answering instead of OBS: check obs-endpoint and the proxy settings';

function obs(steps: FakeStep[], options: { endpoint?: string; timeoutMs?: number; retry?: object } = {}) {
  const context = fakeContext(steps, { timeoutMs: options.timeoutMs, retry: options.retry });
  return {
    ...context,
    obs: new ObsClient(context.ctx, { endpoint: new URL(options.endpoint ?? ENDPOINT), bucket: 'bkt' }),
  };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hang = () => new Promise<never>(() => {});

describe('HeadObject', () => {
  it('a signed HEAD of the key: size, ETag and our sha256 metadata', async () => {
    const { obs: client, fake } = obs([
      { status: 200, headers: { 'content-length': '42', etag: '"e1"', 'x-obs-meta-sha256': 'ab' } },
    ]);
    expect(await client.headObject('dir/a b.tar')).toEqual({ size: 42, etag: '"e1"', sha256Hex: 'ab' });
    const [sent] = fake.requests;
    expect([sent?.method, sent?.origin, sent?.path, sent?.body]).toEqual([
      'HEAD',
      ENDPOINT,
      '/bkt/dir/a%20b.tar',
      undefined,
    ]);
    expect(sent?.headers).toEqual({
      'User-Agent': 'cph-publish/unit',
      ...signObsRequest(
        { method: 'HEAD', bucket: 'bkt', key: 'dir/a b.tar', headers: { 'User-Agent': 'cph-publish/unit' } },
        FAKE_KEYS,
        NOW,
      ),
    });
  });

  it('no Content-Length reads NaN; no metadata reads undefined', async () => {
    const { obs: client } = obs([{ status: 200 }]);
    expect(await client.headObject('a.tar')).toEqual({
      size: Number.NaN,
      etag: undefined,
      sha256Hex: undefined,
    });
  });

  it('a 404 is no object, at once; a 403 without a body fails with the header code', async () => {
    const { obs: client, fake } = obs([
      { status: 404 },
      { status: 403, headers: { 'x-obs-error-code': 'AccessDenied', 'x-obs-request-id': 'r403' } },
    ]);
    expect(await client.headObject('a.tar')).toBeUndefined();
    const error = await failure(client.headObject('a.tar'));
    expect(error.message).toBe(
      'OBS HeadObject failed: AccessDenied (HTTP 403, error code AccessDenied, request id r403)',
    );
    expect(fake.requests).toHaveLength(2);
  });

  it('a 502 without an OBS error on every attempt is retried, then fails: never read as an object', async () => {
    const { obs: client, fake, logs } = obs([], { retry: { maxAttempts: 3 } });
    fake.queue({ status: 502 }, { status: 502 }, { status: 502, body: '<html>bad gateway</html>' });
    const error = await failure(client.headObject('a.tar'));
    expect([error.status, error.detail]).toEqual([502, '<html>bad gateway</html>']);
    expect(logs).toHaveLength(2);
  });
});

describe('PutObject', () => {
  it('a PUT with the given headers, Content-Length and x-obs-content-sha256, signed; the new ETag', async () => {
    const { obs: client, fake } = obs([{ status: 200, headers: { etag: '"new"' } }], {
      endpoint: 'https://obs.example.com',
    });
    const result = await client.putObject('rel/app.tar', {
      body: 'payload',
      length: 7,
      sha256Hex: sha256('payload'),
      headers: { 'Content-Type': 'application/x-tar', 'x-obs-meta-sha256': 'cd' },
    });
    expect(result).toEqual({ etag: '"new"' });
    const [sent] = fake.requests;
    const headers = {
      'User-Agent': 'cph-publish/unit',
      'Content-Type': 'application/x-tar',
      'x-obs-meta-sha256': 'cd',
      'Content-Length': '7',
      'x-obs-content-sha256': sha256('payload'),
    };
    expect([sent?.method, sent?.origin, sent?.path, sent?.body]).toEqual([
      'PUT',
      'https://bkt.obs.example.com',
      '/rel/app.tar',
      'payload',
    ]);
    expect(sent?.headers).toEqual({
      ...headers,
      ...signObsRequest({ method: 'PUT', bucket: 'bkt', key: 'rel/app.tar', headers }, FAKE_KEYS, NOW),
    });
  });

  it('without a digest, no x-obs-content-sha256; a streamed body is opened again on a retry', async () => {
    const { obs: client, fake } = obs([{ status: 500 }, { status: 200 }]);
    let opened = 0;
    let undone = 0;
    const result = await client.putObject(
      'a.tar',
      {
        body: async function* () {
          opened++;
          yield Buffer.from('data');
        },
        length: 4,
        headers: {},
      },
      () => undone++,
    );
    expect(result).toEqual({ etag: undefined });
    expect([opened, undone]).toEqual([2, 1]);
    expect(
      fake.requests.map((r) => [r.body, r.headers['x-obs-content-sha256'], r.headers['Content-Length']]),
    ).toEqual([
      ['data', undefined, '4'],
      ['data', undefined, '4'],
    ]);
  });

  it('the deadline of a transfer: the API deadline once more per 8 MiB', async () => {
    const { obs: client, fake } = obs([hang], { timeoutMs: 100, retry: { maxAttempts: 1 } });
    const error = await failure(
      client.putObject('a.tar', { body: 'x', length: 8 * 1024 * 1024, headers: {} }),
    );
    expect(error.detail).toBe('no complete answer from 127.0.0.1:9000 within 0.2 s');
    fake.queue(hang);
    const error2 = await failure(
      client.putObject('a.tar', { body: 'x', length: 4 * 1024 * 1024 + 1, headers: {} }),
    );
    expect(error2.detail).toBe('no complete answer from 127.0.0.1:9000 within 0.2 s');
    fake.queue(hang);
    const error3 = await failure(client.putObject('a.tar', { body: 'x', length: 0, headers: {} }));
    expect(error3.detail).toBe('no complete answer from 127.0.0.1:9000 within 0.1 s');
  });

  it('putObjectText: UTF-8 bytes, their length and SHA-256, JSON by default or the given type', async () => {
    const { obs: client, fake } = obs([{ status: 200, headers: { etag: '"t"' } }, { status: 200 }]);
    expect(await client.putObjectText('ledger/é.json', '{"é":1}')).toEqual({ etag: '"t"' });
    await client.putObjectText('notes.txt', 'hi', 'text/plain');
    const [json, text] = fake.requests;
    expect([json?.path, json?.body, json?.headers['Content-Type'], json?.headers['Content-Length']]).toEqual([
      '/bkt/ledger/%C3%A9.json',
      '{"é":1}',
      'application/json',
      '8',
    ]);
    expect(json?.headers['x-obs-content-sha256']).toBe(sha256('{"é":1}'));
    expect([text?.headers['Content-Type'], text?.headers['x-obs-content-sha256']]).toEqual([
      'text/plain',
      sha256('hi'),
    ]);
  });
});

describe('GetObject', () => {
  it('the text and ETag; null on 404', async () => {
    const { obs: client, fake } = obs([
      { status: 200, headers: { etag: '"g"' }, body: 'héllo' },
      { status: 404 },
    ]);
    expect(await client.getObjectText('k.json')).toEqual({ body: 'héllo', etag: '"g"' });
    expect(await client.getObjectText('k.json')).toBeNull();
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/bkt/k.json'],
      ['GET', '/bkt/k.json'],
    ]);
  });
});

describe('multipart', () => {
  it('Initiate: POST ?uploads with the given headers; the UploadId', async () => {
    const { obs: client, fake } = obs([
      xmlAnswer(
        200,
        '<InitiateMultipartUploadResult xmlns="x"><UploadId>u-1</UploadId></InitiateMultipartUploadResult>',
      ),
    ]);
    expect(await client.initiateMultipartUpload('big.tar', { 'x-obs-meta-sha256': 'ab' })).toBe('u-1');
    const [sent] = fake.requests;
    expect([sent?.method, sent?.path, sent?.headers['x-obs-meta-sha256']]).toEqual([
      'POST',
      '/bkt/big.tar?uploads',
      'ab',
    ]);
    expect(sent?.headers.Authorization).toBe(
      signObsRequest(
        {
          method: 'POST',
          bucket: 'bkt',
          key: 'big.tar',
          subresources: { uploads: undefined },
          headers: { 'User-Agent': 'cph-publish/unit', 'x-obs-meta-sha256': 'ab' },
        },
        FAKE_KEYS,
        NOW,
      ).Authorization,
    );
  });

  it('Initiate: an answer without UploadId (or an empty one) fails with the start of the answer', async () => {
    const long = `<InitiateMultipartUploadResult><UploadId></UploadId>${'x'.repeat(300)}</InitiateMultipartUploadResult>`;
    const { obs: client } = obs([xmlAnswer(200, long, 'r-i')]);
    const error = await failure(client.initiateMultipartUpload('big.tar', {}));
    expect(error.detail).toBe(`the answer has no UploadId: ${long.slice(0, 200)}…`);
    expect([error.operation, error.status, error.requestId, error.hint]).toEqual([
      'InitiateMultipartUpload',
      200,
      'r-i',
      ANSWER_HINT,
    ]);
  });

  it('Initiate: onRetry runs before a repeated attempt (each may have opened an upload)', async () => {
    let retried = 0;
    const { obs: client } = obs([{ status: 503 }, xmlAnswer(200, '<R><UploadId>u-2</UploadId></R>')]);
    expect(await client.initiateMultipartUpload('big.tar', {}, () => retried++)).toBe('u-2');
    expect(retried).toBe(1);
  });

  it('UploadPart: PUT ?partNumber&uploadId with the length and digest; the ETag verbatim', async () => {
    const { obs: client, fake } = obs([{ status: 200, headers: { etag: '"p1"' } }]);
    const etag = await client.uploadPart('big.tar', 'u/1', {
      partNumber: 3,
      length: 4,
      sha256Hex: sha256('abcd'),
      body: async function* () {
        yield Buffer.from('abcd');
      },
    });
    expect(etag).toBe('"p1"');
    const [sent] = fake.requests;
    expect([
      sent?.method,
      sent?.path,
      sent?.body,
      sent?.headers['Content-Length'],
      sent?.headers['x-obs-content-sha256'],
    ]).toEqual(['PUT', '/bkt/big.tar?partNumber=3&uploadId=u%2F1', 'abcd', '4', sha256('abcd')]);
  });

  it('UploadPart: a failed attempt is undone (onRetry) and the part sent again', async () => {
    const { obs: client, fake } = obs([{ status: 500 }, { status: 200, headers: { etag: '"p2"' } }]);
    let undone = 0;
    const part = {
      partNumber: 2,
      length: 2,
      body: async function* () {
        yield Buffer.from('xy');
      },
    };
    expect(await client.uploadPart('big.tar', 'u', part, () => undone++)).toBe('"p2"');
    expect([undone, fake.requests.map((r) => r.body)]).toEqual([1, ['xy', 'xy']]);
  });

  it('UploadPart: no ETag header fails, with the request id; the part deadline grows with its size', async () => {
    const { obs: client, fake } = obs([{ status: 200, headers: { 'x-obs-request-id': 'r-p' } }], {
      timeoutMs: 100,
      retry: { maxAttempts: 1 },
    });
    const part = { partNumber: 1, length: 16 * 1024 * 1024, body: async function* () {} };
    const error = await failure(client.uploadPart('big.tar', 'u', part));
    expect(error.message).toBe(
      'OBS UploadPart failed: the answer has no ETag header (HTTP 200, request id r-p)',
    );
    fake.queue(hang);
    expect((await failure(client.uploadPart('big.tar', 'u', part))).detail).toBe(
      'no complete answer from 127.0.0.1:9000 within 0.3 s',
    );
  });

  it('Complete: POST ?uploadId with the parts as XML, ETags escaped', async () => {
    const { obs: client, fake } = obs([xmlAnswer(200, '<CompleteMultipartUploadResult/>')]);
    await client.completeMultipartUpload('big.tar', 'u-1', [
      { partNumber: 1, etag: '"a<b>&\'"' },
      { partNumber: 2, etag: 'e2' },
    ]);
    const [sent] = fake.requests;
    expect([sent?.method, sent?.path, sent?.headers['Content-Type'], sent?.body]).toEqual([
      'POST',
      '/bkt/big.tar?uploadId=u-1',
      'application/xml',
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;a&#60;b&#62;&#38;&#39;&#34;</ETag></Part>' +
        '<Part><PartNumber>2</PartNumber><ETag>e2</ETag></Part></CompleteMultipartUpload>',
    ]);
  });

  it('Complete: an <Error> inside a 200 is retried, then fails with its code; an empty 200 is success', async () => {
    const errorXml =
      '<?xml version="1.0"?><Error><Code>InternalError</Code><Message>try again</Message><RequestId>r-c</RequestId></Error>';
    const { obs: client, fake, logs } = obs([xmlAnswer(200, errorXml), { status: 200 }]);
    await client.completeMultipartUpload('big.tar', 'u', []);
    expect(fake.requests).toHaveLength(2);
    expect(logs).toEqual([
      'OBS CompleteMultipartUpload: HTTP 200 with an <Error> body; retrying in 0.5 s (attempt 2 of 5)',
    ]);
    const lasting = obs([], { retry: { maxAttempts: 2 } });
    lasting.fake.queue(xmlAnswer(200, errorXml), xmlAnswer(200, errorXml));
    const error = await failure(lasting.obs.completeMultipartUpload('big.tar', 'u', []));
    expect(error.message).toBe(
      'OBS CompleteMultipartUpload failed: try again (HTTP 200, error code InternalError, request id r-c)',
    );
  });

  it('Abort: DELETE ?uploadId; a 404 (already gone) is fine', async () => {
    const { obs: client, fake } = obs([{ status: 204 }, { status: 404 }]);
    await client.abortMultipartUpload('big.tar', 'u-1');
    await client.abortMultipartUpload('big.tar', 'u-1');
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([
      ['DELETE', '/bkt/big.tar?uploadId=u-1'],
      ['DELETE', '/bkt/big.tar?uploadId=u-1'],
    ]);
    const { obs: other } = obs([{ status: 403, headers: { 'x-obs-error-code': 'AccessDenied' } }]);
    expect((await failure(other.abortMultipartUpload('big.tar', 'u'))).message).toMatch(
      /^OBS AbortMultipartUpload failed: AccessDenied \(HTTP 403, error code AccessDenied\)$/,
    );
  });
});

describe('ListMultipartUploads', () => {
  const listing = (uploads: string, tail: string) =>
    `<?xml version="1.0"?><ListMultipartUploadsResult xmlns="x">${uploads}${tail}</ListMultipartUploadsResult>`;
  const upload = (key: string, id: string, initiated = '2026-01-01T00:00:00.000Z') =>
    `<Upload><Key>${key}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`;
  const truncated = (key: string, id: string) =>
    `<IsTruncated>true</IsTruncated><NextKeyMarker>${key}</NextKeyMarker><NextUploadIdMarker>${id}</NextUploadIdMarker>`;

  it('every page, by the markers of the one before; OBS’s clock from the first answer', async () => {
    const { obs: client, fake } = obs(
      [
        {
          status: 200,
          headers: { date: 'Thu, 01 Jan 2026 00:10:00 GMT' },
          body: listing(
            upload('a.tar', 'u1') + upload('a.tar.1', 'u2', 'garbage'),
            truncated('a.tar.1', 'u2'),
          ),
        },
        {
          status: 200,
          headers: { date: 'Thu, 01 Jan 2026 09:00:00 GMT' },
          body: listing(upload('a.tar', 'u3'), truncated('a.tar.1', 'u3')),
        },
        { status: 200, body: listing('', '<IsTruncated>false</IsTruncated>') },
      ],
      { endpoint: 'https://obs.example.com' },
    );
    const before = Date.now();
    const result = await client.listMultipartUploads('a.tar');
    expect(result.uploads).toEqual([
      { key: 'a.tar', uploadId: 'u1', initiatedMs: Date.parse('2026-01-01T00:00:00.000Z') },
      { key: 'a.tar.1', uploadId: 'u2', initiatedMs: Number.NaN },
      { key: 'a.tar', uploadId: 'u3', initiatedMs: Date.parse('2026-01-01T00:00:00.000Z') },
    ]);
    expect(result.serverNowMs).toBe(Date.parse('2026-01-01T00:10:00Z'));
    expect(result.localNowMs).toBeGreaterThanOrEqual(before);
    expect(result.localNowMs).toBeLessThanOrEqual(Date.now());
    expect(fake.requests.map((r) => [r.method, r.origin, r.path])).toEqual([
      ['GET', 'https://bkt.obs.example.com', '/?uploads&prefix=a.tar'],
      ['GET', 'https://bkt.obs.example.com', '/?uploads&prefix=a.tar&key-marker=a.tar.1&upload-id-marker=u2'],
      ['GET', 'https://bkt.obs.example.com', '/?uploads&prefix=a.tar&key-marker=a.tar.1&upload-id-marker=u3'],
    ]);
    expect(fake.requests[0]?.headers.Authorization).toBe(
      signObsRequest(
        {
          method: 'GET',
          bucket: 'bkt',
          key: '',
          subresources: { uploads: undefined, prefix: 'a.tar' },
          headers: { 'User-Agent': 'cph-publish/unit' },
        },
        FAKE_KEYS,
        NOW,
      ).Authorization,
    );
  });

  it('without a readable Date, OBS’s clock is taken to be ours; no uploads is an empty list', async () => {
    const { obs: client } = obs([{ status: 200, headers: { date: 'not a date' }, body: listing('', '') }]);
    const before = Date.now();
    const result = await client.listMultipartUploads('p');
    expect(result.uploads).toEqual([]);
    expect(result.serverNowMs).toBeGreaterThanOrEqual(before);
    expect(result.serverNowMs).toBeLessThanOrEqual(result.localNowMs);
  });

  it('a truncated page is followed when only one of the markers advances', async () => {
    const { obs: client, fake } = obs([
      { status: 200, body: listing(upload('k', 'u1'), truncated('k', 'u1')) },
      { status: 200, body: listing(upload('k', 'u2'), truncated('k', 'u2')) },
      { status: 200, body: listing(upload('l', 'u2'), truncated('l', 'u2')) },
      { status: 200, body: listing('', '<IsTruncated>false</IsTruncated>') },
    ]);
    expect((await client.listMultipartUploads('')).uploads.map((u) => u.uploadId)).toEqual([
      'u1',
      'u2',
      'u2',
    ]);
    expect(fake.requests).toHaveLength(4);
  });

  it.each([
    [
      'the same markers as the page before',
      [truncated('k', 'u1'), truncated('k', 'u1')],
      2,
      'page 2, after 2 uploads',
    ],
    [
      'a first truncated page without markers',
      ['<IsTruncated>true</IsTruncated>'],
      1,
      'page 1, after 1 upload',
    ],
  ])('a truncated page with %s fails instead of looping', async (_, tails, pages, where) => {
    const { obs: client, fake } = obs(
      tails.map((tail) => ({
        status: 200,
        headers: { 'x-obs-request-id': 'r-l' },
        body: listing(upload('k', 'u1'), tail),
      })),
    );
    const error = await failure(client.listMultipartUploads('k'));
    expect(error.message).toBe(
      `OBS ListMultipartUploads failed: a truncated page (${where}) came without new NextKeyMarker/NextUploadIdMarker (HTTP 200, request id r-l)`,
    );
    expect(error.hint).toBe(ANSWER_HINT);
    expect(fake.requests).toHaveLength(pages);
  });

  it('stops at 1000 pages even when the markers keep advancing', async () => {
    let n = 0;
    const { obs: client, fake } = obs([], { retry: { maxAttempts: 1 } });
    const next = () => {
      n++;
      return { status: 200, body: listing('', truncated(`k${n}`, `u${n}`)) } as const;
    };
    for (let i = 0; i < 1001; i++) fake.queue(next);
    const error = await failure(client.listMultipartUploads('k'));
    expect(error.detail).toBe(
      'a truncated page (page 1000, after 0 uploads) came without new NextKeyMarker/NextUploadIdMarker',
    );
    expect(fake.requests).toHaveLength(1000);
  });

  it.each([
    ['without Key', '<Upload><UploadId>u</UploadId></Upload>'],
    ['with an empty Key', '<Upload><Key></Key><UploadId>u</UploadId></Upload>'],
    ['without UploadId', '<Upload><Key>k</Key></Upload>'],
  ])('an <Upload> %s fails, naming the page and how many came before', async (_, bad) => {
    const { obs: client } = obs([
      { status: 200, body: listing(upload('k', 'u0'), truncated('k', 'u0')) },
      { status: 200, body: listing(upload('k', 'u1') + upload('k', 'u2') + bad, '') },
    ]);
    expect((await failure(client.listMultipartUploads('k'))).message).toBe(
      'OBS ListMultipartUploads failed: an <Upload> without Key or UploadId on page 2, after 3 uploads (HTTP 200)',
    );
  });
});

describe('each call names its operation when OBS refuses it', () => {
  it.each([
    ['HeadObject', (c: ObsClient) => c.headObject('k')],
    ['PutObject', (c: ObsClient) => c.putObjectText('k', '{}')],
    ['GetObject', (c: ObsClient) => c.getObjectText('k')],
    ['InitiateMultipartUpload', (c: ObsClient) => c.initiateMultipartUpload('k', {})],
    [
      'UploadPart',
      (c: ObsClient) => c.uploadPart('k', 'u', { partNumber: 1, length: 0, body: async function* () {} }),
    ],
    ['CompleteMultipartUpload', (c: ObsClient) => c.completeMultipartUpload('k', 'u', [])],
    ['ListMultipartUploads', (c: ObsClient) => c.listMultipartUploads('k')],
    ['AbortMultipartUpload', (c: ObsClient) => c.abortMultipartUpload('k', 'u')],
  ])('%s', async (operation, run) => {
    const { obs: client, logs } = obs([
      { status: 500 },
      xmlAnswer(
        400,
        '<Error><Code>InvalidArgument</Code><Message>no</Message><RequestId>r</RequestId></Error>',
      ),
    ]);
    const error = await failure(run(client));
    expect(error.message).toBe(
      `OBS ${operation} failed: no (HTTP 400, error code InvalidArgument, request id r)`,
    );
    expect(logs).toEqual([`OBS ${operation}: HTTP 500; retrying in 0.5 s (attempt 2 of 5)`]);
  });
});

describe('withContext', () => {
  it('the same bucket with part of the context replaced; the original is unchanged', async () => {
    const { obs: client, ctx, fake } = obs([hang, { status: 404 }], { retry: { maxAttempts: 1 } });
    const short = client.withContext({ timeoutMs: 100 });
    expect((await failure(short.getObjectText('k'))).detail).toBe(
      'no complete answer from 127.0.0.1:9000 within 0.1 s',
    );
    expect(await client.getObjectText('k')).toBeNull();
    expect(ctx.timeoutMs).toBe(10_000);
    expect(fake.requests.map((r) => r.path)).toEqual(['/bkt/k', '/bkt/k']);
  });
});
