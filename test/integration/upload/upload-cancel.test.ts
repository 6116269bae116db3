/**
 * The upload in-process against the emulator: the action's own ObsClient and uploadFile over real
 * HTTP on loopback, so that cancellation (an AbortSignal) and the events can be driven directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticCredentials } from '../../../src/auth/credentials.js';
import { CancelledError } from '../../../src/errors.js';
import { createDispatcher } from '../../../src/http/transport.js';
import type { ClientContext } from '../../../src/huawei/context.js';
import { ObsClient } from '../../../src/huawei/obs.js';
import { Redactor } from '../../../src/redact.js';
import { type FileScan, scanFile } from '../../../src/tar/scan.js';
import { uploadFile } from '../../../src/upload/upload.js';
import {
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  type Emulator,
  obsError,
  startEmulator,
} from '../../emulator/index.js';
import { settled } from '../../helpers/emulator-checks.js';
import { buildTar } from '../../helpers/tar-builder.js';

const MiB = 1024 * 1024;
const KEY = 'releases/app.tar';
let emu: Emulator;
let dir: string;
let file: string;
let data: Buffer;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function context(signal?: AbortSignal): ClientContext {
  return {
    dispatcher: createDispatcher(),
    credentials: staticCredentials(DEFAULT_CREDENTIALS),
    redactor: new Redactor(),
    timeoutMs: 10_000,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    userAgent: 'cph-publish-test',
    ...(signal ? { signal } : {}),
  };
}

function client(signal?: AbortSignal): ObsClient {
  return new ObsClient(context(signal), { endpoint: new URL(emu.url), bucket: DEFAULT_BUCKET });
}

const scan = (): Promise<FileScan> => scanFile(file, { strictLayout: true });

interface Recorded {
  logs: string[];
  warnings: string[];
}
function events(extra: { progress?: (sent: number, total: number) => void } = {}) {
  const recorded: Recorded = { logs: [], warnings: [] };
  return {
    recorded,
    events: {
      log: (m: string) => recorded.logs.push(m),
      warn: (m: string) => recorded.warnings.push(m),
      ...extra,
    },
  };
}

beforeAll(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'cph-upload-unit-'));
  // 5 parts of 16 MiB (the last one short).
  data = buildTar([{ path: 'data/blob.bin', content: randomBytes(70 * MiB) }]);
  file = path.join(dir, 'app.tar');
  writeFileSync(file, data);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emu.reset());

/** The most UploadPart requests the emulator had open at once. */
function peakPartsInFlight(): number {
  const parts = emu.requestsFor('UploadPart');
  let peak = 0;
  for (const p of parts) {
    const open = parts.filter((q) => q.time <= p.time && (q.endTime ?? Number.POSITIVE_INFINITY) > p.time);
    peak = Math.max(peak, open.length);
  }
  return peak;
}

