import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { md5Base64, obsPrepare, obsSignHeaders, type SentResponse, send } from './client.js';
import { DEFAULT_BUCKET, type Emulator, startEmulator } from './index.js';

const KEY = 'dir/app.tar';
const md5Hex = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function expectObsError(res: SentResponse, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['x-obs-error-code']).toBe(code);
  expect(res.text).toContain(`<Code>${code}</Code>`);
}

describe('OBS', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.reset());

  const obs = (input: Omit<Parameters<typeof obsPrepare>[1], 'bucket'> & { bucket?: string }) =>
    send(obsPrepare(emu.url, { bucket: DEFAULT_BUCKET, ...input }));

  async function initiate(key = KEY, headers: Record<string, string> = {}): Promise<string> {
    const res = await obs({ method: 'POST', key, query: { uploads: '' }, headers });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /<InitiateMultipartUploadResult[^>]*><Bucket>cph-bucket<\/Bucket><Key>dir\/app\.tar<\/Key>/,
    );
    return /<UploadId>([^<]+)<\/UploadId>/.exec(res.text)![1]!;
  }

  async function uploadPart(uploadId: string, partNumber: number, data: Buffer | string, withMd5 = true) {
    const headers: Record<string, string> = withMd5 ? { 'content-md5': md5Base64(data) } : {};
    return obs({ method: 'PUT', key: KEY, query: { partNumber, uploadId }, body: data, headers });
  }

  function completeXml(parts: Array<[number, string]>): string {
    return `<CompleteMultipartUpload>${parts
      .map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
  }

  const complete = (uploadId: string, xml: string) =>
    obs({
      method: 'POST',
      key: KEY,
      query: { uploadId },
      body: xml,
      headers: { 'content-type': 'application/xml', 'content-md5': md5Base64(xml) },
    });

  describe('objects', () => {
    it('stores a PUT with Content-MD5 and shows it on HEAD, GET and in the store', async () => {
      const put = await obs({
        method: 'PUT',
        key: KEY,
        body: 'payload',
        headers: {
          'content-type': 'application/x-tar',
          'content-md5': md5Base64('payload'),
          'x-obs-meta-md5': md5Hex('payload'),
        },
      });
      expect(put.status).toBe(200);
      expect(put.headers['etag']).toBe(`"${md5Hex('payload')}"`);
      expect(put.headers['x-obs-request-id']).toMatch(/^[0-9A-F]{32}$/);

      const head = await obs({ method: 'HEAD', key: KEY });
      expect(head.status).toBe(200);
      expect(head.headers).toMatchObject({
        'content-length': '7',
        etag: `"${md5Hex('payload')}"`,
        'content-type': 'application/x-tar',
        'x-obs-meta-md5': md5Hex('payload'),
      });
      expect((await obs({ method: 'GET', key: KEY })).text).toBe('payload');

      const stored = emu.obs.getObject(DEFAULT_BUCKET, KEY)!;
      expect(stored).toMatchObject({ size: 7, md5Hex: md5Hex('payload'), contentType: 'application/x-tar' });
      expect(stored.data?.toString()).toBe('payload');
      expect(readFileSync(emu.obs.objectPath(DEFAULT_BUCKET, KEY)!, 'utf8')).toBe('payload');
      expect(emu.requestsFor('PutObject')[0]).toMatchObject({
        bodyBytes: 7,
        bodyMd5: md5Hex('payload'),
        status: 200,
      });
    });

    it('answers HEAD of a missing key with 404, no body and x-obs-error-code NoSuchKey', async () => {
      const res = await obs({ method: 'HEAD', key: 'none.tar' });
      expect(res.status).toBe(404);
      expect(res.text).toBe('');
      expect(res.headers['x-obs-error-code']).toBe('NoSuchKey');
      expect(res.headers['x-obs-request-id']).toBe(emu.requests.at(-1)?.requestId);
      expect(res.headers['x-obs-request-id']).toMatch(/^[0-9A-F]{32}$/);
    });

    it('refuses a PUT whose Content-MD5 does not match (BadDigest) or is malformed (InvalidDigest)', async () => {
      expectObsError(
        await obs({
          method: 'PUT',
          key: KEY,
          body: 'payload',
          headers: { 'content-md5': md5Base64('other') },
        }),
        400,
        'BadDigest',
      );
      expectObsError(
        await obs({ method: 'PUT', key: KEY, body: 'payload', headers: { 'content-md5': 'xyz' } }),
        400,
        'InvalidDigest',
      );
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
    });

    it('checks x-obs-content-sha256 on a PUT and a part: stored when right, BadDigest when wrong, InvalidDigest when not lower-case hex', async () => {
      const ok = await obs({
        method: 'PUT',
        key: KEY,
        body: 'payload',
        headers: { 'x-obs-content-sha256': sha256Hex('payload') },
      });
      expect(ok.status).toBe(200);
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.md5Hex).toBe(md5Hex('payload'));
      const wrong = { 'x-obs-content-sha256': sha256Hex('other') };
      const bad = await obs({ method: 'PUT', key: 'dir/b.tar', body: 'payload', headers: wrong });
      expectObsError(bad, 400, 'BadDigest');
      expect(bad.text).toContain('x-obs-content-sha256');
      const upper = { 'x-obs-content-sha256': sha256Hex('payload').toUpperCase() };
      expectObsError(
        await obs({ method: 'PUT', key: 'dir/b.tar', body: 'payload', headers: upper }),
        400,
        'InvalidDigest',
      );
      expect(emu.obs.getObject(DEFAULT_BUCKET, 'dir/b.tar')).toBeUndefined();

      const uploadId = await initiate();
      const part = (body: string, digest: string) =>
        obs({
          method: 'PUT',
          key: KEY,
          query: { partNumber: 1, uploadId },
          body,
          headers: { 'x-obs-content-sha256': digest },
        });
      expectObsError(await part('part one', sha256Hex('part two')), 400, 'BadDigest');
      expect(emu.obs.uploads.get(uploadId)?.parts.has(1)).toBe(false);
      expect((await part('part one', sha256Hex('part one'))).status).toBe(200);
      expect(emu.obs.uploads.get(uploadId)?.parts.get(1)?.size).toBe(8);
    });

    it('signs x-obs-content-sha256 like any x-obs-* header: changed after signing, SignatureDoesNotMatch', async () => {
      const signed = obsPrepare(emu.url, {
        method: 'PUT',
        bucket: DEFAULT_BUCKET,
        key: KEY,
        body: 'payload',
        headers: { 'x-obs-content-sha256': sha256Hex('other') },
      });
      const forged = {
        ...signed,
        headers: { ...signed.headers, 'x-obs-content-sha256': sha256Hex('payload') },
      };
      expectObsError(await send(forged), 403, 'SignatureDoesNotMatch');
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
    });

    it('refuses a PUT without Content-Length (chunked)', async () => {
      const req = obsPrepare(emu.url, { method: 'PUT', bucket: DEFAULT_BUCKET, key: KEY });
      const { request } = await import('undici');
      const res = await request(req.url, {
        method: 'PUT',
        headers: req.headers,
        body: Readable.from([Buffer.from('abc')]),
      });
      expect(res.statusCode).toBe(411);
      expect(res.headers['x-obs-error-code']).toBe('MissingContentLength');
      await res.body.text();
    });

    it('streams a large body to disk and hashes it', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const total = 24;
      const hash = createHash('md5');
      for (let i = 0; i < total; i++) hash.update(chunk);
      const req = obsPrepare(emu.url, {
        method: 'PUT',
        bucket: DEFAULT_BUCKET,
        key: 'big.tar',
        headers: { 'content-length': String(total * chunk.length) },
      });
      const { request } = await import('undici');
      const res = await request(req.url, {
        method: 'PUT',
        headers: req.headers,
        body: Readable.from(
          (function* () {
            for (let i = 0; i < total; i++) yield chunk;
          })(),
        ),
      });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(emu.obs.getObject(DEFAULT_BUCKET, 'big.tar')).toMatchObject({
        size: total * chunk.length,
        md5Hex: hash.digest('hex'),
      });
    });

    it('serves virtual-hosted requests (bucket in the Host header) too', async () => {
      const host = `${DEFAULT_BUCKET}.obs.example.com`;
      const headers = obsSignHeaders(host, { method: 'PUT', bucket: DEFAULT_BUCKET, key: KEY, body: 'v' });
      const res = await send({ method: 'PUT', url: `${emu.url}/${KEY}`, headers, body: Buffer.from('v') });
      expect(res.status).toBe(200);
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.data?.toString()).toBe('v');
    });

    it('answers NoSuchBucket for an unknown bucket', async () => {
      expectObsError(
        await obs({ method: 'PUT', bucket: 'nope-bucket', key: KEY, body: 'x' }),
        404,
        'NoSuchBucket',
      );
      expect(() => emu.obs.putObject('nope-bucket', KEY, 'x')).toThrow(/no bucket/);
    });
  });

  describe('multipart', () => {
    const part1 = Buffer.alloc(100 * 1024, 1);
    const part2 = Buffer.alloc(100 * 1024, 2);
    const part3 = Buffer.from('tail');

    it('round trip: initiate, parts (one re-sent after BadDigest), complete assembles the object', async () => {
      const uploadId = await initiate(KEY, { 'content-type': 'application/x-tar', 'x-obs-meta-md5': 'abc' });
      expect(emu.obs.uploads.has(uploadId)).toBe(true);

      const r1 = await uploadPart(uploadId, 1, part1);
      expect(r1.status).toBe(200);
      expect(r1.headers['etag']).toBe(`"${md5Hex(part1)}"`);
      const bad = await obs({
        method: 'PUT',
        key: KEY,
        query: { partNumber: 2, uploadId },
        body: part2,
        headers: { 'content-md5': md5Base64(part1) },
      });
      expectObsError(bad, 400, 'BadDigest');
      expect(emu.obs.uploads.get(uploadId)?.parts.has(2)).toBe(false);
      const r2 = await uploadPart(uploadId, 2, part2);
      const r3 = await uploadPart(uploadId, 3, part3, false);

      const done = await complete(
        uploadId,
        completeXml([
          [1, r1.headers['etag']!],
          [2, r2.headers['etag']!],
          [3, r3.headers['etag']!],
        ]),
      );
      expect(done.status).toBe(200);
      expect(done.text).toMatch(/<CompleteMultipartUploadResult[^>]*>.*<ETag>"[0-9a-f]{32}-3"<\/ETag>/);
      expect(emu.obs.uploads.size).toBe(0);

      const all = Buffer.concat([part1, part2, part3]);
      const info = emu.obs.getObject(DEFAULT_BUCKET, KEY)!;
      expect(info).toMatchObject({
        size: all.length,
        md5Hex: md5Hex(all),
        contentType: 'application/x-tar',
        metadata: { md5: 'abc' },
        parts: 3,
      });
      expect(info.data?.equals(all)).toBe(true);
      expect(readFileSync(emu.obs.objectPath(DEFAULT_BUCKET, KEY)!).equals(all)).toBe(true);
      const head = await obs({ method: 'HEAD', key: KEY });
      expect(head.headers['etag']).toMatch(/-3"$/);
      expect(head.headers['x-obs-meta-md5']).toBe('abc');
    });

    it('accepts a namespaced body with unquoted ETags', async () => {
      const uploadId = await initiate();
      const r1 = await uploadPart(uploadId, 1, part3);
      const xml =
        '<?xml version="1.0"?><CompleteMultipartUpload xmlns="http://obs.example/doc/"><Part>' +
        `<PartNumber>1</PartNumber><ETag>${r1.headers['etag']!.replace(/"/g, '')}</ETag></Part></CompleteMultipartUpload>`;
      expect((await complete(uploadId, xml)).status).toBe(200);
    });

    it('refuses parts under the minimum size except the last (EntityTooSmall)', async () => {
      const uploadId = await initiate();
      const r1 = await uploadPart(uploadId, 1, part3);
      const r2 = await uploadPart(uploadId, 2, part1);
      expectObsError(
        await complete(
          uploadId,
          completeXml([
            [1, r1.headers['etag']!],
            [2, r2.headers['etag']!],
          ]),
        ),
        400,
        'EntityTooSmall',
      );
      expect(emu.obs.uploads.has(uploadId)).toBe(true);
    });

    it('refuses a wrong ETag (InvalidPart), descending parts (InvalidPartOrder) and an empty list', async () => {
      const uploadId = await initiate();
      const r1 = await uploadPart(uploadId, 1, part1);
      const r2 = await uploadPart(uploadId, 2, part2);
      expectObsError(
        await complete(
          uploadId,
          completeXml([
            [1, r1.headers['etag']!],
            [2, `"${'0'.repeat(32)}"`],
          ]),
        ),
        400,
        'InvalidPart',
      );
      expectObsError(
        await complete(
          uploadId,
          completeXml([
            [1, r1.headers['etag']!],
            [3, r2.headers['etag']!],
          ]),
        ),
        400,
        'InvalidPart',
      );
      expectObsError(
        await complete(
          uploadId,
          completeXml([
            [2, r2.headers['etag']!],
            [1, r1.headers['etag']!],
          ]),
        ),
        400,
        'InvalidPartOrder',
      );
      expectObsError(
        await complete(uploadId, '<CompleteMultipartUpload></CompleteMultipartUpload>'),
        400,
        'MalformedXML',
      );
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
    });

    it('answers NoSuchUpload for an unknown upload id', async () => {
      expectObsError(await uploadPart('NOPE', 1, 'x'), 404, 'NoSuchUpload');
      expectObsError(await complete('NOPE', completeXml([[1, '"x"']])), 404, 'NoSuchUpload');
      expectObsError(
        await obs({ method: 'DELETE', key: KEY, query: { uploadId: 'NOPE' } }),
        404,
        'NoSuchUpload',
      );
    });

    it('abort answers 204 and leaves no upload and no part file behind', async () => {
      const uploadId = await initiate();
      await uploadPart(uploadId, 1, part1);
      const partFile = emu.obs.uploads.get(uploadId)!.parts.get(1)!.file!;
      expect(existsSync(partFile)).toBe(true);
      const res = await obs({ method: 'DELETE', key: KEY, query: { uploadId } });
      expect(res.status).toBe(204);
      expect(emu.obs.uploads.size).toBe(0);
      expect(existsSync(partFile)).toBe(false);
      expectObsError(await uploadPart(uploadId, 2, part2), 404, 'NoSuchUpload');
    });
  });
  describe('ListMultipartUploads', () => {
    const list = (query: Record<string, string | number>) =>
      obs({ method: 'GET', query: { uploads: '', ...query } });
    const listed = (text: string) =>
      [
        ...text.matchAll(
          /<Upload><Key>([^<]*)<\/Key><UploadId>([^<]*)<\/UploadId>[\s\S]*?<Initiated>([^<]*)<\/Initiated><\/Upload>/g,
        ),
      ].map((m) => ({ key: m[1]!, uploadId: m[2]!, initiated: m[3]! }));

    it('lists the open uploads under a prefix, in key order, with the emulator clock as Initiated', async () => {
      emu.settings.clockSkewMs = 600_000;
      const a = await initiate();
      const b = await initiate();
      const other = await obs({ method: 'POST', key: 'dir/app.tar.old', query: { uploads: '' } });
      expect(other.status).toBe(200);
      await obs({ method: 'POST', key: 'else/x.tar', query: { uploads: '' } });
      const res = await list({ prefix: KEY });
      expect(res.status).toBe(200);
      expect(res.text).toContain('<IsTruncated>false</IsTruncated>');
      expect(res.text).toContain(`<Prefix>${KEY}</Prefix>`);
      const uploads = listed(res.text);
      expect(uploads.map((u) => u.key)).toEqual([KEY, KEY, 'dir/app.tar.old']);
      expect(
        uploads
          .slice(0, 2)
          .map((u) => u.uploadId)
          .sort(),
      ).toEqual([a, b].sort());
      for (const u of uploads) {
        const initiated = Date.parse(u.initiated);
        expect(Math.abs(initiated - Date.parse(res.headers['date']!))).toBeLessThan(5_000);
        expect(initiated - Date.now()).toBeGreaterThan(500_000);
      }
      emu.settings.clockSkewMs = 0;
    });

    it('pages with IsTruncated, NextKeyMarker and NextUploadIdMarker', async () => {
      emu.settings.listUploadsPageSize = 2;
      const ids = [await initiate(), await initiate(), await initiate()];
      await obs({ method: 'POST', key: 'dir/b.tar', query: { uploads: '' } });
      const seen: string[] = [];
      let markers: Record<string, string> = {};
      for (let page = 0; page < 5; page++) {
        const res = await list({ prefix: 'dir/', ...markers });
        expect(res.status).toBe(200);
        seen.push(...listed(res.text).map((u) => `${u.key} ${u.uploadId}`));
        if (!res.text.includes('<IsTruncated>true</IsTruncated>')) break;
        markers = {
          'key-marker': /<NextKeyMarker>([^<]*)</.exec(res.text)![1]!,
          'upload-id-marker': /<NextUploadIdMarker>([^<]*)</.exec(res.text)![1]!,
        };
      }
      expect(seen).toHaveLength(4);
      expect(new Set(seen).size).toBe(4);
      expect(
        seen
          .filter((s) => s.startsWith(`${KEY} `))
          .map((s) => s.split(' ')[1])
          .sort(),
      ).toEqual(ids.sort());
      expect(emu.requestsFor('ListMultipartUploads')).toHaveLength(2);
    });

    it('checks the signature over /{bucket}/?uploads', async () => {
      const good = obsPrepare(emu.url, {
        bucket: DEFAULT_BUCKET,
        method: 'GET',
        query: { uploads: '', prefix: KEY },
      });
      expect((await send(good)).status).toBe(200);
      const forged = obsPrepare(emu.url, { bucket: DEFAULT_BUCKET, method: 'GET', query: { acl: '' } });
      forged.url = forged.url.replace('?acl', `?uploads&prefix=${encodeURIComponent(KEY)}`);
      expectObsError(await send(forged), 403, 'SignatureDoesNotMatch');
    });

    it('refuses max-uploads outside 1–1000', async () => {
      expectObsError(await list({ 'max-uploads': 0 }), 400, 'InvalidArgument');
    });
  });

  describe('throttle', () => {
    it('reads a body no faster than bytesPerSecond and delays every answer', async () => {
      emu.settings.throttle = { bytesPerSecond: 1024 * 1024, answerDelayMs: 150 };
      const body = Buffer.alloc(512 * 1024, 1);
      const started = Date.now();
      const res = await obs({ method: 'PUT', key: KEY, body, headers: { 'content-md5': md5Base64(body) } });
      const took = Date.now() - started;
      expect(res.status).toBe(200);
      // 0.5 MiB at 1 MiB/s is 500 ms, plus the 150 ms before the answer: a floor, whatever the load.
      expect(took).toBeGreaterThanOrEqual(640);
      const head = Date.now();
      expect((await obs({ method: 'HEAD', key: KEY })).status).toBe(200);
      expect(Date.now() - head).toBeGreaterThanOrEqual(145);
    });
  });
});

