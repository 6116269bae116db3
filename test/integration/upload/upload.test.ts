/**
 * The upload pipeline in process (scan → ObsClient → uploadFile) against the emulator: what each
 * outcome sends to OBS, in order, and what it reports. The bundle tests (test/e2e/upload.test.ts,
 * faults.test.ts) run the same paths through dist/index.js; these reach the code for coverage and
 * pin the request sequence exactly.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { ObsClient } from '../../../src/huawei/obs.js';
import { scanFile } from '../../../src/tar/scan.js';
import { uploadFile } from '../../../src/upload/upload.js';
import { DEFAULT_BUCKET, type Emulator, obsError, startEmulator } from '../../emulator/index.js';
import { type TestContext, testContext } from '../../helpers/client-context.js';
import { buildTar } from '../../helpers/tar-builder.js';

const MiB = 1024 * 1024;
const KEY = 'releases/game.tar';

let emu: Emulator;
let dir: string;
let test: TestContext;

function tarFile(name: string, size: number): { file: string; md5: string; sha256: string; size: number } {
  const content = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) content.writeUInt32LE((i * 2654435761) >>> 0, i);
  const data = buildTar([
    { path: 'data/', type: 'directory' },
    { path: 'data/game.bin', content },
  ]);
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return {
    file,
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
    size: data.length,
  };
}

let small: ReturnType<typeof tarFile>;
let big: ReturnType<typeof tarFile>;

beforeAll(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'cph-upload-inproc-'));
  small = tarFile('small.tar', 64 * 1024);
  // Over 16 MiB: multipart, two parts.
  big = tarFile('big.tar', 17 * MiB);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  test = testContext();
});
afterEach(async () => {
  await test.close();
});

interface Run {
  messages: string[];
  warnings: string[];
  progress: Array<[number, number]>;
}

async function upload(
  file: { file: string },
  options: { skipUnchanged?: boolean; timeoutMs?: number; concurrency?: number } = {},
): Promise<{ result?: Awaited<ReturnType<typeof uploadFile>>; error?: unknown } & Run> {
  const run: Run = { messages: [], warnings: [], progress: [] };
  const scan = await scanFile(file.file, { strictLayout: true });
  if (options.timeoutMs !== undefined) test.ctx.timeoutMs = options.timeoutMs;
  const obs = new ObsClient(test.ctx, { endpoint: new URL(emu.url), bucket: DEFAULT_BUCKET });
  try {
    const result = await uploadFile(
      obs,
      {
        path: file.file,
        key: KEY,
        scan,
        skipUnchanged: options.skipUnchanged ?? false,
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      },
      {
        progress: (sent, total) => run.progress.push([sent, total]),
        log: (m) => run.messages.push(m),
        warn: (m) => run.warnings.push(m),
      },
    );
    return { result, ...run };
  } catch (error) {
    return { error, ...run };
  }
}

/** Operation and status of every request the emulator saw, in order. */
function sequence(): Array<[string, number]> {
  return emu.requests.map((r) => [r.op, r.status]);
}

describe('uploadFile in process', () => {
  it('a small tar: one PUT with our SHA-256 metadata; progress ends at the file size', async () => {
    const { result, progress } = await upload(small);
    expect(result).toMatchObject({ uploaded: true, multipart: false, parts: 1 });
    expect(sequence()).toEqual([['PutObject', 200]]);
    expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.md5Hex).toBe(small.md5);
    expect(emu.requests[0]?.headers['x-obs-meta-sha256']).toBe(small.sha256);
    expect(emu.requests[0]?.headers['content-type']).toBe('application/x-tar');
    expect(progress.at(-1)).toEqual([small.size, small.size]);
  });

  it('skip-unchanged: the same bytes already there → HEAD only, nothing sent', async () => {
    await upload(small);
    emu.clearRequests();
    const { result } = await upload(small, { skipUnchanged: true });
    expect(result).toEqual({
      uploaded: false,
      skipped: `the object already exists with the same size and SHA-256 (${small.sha256})`,
      multipart: false,
      parts: 0,
      seconds: expect.any(Number),
    });
    expect(sequence()).toEqual([['HeadObject', 200]]);
  });

  it('a big tar: initiate, two parts, complete; every byte counted once in the progress', async () => {
    const { result, progress } = await upload(big);
    expect(result).toMatchObject({ uploaded: true, multipart: true, parts: 2 });
    const ops = sequence();
    expect(ops[0]).toEqual(['InitiateMultipartUpload', 200]);
    expect(ops.slice(1, 3).sort()).toEqual([
      ['UploadPart', 200],
      ['UploadPart', 200],
    ]);
    expect(ops[3]).toEqual(['CompleteMultipartUpload', 200]);
    expect(ops).toHaveLength(4);
    expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.md5Hex).toBe(big.md5);
    expect(progress.at(-1)).toEqual([big.size, big.size]);
    expect(Math.max(...progress.map(([sent]) => sent))).toBe(big.size);
  });

  it('a part retried: its bytes are taken back from the progress, so it never passes the total', async () => {
    emu.faults.add({ op: 'UploadPart', partNumber: 2, action: obsError(500, 'InternalError') });
    const { result, progress } = await upload(big);
    expect(result?.uploaded).toBe(true);
    expect(
      emu
        .requestsFor('UploadPart')
        .filter((r) => r.query.partNumber === '2')
        .map((r) => r.status),
    ).toEqual([500, 200]);
    expect(Math.max(...progress.map(([sent]) => sent))).toBe(big.size);
    expect(progress.at(-1)).toEqual([big.size, big.size]);
    expect(test.logs).toEqual(['OBS UploadPart: HTTP 500; retrying in 0.5 s (attempt 2 of 5)']);
  });
});