describe('uploadFile', () => {
  it('uploads in parts with x-obs-meta-sha256, each part with its SHA-256, at most upload-concurrency parts in flight', async () => {
    const { events: ev, recorded } = events();
    const scanned = await scan();
    const result = await uploadFile(
      client(),
      { path: file, key: KEY, scan: scanned, skipUnchanged: true, concurrency: 2 },
      ev,
    );
    // 3 parts of 16 MiB, then the last 22 MiB in 5 MiB parts (planParts).
    expect(scanned.parts.slice(0, 7).map((p) => p.length / MiB)).toEqual([16, 16, 16, 5, 5, 5, 5]);
    expect(scanned.parts).toHaveLength(8);
    expect(result).toMatchObject({ uploaded: true, multipart: true, parts: 8 });
    const sent = emu
      .requestsFor('UploadPart')
      .map((r) => [Number(r.query.partNumber), r.headers['x-obs-content-sha256']]);
    expect(sent.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      scanned.parts.map((p) => [p.partNumber, sha256(data.subarray(p.offset, p.offset + p.length))]),
    );
    expect(emu.requestsFor('UploadPart').every((r) => r.headers['content-md5'] === undefined)).toBe(true);
    const stored = emu.obs.getObject(DEFAULT_BUCKET, KEY);
    expect(stored?.md5Hex).toBe(md5(data));
    expect(stored?.metadata).toEqual({ sha256: sha256(data) });
    expect(emu.requestsFor('InitiateMultipartUpload')[0]?.headers['x-obs-meta-sha256']).toBe(sha256(data));
    expect(peakPartsInFlight()).toBeLessThanOrEqual(2);
    expect(emu.requestsFor('ListMultipartUploads')).toEqual([]);
    expect(recorded.warnings).toEqual([]);
  });

  it.each([1, 64, 'auto'] as const)(
    'upload-concurrency %s: the same object, every part with its SHA-256, never more in flight than allowed',
    async (concurrency) => {
      const scanned = await scan();
      const { events: ev, recorded } = events();
      const result = await uploadFile(
        client(),
        { path: file, key: KEY, scan: scanned, skipUnchanged: false, concurrency },
        ev,
      );
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.md5Hex).toBe(md5(data));
      const sent = emu.requestsFor('UploadPart').map((r) => r.headers['x-obs-content-sha256']);
      expect(sent.sort()).toEqual(
        scanned.parts.map((p) => sha256(data.subarray(p.offset, p.offset + p.length))).sort(),
      );
      const allowed = concurrency === 'auto' ? 64 : concurrency;
      expect(result.peakInFlight).toBeGreaterThanOrEqual(1);
      expect(result.peakInFlight).toBeLessThanOrEqual(allowed);
      expect(peakPartsInFlight()).toBeLessThanOrEqual(allowed);
      expect(recorded.logs[0]).toBe(
        concurrency === 'auto'
          ? 'Upload: 8 parts in flight to start (upload-concurrency: auto)'
          : `Upload: ${concurrency} ${concurrency === 1 ? 'part' : 'parts'} in flight (upload-concurrency: ${concurrency})`,
      );
      const done = `Upload: at most ${result.peakInFlight} ${result.peakInFlight === 1 ? 'part' : 'parts'} in flight`;
      expect(recorded.logs.filter((l) => l.startsWith(done))).toHaveLength(1);
    },
  );

  it('skips when the object has the same size and SHA-256, and sends no write', async () => {
    await uploadFile(client(), { path: file, key: KEY, scan: await scan(), skipUnchanged: true });
    emu.clearRequests();
    const again = await uploadFile(client(), {
      path: file,
      key: KEY,
      scan: await scan(),
      skipUnchanged: true,
    });
    expect(again.uploaded).toBe(false);
    expect(again.skipped).toBe(`the object already exists with the same size and SHA-256 (${sha256(data)})`);
    expect(emu.requests.map((r) => r.op)).toEqual(['HeadObject']);
  });

  it('a lost Initiate answer: the stray upload is found across list pages and aborted, even on a skewed OBS clock', async () => {
    emu.settings.listUploadsPageSize = 1;
    emu.settings.clockSkewMs = 10 * 60_000;
    // Someone else's older upload of the same key, and an upload of a longer key under the prefix.
    const other = client();
    await other.initiateMultipartUpload(`${KEY}.old`, {});
    const older = await other.initiateMultipartUpload(KEY, {});
    const olderUpload = emu.obs.uploads.get(older)!;
    olderUpload.initiated -= 60_000;
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    const { events: ev, recorded } = events();
    const result = await uploadFile(
      client(),
      { path: file, key: KEY, scan: await scan(), skipUnchanged: false },
      ev,
    );
    expect(result.uploaded).toBe(true);
    expect(emu.requestsFor('ListMultipartUploads').length).toBeGreaterThanOrEqual(3);
    const aborted = emu.requestsFor('AbortMultipartUpload').map((r) => r.query.uploadId);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).not.toBe(older);
    // Only the two uploads that are not ours are still open.
    expect([...emu.obs.uploads.values()].map((u) => u.key).sort()).toEqual([KEY, `${KEY}.old`]);
    expect(emu.obs.uploads.has(older)).toBe(true);
    expect(recorded.logs.some((l) => l.includes(`Aborted multipart upload ${aborted[0]} of ${KEY}`))).toBe(
      true,
    );
  });

  it('a 403 on the list is a warning naming obs:bucket:ListBucketMultipartUploads', async () => {
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    emu.faults.add({ op: 'ListMultipartUploads', action: obsError(403, 'AccessDenied') });
    const { events: ev, recorded } = events();
    const result = await uploadFile(
      client(),
      { path: file, key: KEY, scan: await scan(), skipUnchanged: false },
      ev,
    );
    expect(result.uploaded).toBe(true);
    expect(recorded.warnings).toHaveLength(1);
    expect(recorded.warnings[0]).toMatch(
      /^InitiateMultipartUpload was sent more than once for releases\/app\.tar/,
    );
    expect(recorded.warnings[0]).toContain('Grant obs:bucket:ListBucketMultipartUploads');
    expect(recorded.warnings[0]).toContain('AccessDenied');
  });
});

