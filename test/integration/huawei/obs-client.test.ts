/**
 * ObsClient against the emulator over real HTTP: the small-object calls (GET, PUT with
 * x-obs-content-sha256, HEAD), the digests of a part, and every way an answer can be wrong —
 * body-less 404/403, a proxy's HTML page on every attempt, a 200 without UploadId or ETag,
 * ListMultipartUploads markers that do not advance.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { ObsClient } from '../../../src/huawei/obs.js';
import { DEFAULT_BUCKET, type Emulator, obsError, startEmulator } from '../../emulator/index.js';
import { type TestContext, testContext } from '../../helpers/client-context.js';
import { rejectionOf } from '../../helpers/rejection.js';

let emu: Emulator;
let test: TestContext;
let obs: ObsClient;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.close());
beforeEach(async () => {
  emu.reset();
  await test?.close();
  test = testContext();
  obs = new ObsClient(test.ctx, { endpoint: new URL(emu.url), bucket: DEFAULT_BUCKET });
});

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('small objects (the ledger, manifests)', () => {
  it('putObjectText sends x-obs-content-sha256 of its bytes, signed; getObjectText reads it back with its ETag', async () => {
    const text = '{"format":1,"servers":{"s-1":{"sha256":"ab"}}}\n';
    const put = await obs.putObjectText('ledger/fleet.json', text);
    const [sent] = emu.requestsFor('PutObject');
    expect(sent?.authOk).toBe(true);
    expect(sent?.headers['x-obs-content-sha256']).toBe(sha256(text));
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers['content-md5']).toBeUndefined();
    expect(put.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const read = await obs.getObjectText('ledger/fleet.json');
    expect(read).toEqual({ body: text, etag: put.etag });
  });

  it('getObjectText of a missing key is null, not an error', async () => {
    expect(await obs.getObjectText('ledger/none.json')).toBeNull();
    expect(emu.requestsFor('GetObject').map((r) => r.status)).toEqual([404]);
  });

  it('a 403 on GetObject fails with the code and request id', async () => {
    emu.faults.add({
      op: 'GetObject',
      action: { kind: 'status', status: 403, headers: { 'x-obs-error-code': 'AccessDenied' } },
    });
    const error = await failure(obs.getObjectText('ledger/fleet.json'));
    expect([error.operation, error.status, error.code]).toEqual(['GetObject', 403, 'AccessDenied']);
    expect(error.requestId).toBe(emu.requestsFor('GetObject')[0]?.requestId);
  });
});

describe('HEAD', () => {
  it('returns size, ETag and the x-obs-meta-sha256 metadata; undefined on 404', async () => {
    emu.obs.putObject(DEFAULT_BUCKET, 'a.tar', 'tar bytes', { metadata: { sha256: 'f'.repeat(64) } });
    expect(await obs.headObject('a.tar')).toEqual({
      size: 9,
      etag: `"${createHash('md5').update('tar bytes').digest('hex')}"`,
      sha256Hex: 'f'.repeat(64),
    });
    expect(await obs.headObject('missing.tar')).toBeUndefined();
  });

  it('a 403 without a body reads x-obs-error-code and names the bucket permissions', async () => {
    emu.faults.add({
      op: 'HeadObject',
      action: { kind: 'status', status: 403, headers: { 'x-obs-error-code': 'AccessDenied' } },
    });
    const error = await failure(obs.headObject('a.tar'));
    expect([error.status, error.code, error.detail]).toEqual([403, 'AccessDenied', 'AccessDenied']);
    expect(error.hint).toMatch(/OBS permissions/);
    expect(emu.requestsFor('HeadObject')).toHaveLength(1);
  });

  it('a 403 with neither body nor error header says so, not that it succeeded', async () => {
    emu.faults.add({ op: 'HeadObject', action: { kind: 'status', status: 403 } });
    const error = await failure(obs.headObject('a.tar'));
    expect(error.message).toMatch(/^OBS HeadObject failed: the answer has no body \(HTTP 403, request id /);
  });
});

describe("a proxy's 502 HTML page on every attempt", () => {
  it('is retried as often as the policy allows, then fails with the start of the page', async () => {
    emu.faults.add({
      op: 'PutObject',
      times: Number.POSITIVE_INFINITY,
      action: { kind: 'status', status: 502, body: '<html><body>Bad Gateway</body></html>', headers: {} },
    });
    const error = await failure(obs.putObjectText('ledger/fleet.json', '{}'));
    expect(error.status).toBe(502);
    expect(error.detail).toBe('<html><body>Bad Gateway</body></html>');
    expect(emu.requestsFor('PutObject')).toHaveLength(test.ctx.retry.maxAttempts);
    expect(test.logs).toHaveLength(test.ctx.retry.maxAttempts - 1);
    expect(test.logs[0]).toMatch(/^OBS PutObject: HTTP 502; retrying in /);
  });
});

describe('an <Error> inside a 200 (CompleteMultipartUpload)', () => {
  it('is retried like a 500 with a notice saying so, and fails with its code when it lasts', async () => {
    const uploadId = await obs.initiateMultipartUpload('big.tar', {});
    emu.faults.add({
      op: 'CompleteMultipartUpload',
      times: Number.POSITIVE_INFINITY,
      action: obsError(200, 'InternalError'),
    });
    const error = await failure(
      obs.completeMultipartUpload('big.tar', uploadId, [{ partNumber: 1, etag: '"x"' }]),
    );
    expect([error.status, error.code, error.detail]).toEqual([
      200,
      'InternalError',
      'We encountered an internal error. Please try again.',
    ]);
    expect(error.requestId).toBe(emu.requestsFor('CompleteMultipartUpload').at(-1)?.requestId);
    expect(emu.requestsFor('CompleteMultipartUpload')).toHaveLength(test.ctx.retry.maxAttempts);
    expect(test.logs[0]).toMatch(/^OBS CompleteMultipartUpload: HTTP 200 with an <Error> body; retrying in /);
  });
});

describe('answers without what OBS promises', () => {
  it('an InitiateMultipartUpload 200 without UploadId fails, pointing at a proxy', async () => {
    emu.faults.add({
      op: 'InitiateMultipartUpload',
      action: { kind: 'status', status: 200, body: '<InitiateMultipartUploadResult/>' },
    });
    const error = await failure(obs.initiateMultipartUpload('big.tar', {}));
    expect(error.detail).toBe('the answer has no UploadId: <InitiateMultipartUploadResult/>');
    expect(error.status).toBe(200);
    expect(error.hint).toBe(
      'a proxy or gateway may be answering instead of OBS: check obs-endpoint and the proxy settings',
    );
  });

  it('an UploadPart 200 without ETag fails; the part carries the digests it is given', async () => {
    const uploadId = await obs.initiateMultipartUpload('big.tar', {});
    const body = Buffer.from('part one');
    const part = {
      partNumber: 1,
      length: body.length,
      sha256Hex: createHash('sha256').update(body).digest('hex'),
      body: async function* () {
        yield body;
      },
    };
    const etag = await obs.uploadPart('big.tar', uploadId, part);
    expect(etag).toMatch(/^"/);
    const [sent] = emu.requestsFor('UploadPart');
    expect(sent?.headers['x-obs-content-sha256']).toBe(part.sha256Hex);
    expect(sent?.headers['content-md5']).toBeUndefined();
    expect(sent?.authOk).toBe(true);

    emu.faults.add({ op: 'UploadPart', action: { kind: 'status', status: 200 } });
    const error = await failure(obs.uploadPart('big.tar', uploadId, { ...part, partNumber: 2 }));
    expect([error.operation, error.detail]).toEqual(['UploadPart', 'the answer has no ETag header']);
  });

  const listing = (uploads: string, tail: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${DEFAULT_BUCKET}</Bucket>${uploads}${tail}</ListMultipartUploadsResult>`;
  const upload = (key: string, id: string) =>
    `<Upload><Key>${key}</Key><UploadId>${id}</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload>`;

  it('ListMultipartUploads: a truncated page whose markers do not advance fails instead of looping', async () => {
    const page = listing(
      upload('a.tar', 'u1'),
      '<IsTruncated>true</IsTruncated><NextKeyMarker>a.tar</NextKeyMarker><NextUploadIdMarker>u1</NextUploadIdMarker>',
    );
    emu.faults.add({
      op: 'ListMultipartUploads',
      times: Number.POSITIVE_INFINITY,
      action: { kind: 'status', status: 200, body: page },
    });
    const error = await failure(obs.listMultipartUploads('a.tar'));
    expect(error.detail).toBe(
      'a truncated page (page 2, after 2 uploads) came without new NextKeyMarker/NextUploadIdMarker',
    );
    expect(emu.requestsFor('ListMultipartUploads').map((r) => r.query['key-marker'])).toEqual([
      undefined,
      'a.tar',
    ]);
  });

  it('ListMultipartUploads: an <Upload> without UploadId fails instead of being listed as ""', async () => {
    emu.faults.add({
      op: 'ListMultipartUploads',
      action: {
        kind: 'status',
        status: 200,
        body: listing(
          `${upload('a.tar', 'u1')}<Upload><Key>a.tar</Key></Upload>`,
          '<IsTruncated>false</IsTruncated>',
        ),
      },
    });
    const error = await failure(obs.listMultipartUploads('a.tar'));
    expect(error.detail).toBe('an <Upload> without Key or UploadId on page 1, after 1 upload');
  });
});

describe('credentials', () => {
  it('are asked for before every attempt, so a long upload signs with renewed keys', async () => {
    const inner = test.ctx.credentials;
    let asked = 0;
    test.ctx.credentials = {
      info: inner.info,
      get: (signal) => {
        asked++;
        return inner.get(signal);
      },
    };
    emu.faults.add({ op: 'PutObject', action: obsError(503, 'ServiceUnavailable') });
    await obs.putObjectText('ledger/a.json', '{}');
    await obs.getObjectText('ledger/a.json');
    expect(emu.requestsFor(['PutObject', 'GetObject']).map((r) => r.status)).toEqual([503, 200, 200]);
    expect(asked).toBe(3);
  });
});