describe('a lost CompleteMultipartUpload answer', () => {
  it('OBS completed it, the answer was lost → the retry meets NoSuchUpload, a HEAD confirms the object: success', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', action: { kind: 'drop-after' } });
    const { result, error, messages } = await upload(big);
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ uploaded: true, multipart: true, parts: 2 });
    expect(sequence().slice(3)).toEqual([
      ['CompleteMultipartUpload', 200],
      ['CompleteMultipartUpload', 404],
      ['HeadObject', 200],
    ]);
    expect(emu.requestsFor('CompleteMultipartUpload')[1]?.errorCode).toBe('NoSuchUpload');
    expect(emu.requestsFor('HeadObject')[0]?.path).toBe(`/${DEFAULT_BUCKET}/${KEY}`);
    expect(emu.requestsFor('AbortMultipartUpload')).toEqual([]);
    expect(messages.filter((m) => !m.startsWith('Upload: '))).toEqual([
      "CompleteMultipartUpload's answer was lost, but the object is complete (size and SHA-256 match)",
    ]);
  });

  it('NoSuchUpload and no object at the key → the upload fails with NoSuchUpload and is aborted', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(404, 'NoSuchUpload') });
    const { result, error, messages } = await upload(big);
    expect(result).toBeUndefined();
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('NoSuchUpload');
    expect(sequence().slice(3)).toEqual([
      ['CompleteMultipartUpload', 404],
      ['HeadObject', 404],
      ['AbortMultipartUpload', 204],
    ]);
    expect(emu.obs.uploads.size).toBe(0);
    expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)).toBeUndefined();
    expect(messages.at(-1)).toMatch(/^Aborted multipart upload \S+; nothing was left in the bucket\.$/);
  });

  it('NoSuchUpload and other bytes at the key → fails and aborts; the other object is left as it was', async () => {
    emu.obs.putObject(DEFAULT_BUCKET, KEY, Buffer.from('an older release'), {
      metadata: { md5: 'not-ours' },
    });
    emu.clearRequests();
    emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(404, 'NoSuchUpload') });
    const { result, error } = await upload(big);
    expect(result).toBeUndefined();
    expect((error as ServiceError).code).toBe('NoSuchUpload');
    expect(sequence().slice(3)).toEqual([
      ['CompleteMultipartUpload', 404],
      ['HeadObject', 200],
      ['AbortMultipartUpload', 204],
    ]);
    expect(emu.obs.getObject(DEFAULT_BUCKET, KEY)?.size).toBe('an older release'.length);
  });

  it('NoSuchUpload and an object of our size but another SHA-256 → fails and aborts', async () => {
    emu.obs.putObject(DEFAULT_BUCKET, KEY, Buffer.alloc(big.size), { metadata: { sha256: '0'.repeat(64) } });
    emu.clearRequests();
    emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(404, 'NoSuchUpload') });
    const { error } = await upload(big);
    expect((error as ServiceError).code).toBe('NoSuchUpload');
    expect(sequence().slice(-2)).toEqual([
      ['HeadObject', 200],
      ['AbortMultipartUpload', 204],
    ]);
  });

  it('another error from Complete is not looked into: no HEAD, the upload is aborted', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(400, 'InvalidPart') });
    const { error } = await upload(big);
    expect((error as ServiceError).code).toBe('InvalidPart');
    expect(sequence().slice(3)).toEqual([
      ['CompleteMultipartUpload', 400],
      ['AbortMultipartUpload', 204],
    ]);
  });

  it('the abort failing too → a warning that the parts stay, and the first error is what fails', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', action: obsError(400, 'InvalidPart') });
    emu.faults.add({
      op: 'AbortMultipartUpload',
      times: Number.POSITIVE_INFINITY,
      action: obsError(403, 'AccessDenied'),
    });
    const { error, warnings } = await upload(big);
    expect((error as ServiceError).code).toBe('InvalidPart');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^could not abort multipart upload \\S+ of ${KEY}: .*AccessDenied.*; its parts stay in the bucket until a lifecycle rule or a manual abort removes them$`,
      ),
    );
    emu.obs.uploads.clear();
  });
});

describe('upload deadlines', () => {
  // A request that is never answered shows the deadline the client gave it.
  const never = { kind: 'delay', ms: 600_000 } as const;

  it('a HEAD gets the API deadline as it is', async () => {
    test.ctx.retry.maxAttempts = 1;
    emu.faults.add({ op: 'HeadObject', action: never });
    const { error } = await upload(small, { skipUnchanged: true, timeoutMs: 200 });
    expect((error as Error).message).toContain('no complete answer from');
    expect((error as Error).message).toContain('within 0.2 s');
  });

  it('a PUT gets the API deadline once more per 8 MiB of body', async () => {
    test.ctx.retry.maxAttempts = 1;
    emu.faults.add({ op: 'PutObject', action: never });
    // 12 MiB + 1.5 KiB of tar: 200 ms × (1 + 1.5002) → 501 ms, shown as 0.5 s.
    const mid = tarFile('mid.tar', 12 * MiB);
    const { error } = await upload(mid, { timeoutMs: 200 });
    expect((error as Error).message).toContain('within 0.5 s');
  });

  it('an upload part of 16 MiB gets three times the API deadline', async () => {
    test.ctx.retry.maxAttempts = 1;
    emu.faults.add({ op: 'UploadPart', partNumber: 1, action: never });
    // One part at a time: the 1 MiB last part (a 225 ms deadline) must not race part 1 on a busy machine.
    const { error } = await upload(big, { timeoutMs: 200, concurrency: 1 });
    // 200 ms × (1 + 16 MiB / 8 MiB) = 600 ms.
    expect((error as Error).message).toContain('within 0.6 s');
    expect(sequence().at(-1)).toEqual(['AbortMultipartUpload', 204]);
  });
});

describe('clean-up after a failure, against OBS', () => {
  it('the Initiate answer lost on every attempt: each upload the attempts opened is listed and aborted; none is left open', async () => {
    test.ctx.retry.maxAttempts = 3;
    emu.faults.add({
      op: 'InitiateMultipartUpload',
      times: Number.POSITIVE_INFINITY,
      action: { kind: 'drop-after' },
    });
    const { error, messages } = await upload(big);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).operation).toBe('InitiateMultipartUpload');
    expect((error as ServiceError).status).toBeUndefined();
    const opened = emu.requestsFor('InitiateMultipartUpload');
    expect(opened).toHaveLength(3);
    expect(sequence().slice(3)).toEqual([
      ['ListMultipartUploads', 200],
      ['AbortMultipartUpload', 204],
      ['AbortMultipartUpload', 204],
      ['AbortMultipartUpload', 204],
    ]);
    expect(emu.obs.uploads.size).toBe(0);
    expect(messages.filter((m) => m.startsWith('Aborted'))).toHaveLength(3);
    expect(emu.requestsFor('UploadPart')).toEqual([]);
  });

  it('a retried Initiate, then a part refused for good: the upload in use is aborted, then the stray', async () => {
    test.ctx.retry.maxAttempts = 2;
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    emu.faults.add({
      op: 'UploadPart',
      times: Number.POSITIVE_INFINITY,
      action: obsError(403, 'AccessDenied'),
    });
    const { error, warnings } = await upload(big, { concurrency: 1 });
    expect((error as ServiceError).code).toBe('AccessDenied');
    const ops = sequence();
    expect(ops.slice(0, 2)).toEqual([
      ['InitiateMultipartUpload', 200],
      ['InitiateMultipartUpload', 200],
    ]);
    expect(ops.slice(-3)).toEqual([
      ['AbortMultipartUpload', 204],
      ['ListMultipartUploads', 200],
      ['AbortMultipartUpload', 204],
    ]);
    expect(emu.obs.uploads.size).toBe(0);
    expect(warnings).toEqual([]);
  });
});