describe('uploadFile cancelled', () => {
  it.each([2, 64])(
    '%i parts in flight: stops the parts, aborts the multipart upload and rejects with the signal reason',
    async (concurrency) => {
      const controller = new AbortController();
      const reason = new CancelledError('SIGINT');
      const { events: ev, recorded } = events({
        // As soon as the first bytes of a part have gone out.
        progress: (sent) => {
          if (sent > 0 && !controller.signal.aborted) controller.abort(reason);
        },
      });
      const error = await uploadFile(
        client(controller.signal),
        {
          path: file,
          key: KEY,
          scan: await scan(),
          skipUnchanged: false,
          concurrency,
          signal: controller.signal,
        },
        ev,
      ).catch((e: unknown) => e);
      // What the pipeline aborted with, not the part request it cut short.
      expect(error).toBe(reason);
      await settled(emu);
      expect(emu.requestsFor('AbortMultipartUpload').map((r) => r.status)).toEqual([204]);
      expect(emu.requestsFor('CompleteMultipartUpload')).toEqual([]);
      // As many parts as were in flight had started at most (every part of this file at 64);
      // none was kept by OBS after the abort, none started after.
      expect(emu.requestsFor('UploadPart').length).toBeLessThanOrEqual(concurrency);
      expect(
        emu
          .requestsFor('UploadPart')
          .every((r) => r.time <= emu.requestsFor('AbortMultipartUpload')[0]!.time),
      ).toBe(true);
      expect(emu.obs.uploads.size).toBe(0);
      expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
      expect(recorded.logs.some((l) => /^Aborted multipart upload /.test(l))).toBe(true);
    },
  );

  it('a hanging AbortMultipartUpload is given up after its own deadline, with a warning', async () => {
    const controller = new AbortController();
    emu.faults.add({
      op: 'AbortMultipartUpload',
      times: Number.POSITIVE_INFINITY,
      action: { kind: 'delay', ms: 4000 },
    });
    const { events: ev, recorded } = events({
      progress: (sent) => {
        if (sent > 0 && !controller.signal.aborted) controller.abort();
      },
    });
    const error = await uploadFile(
      client(controller.signal),
      { path: file, key: KEY, scan: await scan(), skipUnchanged: false, signal: controller.signal },
      ev,
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(recorded.warnings).toHaveLength(1);
    expect(recorded.warnings[0]).toMatch(/^could not abort multipart upload \S+ of releases\/app\.tar: /);
    await settled(emu);
  }, 20_000);

  it('an already cancelled run sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await uploadFile(client(), {
      path: file,
      key: KEY,
      scan: await scan(),
      skipUnchanged: false,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(emu.requests).toEqual([]);
  });
});