describe('reset', () => {
  it('drops objects and open uploads, or keeps objects with keepObjects; clearRequests only forgets requests', async () => {
    const emu = await startEmulator();
    try {
      emu.obs.putObject(DEFAULT_BUCKET, KEY, 'kept');
      await send(
        obsPrepare(emu.url, { method: 'POST', bucket: DEFAULT_BUCKET, key: KEY, query: { uploads: '' } }),
      );
      expect(emu.obs.uploads.size).toBe(1);
      emu.clearRequests();
      expect(emu.requests).toHaveLength(0);
      expect(emu.obs.uploads.size).toBe(1);
      emu.reset({ keepObjects: true });
      expect(emu.obs.uploads.size).toBe(0);
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.data?.toString()).toBe('kept');
      emu.reset();
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
    } finally {
      await emu.close();
    }
  });
});

describe('OBS with discardObjectData', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ discardObjectData: true });
  });
  afterAll(() => emu.close());

  it('counts and hashes bodies but keeps no bytes', async () => {
    const res = await send(
      obsPrepare(emu.url, { method: 'PUT', bucket: DEFAULT_BUCKET, key: KEY, body: 'abc' }),
    );
    expect(res.status).toBe(200);
    const info = emu.obs.getObject(DEFAULT_BUCKET, KEY)!;
    expect(info).toMatchObject({ size: 3, md5Hex: md5Hex('abc') });
    expect(info.data).toBeUndefined();
    expect(emu.obs.objectPath(DEFAULT_BUCKET, KEY)).toBeUndefined();

    const init = await send(
      obsPrepare(emu.url, { method: 'POST', bucket: DEFAULT_BUCKET, key: KEY, query: { uploads: '' } }),
    );
    const uploadId = /<UploadId>([^<]+)/.exec(init.text)![1]!;
    const part = await send(
      obsPrepare(emu.url, {
        method: 'PUT',
        bucket: DEFAULT_BUCKET,
        key: KEY,
        query: { partNumber: 1, uploadId },
        body: 'xyz',
      }),
    );
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers['etag']}</ETag></Part></CompleteMultipartUpload>`;
    const done = await send(
      obsPrepare(emu.url, {
        method: 'POST',
        bucket: DEFAULT_BUCKET,
        key: KEY,
        query: { uploadId },
        body: xml,
      }),
    );
    expect(done.status).toBe(200);
    expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toMatchObject({ size: 3, md5Hex: null, parts: 1 });
  });
});
