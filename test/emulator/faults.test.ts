import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apigPrepare, md5Base64, obsPrepare, type PreparedRequest, send } from './client.js';
import {
  apigError,
  DEFAULT_BUCKET,
  DEFAULT_PROJECT_ID,
  type Emulator,
  obsError,
  shortPage,
  startEmulator,
} from './index.js';

const OBJECT = 'apps/app.tar';

describe('fault injection', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.reset();
    emu.obs.putObject(DEFAULT_BUCKET, OBJECT, 'tar');
  });

  const pushReq = (serverIds = ['s1']): PreparedRequest =>
    apigPrepare(emu.url, {
      method: 'POST',
      path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`,
      json: { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: serverIds },
    });
  const listReq = () =>
    apigPrepare(emu.url, {
      method: 'GET',
      path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs`,
      query: { limit: 100 },
    });
  const headReq = () => obsPrepare(emu.url, { method: 'HEAD', bucket: DEFAULT_BUCKET, key: OBJECT });
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the request to fail');
      },
      (err: Error & { code?: string }) => err,
    );

  describe('status', () => {
    it('answers a realistic 429 APIG.0308 instead of handling the push, once', async () => {
      emu.faults.add({ op: 'PushShareFiles', action: apigError(429, 'APIG.0308') });
      const res = await send(pushReq());
      expect(res.status).toBe(429);
      const body = res.json<{ error_code: string; error_msg: string; request_id: string }>();
      expect(body.error_code).toBe('APIG.0308');
      expect(body.error_msg).toMatch(/throttling/);
      expect(body.request_id).toBe(res.headers['x-request-id']);
      expect(emu.cph.jobs).toHaveLength(0);
      expect(emu.requests[0]).toMatchObject({
        fault: 'status:429',
        status: 429,
        errorCode: 'APIG.0308',
        authOk: true,
      });
      expect((await send(pushReq())).status).toBe(200);
      expect(emu.faults.pending()).toEqual([]);
    });

    it('honours times, Infinity, op lists and "*", in the order added', async () => {
      emu.faults.add({ op: ['ListJobs', 'ShowJob'], times: 2, action: { kind: 'status', status: 503 } });
      emu.faults.add({ op: 'ListJobs', action: { kind: 'status', status: 500 } });
      expect((await send(listReq())).status).toBe(503);
      expect((await send(listReq())).status).toBe(503);
      expect((await send(listReq())).status).toBe(500);
      expect((await send(listReq())).status).toBe(200);
      emu.faults.add({ op: '*', times: Number.POSITIVE_INFINITY, action: { kind: 'status', status: 502 } });
      expect((await send(headReq())).status).toBe(502);
      expect((await send(listReq())).status).toBe(502);
      expect(emu.faults.pending()[0]?.remaining).toBe(Number.POSITIVE_INFINITY);
    });

    it('can answer a list page that ends early: no entries, or some, with the count given', async () => {
      emu.faults.add({ op: 'ListJobs', action: shortPage('servers', { count: 3022 }) });
      emu.faults.add({ op: 'ListJobs', action: shortPage('jobs', { entries: [{ job_id: 'j1' }] }) });
      const empty = await send(listReq());
      expect(empty.status).toBe(200);
      expect(empty.json()).toEqual({ request_id: empty.headers['x-request-id'], count: 3022, servers: [] });
      const some = await send(listReq());
      expect(some.json()).toEqual({ request_id: some.headers['x-request-id'], jobs: [{ job_id: 'j1' }] });
      expect(emu.requests.map((r) => r.fault)).toEqual(['status:200', 'status:200']);
    });

    it('can answer malformed JSON', async () => {
      emu.faults.add({ op: 'ListJobs', action: { kind: 'status', status: 200, body: '{not json' } });
      const res = await send(listReq());
      expect(res.status).toBe(200);
      expect(res.text).toBe('{not json');
    });

    it('can answer an OBS <Error> inside a 200 for CompleteMultipartUpload, leaving the upload open', async () => {
      const init = await send(
        obsPrepare(emu.url, { method: 'POST', bucket: DEFAULT_BUCKET, key: OBJECT, query: { uploads: '' } }),
      );
      const uploadId = /<UploadId>([^<]+)/.exec(init.text)![1]!;
      const part = await send(
        obsPrepare(emu.url, {
          method: 'PUT',
          bucket: DEFAULT_BUCKET,
          key: OBJECT,
          query: { partNumber: 1, uploadId },
          body: 'x',
        }),
      );
      emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(200, 'InternalError') });
      const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers['etag']}</ETag></Part></CompleteMultipartUpload>`;
      const res = await send(
        obsPrepare(emu.url, {
          method: 'POST',
          bucket: DEFAULT_BUCKET,
          key: OBJECT,
          query: { uploadId },
          body: xml,
          headers: { 'content-type': 'application/xml', 'content-md5': md5Base64(xml) },
        }),
      );
      expect(res.status).toBe(200);
      expect(res.text).toContain('<Error><Code>InternalError</Code>');
      expect(res.text).toContain(`<RequestId>${res.headers['x-obs-request-id']}</RequestId>`);
      expect(res.headers['x-obs-error-code']).toBeUndefined();
      expect(emu.obs.uploads.has(uploadId)).toBe(true);
    });

    it('targets one part number of UploadPart', async () => {
      const init = await send(
        obsPrepare(emu.url, { method: 'POST', bucket: DEFAULT_BUCKET, key: OBJECT, query: { uploads: '' } }),
      );
      const uploadId = /<UploadId>([^<]+)/.exec(init.text)![1]!;
      emu.faults.add({ op: 'UploadPart', partNumber: 2, action: obsError(503, 'ServiceUnavailable') });
      const partReq = (n: number) =>
        obsPrepare(emu.url, {
          method: 'PUT',
          bucket: DEFAULT_BUCKET,
          key: OBJECT,
          query: { partNumber: n, uploadId },
          body: 'x',
        });
      expect((await send(partReq(1))).status).toBe(200);
      const failed = await send(partReq(2));
      expect(failed.status).toBe(503);
      expect(failed.headers['x-obs-error-code']).toBe('ServiceUnavailable');
      expect((await send(partReq(2))).status).toBe(200);
      expect(emu.requestsFor('UploadPart').map((r) => r.fault)).toEqual([undefined, 'status:503', undefined]);
    });
  });

  describe('delay', () => {
    it('answers late but normally', async () => {
      emu.faults.add({ op: 'ListJobs', action: { kind: 'delay', ms: 150 } });
      const start = Date.now();
      const res = await send(listReq());
      expect(res.status).toBe(200);
      expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    });

    it('delays OBS reads too', async () => {
      emu.faults.add({ op: 'HeadObject', action: { kind: 'delay', ms: 150 } });
      const start = Date.now();
      expect((await send(headReq())).status).toBe(200);
      expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    });

    it('lets the client time out while the push still happens', async () => {
      emu.faults.add({ op: 'PushShareFiles', action: { kind: 'delay', ms: 1500 } });
      const err = await errorOf(send(pushReq(['s1', 's2']), { timeoutMs: 80 }));
      expect(err.name).toBe('TimeoutError');
      expect(emu.cph.jobs).toHaveLength(0);
      // The push lands once the delay is over: wait for that event, not for a guessed time.
      await vi.waitFor(() => expect(emu.cph.jobs.map((j) => j.serverId)).toEqual(['s1', 's2']), {
        timeout: 10_000,
        interval: 20,
      });
      expect(emu.requests[0]).toMatchObject({ fault: 'delay:1500', aborted: true });
    });
  });

  describe('drop', () => {
    it('closes the socket on the request head without processing anything', async () => {
      emu.faults.add({ op: 'PushShareFiles', action: { kind: 'drop' } });
      const err = await errorOf(send(pushReq()));
      expect(err.code).toBe('UND_ERR_SOCKET');
      expect(emu.cph.jobs).toHaveLength(0);
      expect(emu.requests[0]).toMatchObject({ op: 'PushShareFiles', fault: 'drop', status: 0 });
      expect(emu.requests[0]?.aborted).toBeUndefined();
      expect((await send(pushReq())).status).toBe(200);
    });

    it('drop-after processes the push fully, then closes without answering', async () => {
      emu.faults.add({ op: 'PushShareFiles', action: { kind: 'drop-after' } });
      const err = await errorOf(send(pushReq(['s1', 's2'])));
      expect(err.code).toBe('UND_ERR_SOCKET');
      expect(emu.cph.jobs.map((j) => j.serverId)).toEqual(['s1', 's2']);
      expect(emu.cph.pushes[0]?.requestId).toBe(emu.requests[0]?.requestId);
      expect(emu.requests[0]).toMatchObject({ fault: 'drop-after', status: 200 });
    });
  });

  describe('refuse', () => {
    it('refuses connections until told to listen again, then listens on the same port', async () => {
      emu.faults.add({ op: 'HeadObject', action: { kind: 'refuse' } });
      const first = await errorOf(send(headReq()));
      expect(first.code).toBe('UND_ERR_SOCKET');
      const during = await errorOf(send(listReq()));
      expect(during.code).toBe('ECONNREFUSED');
      expect((await errorOf(send(listReq()))).code).toBe('ECONNREFUSED');
      await emu.listenAgain();
      expect((await send(headReq())).status).toBe(200);
      expect(emu.requests.map((r) => [r.op, r.fault])).toEqual([
        ['HeadObject', 'refuse:held'],
        ['HeadObject', undefined],
      ]);
    });

    it('with ms, listens again by itself', async () => {
      emu.faults.add({ op: 'HeadObject', action: { kind: 'refuse', ms: 50 } });
      expect((await errorOf(send(headReq()))).code).toBe('UND_ERR_SOCKET');
      await vi.waitFor(async () => expect((await send(headReq())).status).toBe(200), {
        timeout: 10_000,
        interval: 20,
      });
      expect(emu.requests[0]?.fault).toBe('refuse:50');
    });
  });
});

describe('faults from options', () => {
  it('accepts rules in EmulatorOptions (JSON "times": null means Infinity) and restores them on reset', async () => {
    const options = JSON.parse(
      '{"faults":[{"op":"ListProjects","times":null,"action":{"kind":"status","status":503}}]}',
    ) as Parameters<typeof startEmulator>[0];
    const emu = await startEmulator(options);
    try {
      const list = () =>
        send(apigPrepare(emu.url, { method: 'GET', path: '/v3/projects', query: { name: 'cn-east-3' } }));
      expect((await list()).status).toBe(503);
      expect((await list()).status).toBe(503);
      emu.faults.clear();
      expect((await list()).status).toBe(200);
      emu.reset();
      expect((await list()).status).toBe(503);
    } finally {
      await emu.close();
    }
  });
});
