/**
 * uploadFile against a scripted ObsClient: what it asks OBS for, in order, with which client
 * (the run's, or the clean-up client `withContext` made), what it reports, and what it cleans
 * up on every way an upload can end. The bytes come from real files; no socket is opened (the
 * emulator-backed tests are in test/integration/upload).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import type { BodySource } from '../../../src/http/transport.js';
import type { ClientContext } from '../../../src/huawei/context.js';
import type { ListedUpload, ObsClient, ObsObjectInfo, UploadListing } from '../../../src/huawei/obs.js';
import type { PartDigests } from '../../../src/tar/part-digests.js';
import type { FilePart, FileScan } from '../../../src/tar/scan.js';
import {
  chunkBytesFor,
  TAR_CONTENT_TYPE,
  type UploadRequest,
  uploadFile,
} from '../../../src/upload/upload.js';

/** Every file handle the upload opened, to check that each was closed. */
const opened = vi.hoisted(() => [] as Array<{ fd: number }>);
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      opened.push(handle);
      return handle;
    },
  };
});

const KEY = 'releases/app.tar';
/** How long a test waits for an event of the upload (generous: the box may be busy). */
const WAIT = { timeout: 20_000, interval: 5 };
const KiB = 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let fileCount = 0;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cph-upload-fake-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A file of `size` random bytes. */
function fileOf(size: number): { file: string; data: Buffer } {
  const data = randomBytes(size);
  const file = path.join(dir, `f${++fileCount}.tar`);
  writeFileSync(file, data);
  return { file, data };
}

/** A promise with its resolve at hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Scanned {
  scan: FileScan;
  /** How many times the upload closed the part digests. */
  closes: () => number;
  /** Part numbers whose digest was asked for, in order. */
  asked: number[];
}

/**
 * A scan of `data` split into `parts` of the given lengths (none: a single PUT), whose part digests
 * are the real SHA-256s unless `digest` says otherwise.
 */
function scanOf(
  data: Buffer,
  lengths: number[] = [],
  digest?: (partNumber: number) => Promise<string>,
  size = data.length,
): Scanned {
  const parts: FilePart[] = [];
  let offset = 0;
  for (const [i, length] of lengths.entries()) {
    parts.push({ partNumber: i + 1, offset, length });
    offset += length;
  }
  let closes = 0;
  const asked: number[] = [];
  const partDigests: PartDigests = {
    sha256Hex: (partNumber) => {
      asked.push(partNumber);
      if (digest) return digest(partNumber);
      const part = parts[partNumber - 1] as FilePart;
      return Promise.resolve(sha256(data.subarray(part.offset, part.offset + part.length)));
    },
    close: async () => {
      closes++;
    },
  };
  const scan = { size, sha256Hex: sha256(data), parts, partDigests, tar: {} } as unknown as FileScan;
  return { scan, closes: () => closes, asked };
}

/** One body read to the end: its bytes, and each chunk's length and backing buffer. */
interface Read {
  bytes: Buffer;
  chunks: Array<{ length: number; buffer: ArrayBufferLike }>;
}

async function readBody(body: BodySource | string | Uint8Array, stopAfterChunks = Infinity): Promise<Read> {
  if (typeof body !== 'function') throw new Error('the upload sends its files as streamed bodies');
  const copies: Buffer[] = [];
  const chunks: Read['chunks'] = [];
  for await (const chunk of body()) {
    // A copy: the ring's buffers are reused for the next chunks.
    copies.push(Buffer.from(chunk));
    chunks.push({ length: chunk.length, buffer: chunk.buffer });
    if (chunks.length >= stopAfterChunks) break;
  }
  return { bytes: Buffer.concat(copies), chunks };
}

interface PartCall {
  partNumber: number;
  length: number;
  sha256Hex: string | undefined;
  uploadId: string;
}

/** What the scripted OBS does; each defaults to a success. */
interface Script {
  head?: () => Promise<ObsObjectInfo | undefined>;
  put?: (read: (stopAfterChunks?: number) => Promise<Read>, onRetry: () => void) => Promise<void>;
  /** Called once per Initiate call (each call may retry: `onRetry`). */
  initiate?: (onRetry: () => void) => Promise<string>;
  part?: (
    part: PartCall,
    read: (stopAfterChunks?: number) => Promise<Read>,
    onRetry: () => void,
  ) => Promise<string>;
  complete?: () => Promise<void>;
  abort?: (uploadId: string, context: Partial<ClientContext> | undefined) => Promise<void>;
  list?: () => Promise<UploadListing>;
}

/**
 * A scripted ObsClient. `calls` lists every call as `<client> <operation> <details>`, where the
 * client is `run` (the one the upload was given) or `cleanup` (what `withContext` made from it).
 */
function fakeObs(script: Script = {}) {
  const calls: string[] = [];
  const contexts: Array<Partial<ClientContext>> = [];
  const reads: Read[] = [];
  const parts: Array<PartCall & Read> = [];
  let completed: Array<{ partNumber: number; etag: string }> | undefined;
  const reader = (body: BodySource | string | Uint8Array) => async (stopAfterChunks?: number) => {
    const read = await readBody(body, stopAfterChunks);
    reads.push(read);
    return read;
  };
  const client = (name: string, context?: Partial<ClientContext>): ObsClient =>
    ({
      withContext(change: Partial<ClientContext>) {
        contexts.push(change);
        return client('cleanup', change);
      },
      async headObject(key: string) {
        calls.push(`${name} HeadObject ${key}`);
        return script.head?.();
      },
      async putObject(
        key: string,
        object: { body: BodySource; length: number; sha256Hex?: string; headers: Record<string, string> },
        onRetry: () => void,
      ) {
        calls.push(
          `${name} PutObject ${key} length=${object.length} sha256=${object.sha256Hex} headers=${JSON.stringify(object.headers)}`,
        );
        if (script.put) await script.put(reader(object.body), onRetry);
        else await reader(object.body)();
        return { etag: '"put"' };
      },
      async initiateMultipartUpload(key: string, headers: Record<string, string>, onRetry: () => void) {
        calls.push(`${name} InitiateMultipartUpload ${key} headers=${JSON.stringify(headers)}`);
        return script.initiate ? script.initiate(onRetry) : 'U-1';
      },
      async uploadPart(
        key: string,
        uploadId: string,
        part: { partNumber: number; length: number; sha256Hex?: string; body: BodySource },
        onRetry: () => void,
      ) {
        calls.push(`${name} UploadPart ${key} ${uploadId} #${part.partNumber}`);
        const call = {
          partNumber: part.partNumber,
          length: part.length,
          sha256Hex: part.sha256Hex,
          uploadId,
        };
        const read = reader(part.body);
        const record = async (stop?: number) => {
          const r = await read(stop);
          parts.push({ ...call, ...r });
          return r;
        };
        if (script.part) return script.part(call, record, onRetry);
        await record();
        return `"etag-${part.partNumber}"`;
      },
      async completeMultipartUpload(
        key: string,
        uploadId: string,
        list: Array<{ partNumber: number; etag: string }>,
      ) {
        calls.push(`${name} CompleteMultipartUpload ${key} ${uploadId}`);
        completed = list;
        await script.complete?.();
      },
      async abortMultipartUpload(key: string, uploadId: string) {
        calls.push(`${name} AbortMultipartUpload ${key} ${uploadId}`);
        await script.abort?.(uploadId, context);
      },
      async listMultipartUploads(prefix: string) {
        calls.push(`${name} ListMultipartUploads ${prefix}`);
        if (script.list) return script.list();
        const now = Date.now();
        return { uploads: [], serverNowMs: now, localNowMs: now };
      },
    }) as unknown as ObsClient;
  return {
    obs: client('run'),
    calls,
    contexts,
    reads,
    parts,
    completed: () => completed,
  };
}

interface Recorded {
  logs: string[];
  warnings: string[];
  progress: Array<[number, number]>;
}

async function run(
  obs: ObsClient,
  request: Omit<UploadRequest, 'key' | 'skipUnchanged'> & { skipUnchanged?: boolean },
  onProgress?: (sent: number) => void,
) {
  const recorded: Recorded = { logs: [], warnings: [], progress: [] };
  const events = {
    log: (m: string) => recorded.logs.push(m),
    warn: (m: string) => recorded.warnings.push(m),
    progress: (sent: number, total: number) => {
      recorded.progress.push([sent, total]);
      onProgress?.(sent);
    },
  };
  try {
    const result = await uploadFile(obs, { key: KEY, skipUnchanged: false, ...request }, events);
    return { result, error: undefined as unknown, ...recorded };
  } catch (error) {
    return { result: undefined, error, ...recorded };
  }
}

/** Running totals of chunk lengths: what the progress reports after each chunk. */
function runningTotals(lengths: number[], from = 0): number[] {
  let sum = from;
  return lengths.map((n) => {
    sum += n;
    return sum;
  });
}

const headers = (data: Buffer) =>
  JSON.stringify({ 'Content-Type': TAR_CONTENT_TYPE, 'x-obs-meta-sha256': sha256(data) });
const serviceError = (operation: string, status?: number, code?: string) =>
  new ServiceError({
    service: 'OBS',
    operation,
    detail: status === undefined ? 'socket hang up' : 'refused',
    ...(status === undefined ? {} : { status }),
    ...(code ? { code } : {}),
  });

describe('a single PUT', () => {
  it('sends the whole file once, with its SHA-256 as digest and metadata; progress counts every chunk', async () => {
    const { file, data } = fileOf(700 * KiB);
    const { scan, closes } = scanOf(data);
    const fake = fakeObs();
    const { result, error, progress, logs } = await run(fake.obs, { path: file, scan });
    expect(error).toBeUndefined();
    expect(result).toEqual({ uploaded: true, multipart: false, parts: 1, seconds: expect.any(Number) });
    expect(fake.calls).toEqual([
      `run PutObject ${KEY} length=${data.length} sha256=${sha256(data)} headers=${headers(data)}`,
    ]);
    const [read] = fake.reads;
    expect(read?.bytes.equals(data)).toBe(true);
    expect(progress).toEqual(runningTotals(read!.chunks.map((c) => c.length)).map((s) => [s, data.length]));
    expect(logs).toEqual([]);
    expect(fake.contexts).toEqual([]);
    expect(closes()).toBe(1);
  });

  it("reads through a ring of three buffers, so a long body's chunks reuse them in turn", async () => {
    const { file, data } = fileOf(5 * 1024 * KiB);
    const fake = fakeObs();
    await run(fake.obs, { path: file, scan: scanOf(data).scan });
    const { chunks } = fake.reads[0]!;
    const size = chunks[0]!.length;
    expect(chunks.length).toBe(Math.ceil(data.length / size));
    expect(chunks.length).toBeGreaterThan(3);
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(3);
    for (const [i, chunk] of chunks.entries()) expect(chunk.buffer).toBe(chunks[i % 3]!.buffer);
    expect(chunks.slice(0, -1).every((c) => c.length === size)).toBe(true);
  });

  it('a PUT retried twice takes its bytes back each time and reads the file again from the start', async () => {
    const { file, data } = fileOf(5 * 1024 * KiB);
    const cut: Read[] = [];
    const fake = fakeObs({
      put: async (read, onRetry) => {
        cut.push(await read(2));
        onRetry();
        cut.push(await read(3));
        onRetry();
        await read();
      },
    });
    const { result, progress } = await run(fake.obs, { path: file, scan: scanOf(data).scan });
    expect(result?.uploaded).toBe(true);
    const last = fake.reads[2]!;
    expect(last.bytes.equals(data)).toBe(true);
    const totals = (r: Read) => runningTotals(r.chunks.map((c) => c.length));
    expect(progress.map(([sent]) => sent)).toEqual([...totals(cut[0]!), ...totals(cut[1]!), ...totals(last)]);
    expect(progress.every(([, total]) => total === data.length)).toBe(true);
  });

  it('reports the seconds it took, from its start to its end', async () => {
    const { file, data } = fileOf(KiB);
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => {
      now += 2500;
      return now;
    });
    const put = await run(fakeObs().obs, { path: file, scan: scanOf(data).scan });
    expect(put.result?.seconds).toBe(2.5);
    const head = async () => ({ size: data.length, etag: undefined, sha256Hex: sha256(data) });
    const skipped = await run(fakeObs({ head }).obs, {
      path: file,
      scan: scanOf(data).scan,
      skipUnchanged: true,
    });
    expect(skipped.result?.seconds).toBe(2.5);
    // Multipart reads the clock once more, when the Initiate is sent.
    const parts = await run(fakeObs().obs, { path: file, scan: scanOf(data, [512, 512]).scan });
    expect(parts.result?.seconds).toBe(5);
  });

  it('a file that shrank since it was scanned fails the upload, naming the file (instead of reading for ever)', async () => {
    const { file, data } = fileOf(300 * KiB);
    const { scan, closes } = scanOf(data, [], undefined, data.length + 10);
    const fake = fakeObs();
    const { error } = await run(fake.obs, { path: file, scan });
    expect((error as Error).message).toBe(`file '${file}' shrank while it was being uploaded`);
    expect(fake.reads).toEqual([]);
    expect(closes()).toBe(1);
  });
});

describe('file handles', () => {
  it('each body closes its file: read to the end, abandoned by a retry, or cut short by a file that shrank', async () => {
    opened.length = 0;
    const { file, data } = fileOf(3 * chunkBytesFor(1));
    const fake = fakeObs({
      put: async (read, onRetry) => {
        await read(1);
        onRetry();
        await read();
      },
    });
    await run(fake.obs, { path: file, scan: scanOf(data).scan });
    const shrunk = await run(fakeObs().obs, {
      path: file,
      scan: scanOf(data, [], undefined, data.length + 1).scan,
    });
    expect((shrunk.error as Error).message).toMatch(/shrank/);
    expect(opened).toHaveLength(3);
    expect(opened.map((h) => h.fd)).toEqual([-1, -1, -1]);
  });
});

describe('skip-unchanged', () => {
  const { data } = { data: randomBytes(64 * KiB) };
  const same = { size: data.length, etag: '"x"', sha256Hex: sha256(data) };

  it.each([
    // Names without the random SHA-256: a test's name must be the same on every run.
    ['the same size and SHA-256 (upper-case hex)', true, { ...same, sha256Hex: sha256(data).toUpperCase() }],
    ['the same size and SHA-256', true, same],
    ['no object', false, undefined],
    ['one byte more', false, { ...same, size: data.length + 1 }],
    ['another SHA-256', false, { ...same, sha256Hex: '0'.repeat(64) }],
    ['no SHA-256 metadata', false, { ...same, sha256Hex: undefined }],
  ] as const)('%s: skipped = %s', async (_, skipped, existing) => {
    const { file } = fileOf(0);
    writeFileSync(file, data);
    const { scan, closes } = scanOf(data);
    const fake = fakeObs({ head: async () => existing });
    const { result } = await run(fake.obs, { path: file, scan, skipUnchanged: true });
    expect(fake.calls[0]).toBe(`run HeadObject ${KEY}`);
    if (skipped) {
      expect(result).toEqual({
        uploaded: false,
        skipped: `the object already exists with the same size and SHA-256 (${sha256(data)})`,
        multipart: false,
        parts: 0,
        seconds: expect.any(Number),
      });
      expect(fake.calls).toHaveLength(1);
    } else {
      expect(result).toMatchObject({ uploaded: true, multipart: false, parts: 1 });
      expect(fake.calls[1]).toMatch(/^run PutObject /);
    }
    expect(closes()).toBe(1);
  });

  it('a multipart-sized file already there is skipped too, and says it would have been multipart', async () => {
    const { file, data } = fileOf(64 * KiB);
    const { scan, asked } = scanOf(data, [32 * KiB, 32 * KiB]);
    const fake = fakeObs({
      head: async () => ({ size: data.length, etag: undefined, sha256Hex: sha256(data) }),
    });
    const { result } = await run(fake.obs, { path: file, scan, skipUnchanged: true });
    expect(result).toMatchObject({ uploaded: false, multipart: true, parts: 0 });
    expect(fake.calls).toEqual([`run HeadObject ${KEY}`]);
    expect(asked).toEqual([]);
  });

  it('without skip-unchanged nothing is looked up', async () => {
    const { file, data } = fileOf(1 * KiB);
    const fake = fakeObs({
      head: async () => ({ size: data.length, etag: undefined, sha256Hex: sha256(data) }),
    });
    const { result } = await run(fake.obs, { path: file, scan: scanOf(data).scan });
    expect(result?.uploaded).toBe(true);
    expect(fake.calls.map((c) => c.split(' ')[1])).toEqual(['PutObject']);
  });

  it('a cancel while the HEAD is out: nothing is sent after it, and the upload rejects with the reason', async () => {
    const { file, data } = fileOf(1 * KiB);
    const controller = new AbortController();
    const reason = new Error('cancelled by the runner');
    const fake = fakeObs({
      head: async () => {
        controller.abort(reason);
        return undefined;
      },
    });
    const { scan, closes } = scanOf(data);
    const { error } = await run(fake.obs, {
      path: file,
      scan,
      skipUnchanged: true,
      signal: controller.signal,
    });
    expect(error).toBe(reason);
    expect(fake.calls).toEqual([`run HeadObject ${KEY}`]);
    expect(closes()).toBe(1);
  });

  it('a HEAD that fails: its error when the run goes on, the cancel reason when the run was cancelled', async () => {
    const { file, data } = fileOf(1 * KiB);
    const refused = serviceError('HeadObject', 403, 'AccessDenied');
    const failing = fakeObs({
      head: async () => {
        throw refused;
      },
    });
    expect((await run(failing.obs, { path: file, scan: scanOf(data).scan, skipUnchanged: true })).error).toBe(
      refused,
    );
    const controller = new AbortController();
    const reason = new Error('stop');
    const cancelled = fakeObs({
      head: async () => {
        controller.abort(reason);
        throw refused;
      },
    });
    const { error } = await run(cancelled.obs, {
      path: file,
      scan: scanOf(data).scan,
      skipUnchanged: true,
      signal: controller.signal,
    });
    expect(error).toBe(reason);
  });
});

describe('multipart', () => {
  it('one part at a time: Initiate with our headers, each part with its bytes and digest, Complete with the ETags in order', async () => {
    const { file, data } = fileOf(100 * KiB);
    const { scan, closes, asked } = scanOf(data, [40 * KiB, 40 * KiB, 20 * KiB]);
    const fake = fakeObs();
    const { result, logs, warnings, progress } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(result).toEqual({
      uploaded: true,
      multipart: true,
      parts: 3,
      seconds: expect.any(Number),
      peakInFlight: 1,
    });
    expect(fake.calls).toEqual([
      `run InitiateMultipartUpload ${KEY} headers=${headers(data)}`,
      `run UploadPart ${KEY} U-1 #1`,
      `run UploadPart ${KEY} U-1 #2`,
      `run UploadPart ${KEY} U-1 #3`,
      `run CompleteMultipartUpload ${KEY} U-1`,
    ]);
    expect(asked).toEqual([1, 2, 3]);
    expect(
      fake.parts.map((p) => [p.partNumber, p.length, p.sha256Hex, p.bytes.equals(data.subarray(0, 0))]),
    ).toEqual(
      scan.parts.map((p) => [
        p.partNumber,
        p.length,
        sha256(data.subarray(p.offset, p.offset + p.length)),
        false,
      ]),
    );
    expect(Buffer.concat(fake.parts.map((p) => p.bytes)).equals(data)).toBe(true);
    expect(fake.completed()).toEqual([
      { partNumber: 1, etag: '"etag-1"' },
      { partNumber: 2, etag: '"etag-2"' },
      { partNumber: 3, etag: '"etag-3"' },
    ]);
    expect(logs).toEqual([
      'Upload: 1 part in flight (upload-concurrency: 1)',
      'Upload: at most 1 part in flight',
    ]);
    expect(warnings).toEqual([]);
    expect(progress.at(-1)).toEqual([data.length, data.length]);
    expect(progress.map(([sent]) => sent)).toEqual(
      runningTotals(fake.parts.flatMap((p) => p.chunks.map((c) => c.length))),
    );
    expect(fake.contexts).toEqual([]);
    expect(closes()).toBe(1);
  });

  it('each part is sent with the digest the hashing worker gives for it, once it has it', async () => {
    const { file, data } = fileOf(20 * KiB);
    const { scan } = scanOf(data, [10 * KiB, 10 * KiB], async (n) => `digest-of-part-${n}`);
    const fake = fakeObs();
    await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(fake.parts.map((p) => p.sha256Hex)).toEqual(['digest-of-part-1', 'digest-of-part-2']);
  });

  it('parts in flight up to upload-concurrency; the ETags go to Complete in part order whatever order the parts end in', async () => {
    const { file, data } = fileOf(40 * KiB);
    const { scan } = scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB, 10 * KiB]);
    const gates = new Map<number, ReturnType<typeof deferred<void>>>();
    const started: number[] = [];
    const fake = fakeObs({
      part: async (part, read) => {
        await read();
        started.push(part.partNumber);
        const gate = deferred<void>();
        gates.set(part.partNumber, gate);
        await gate.promise;
        return `"e${part.partNumber}"`;
      },
    });
    const pending = run(fake.obs, { path: file, scan, concurrency: 2 });
    await vi.waitFor(() => expect([...started].sort()).toEqual([1, 2]), WAIT);
    gates.get(2)!.resolve();
    await vi.waitFor(() => expect([...started].sort()).toEqual([1, 2, 3]), WAIT);
    gates.get(3)!.resolve();
    await vi.waitFor(() => expect([...started].sort()).toEqual([1, 2, 3, 4]), WAIT);
    gates.get(4)!.resolve();
    gates.get(1)!.resolve();
    const { result, logs } = await pending;
    expect(result?.peakInFlight).toBe(2);
    expect(fake.completed()).toEqual([1, 2, 3, 4].map((n) => ({ partNumber: n, etag: `"e${n}"` })));
    expect(logs).toEqual([
      'Upload: 2 parts in flight (upload-concurrency: 2)',
      'Upload: at most 2 parts in flight',
    ]);
  });

  it('a retried part takes its bytes back from the progress: it never passes the total', async () => {
    const { file, data } = fileOf(2 * 1024 * KiB);
    const size = chunkBytesFor(1);
    const { scan } = scanOf(data, [data.length - 4 * size, 4 * size]);
    const fake = fakeObs({
      part: async (part, read, onRetry) => {
        if (part.partNumber === 2) {
          await read(2);
          onRetry();
        }
        await read();
        return `"e${part.partNumber}"`;
      },
    });
    const { progress } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    const [one, twoCut, two] = fake.parts;
    const before = one!.bytes.length;
    expect(progress.map(([sent]) => sent)).toEqual([
      ...runningTotals(one!.chunks.map((c) => c.length)),
      ...runningTotals(
        twoCut!.chunks.map((c) => c.length),
        before,
      ),
      ...runningTotals(
        two!.chunks.map((c) => c.length),
        before,
      ),
    ]);
    expect(progress.at(-1)).toEqual([data.length, data.length]);
    expect(two!.bytes.equals(data.subarray(before))).toBe(true);
  });

  it('the parts read through rings of chunkBytesFor(parts in flight) that the next parts reuse', async () => {
    const size = chunkBytesFor(1);
    const { file, data } = fileOf(8 * size);
    const { scan } = scanOf(data, [4 * size, 4 * size]);
    const fake = fakeObs();
    await run(fake.obs, { path: file, scan, concurrency: 1 });
    const [one, two] = fake.parts;
    expect(one!.chunks.map((c) => c.length)).toEqual([size, size, size, size]);
    const buffers = (p: Read) => p.chunks.map((c) => c.buffer);
    expect(buffers(one!)[3]).toBe(buffers(one!)[0]);
    expect(new Set(buffers(one!)).size).toBe(3);
    // The second part got the first one's ring back.
    expect(buffers(two!)).toEqual(buffers(one!));
    for (const [i, b] of buffers(two!).entries()) expect(b).toBe(buffers(one!)[i]);
  });

  it("a part that ends inside a chunk reads only its own bytes, not the next part's", async () => {
    const size = chunkBytesFor(1);
    const { file, data } = fileOf(3 * size);
    const { scan } = scanOf(data, [size + 1000, 2 * size - 1000]);
    const fake = fakeObs();
    const { result } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(result?.uploaded).toBe(true);
    expect(fake.parts.map((p) => p.chunks.map((c) => c.length))).toEqual([
      [size, 1000],
      [size, size - 1000],
    ]);
    expect(fake.parts[0]!.bytes.equals(data.subarray(0, size + 1000))).toBe(true);
    expect(fake.parts[1]!.bytes.equals(data.subarray(size + 1000))).toBe(true);
  });

  describe('upload-concurrency auto (the clock: 1 s more at every reading)', () => {
    function steppedClock() {
      let now = 0;
      vi.spyOn(performance, 'now').mockImplementation(() => {
        now += 1000;
        return now;
      });
    }
    const timing = { warmupMs: 0, windowMs: 1 };

    it('every part started at the first level: nothing left to measure, "auto tried only the start"', async () => {
      const { file, data } = fileOf(4 * KiB);
      const { scan } = scanOf(data, [KiB, KiB, KiB, KiB]);
      steppedClock();
      const fake = fakeObs();
      const { result, logs } = await run(fake.obs, {
        path: file,
        scan,
        concurrency: 'auto',
        autoTiming: timing,
      });
      expect(result?.uploaded).toBe(true);
      expect(logs[0]).toBe('Upload: 8 parts in flight to start (upload-concurrency: auto)');
      expect(logs.slice(1)).toEqual([
        `Upload: at most ${result?.peakInFlight} parts in flight (auto tried only the start)`,
      ]);
    });

    it('more parts than the first level: each level is measured and logged, and the final line lists them', async () => {
      const { file, data } = fileOf(40 * KiB);
      const { scan } = scanOf(
        data,
        Array.from({ length: 40 }, () => KiB),
      );
      steppedClock();
      const fake = fakeObs();
      const { result, logs } = await run(fake.obs, {
        path: file,
        scan,
        concurrency: 'auto',
        autoTiming: timing,
      });
      expect(result?.uploaded).toBe(true);
      // 1 KiB per reading, 1 s apart: the same rate at 8 and 16, so it settles back at 8.
      expect(logs.slice(0, 3)).toEqual([
        'Upload: 8 parts in flight to start (upload-concurrency: auto)',
        'Upload: 16 parts in flight: 8 moved 0.0 MiB/s',
        "Upload: settled at 8 parts in flight: 16 moved 0.0 MiB/s, not 10 % more than 8's 0.0 MiB/s",
      ]);
      expect(logs.slice(3)).toEqual([
        `Upload: at most ${result?.peakInFlight} parts in flight (auto tried 8, 16)`,
      ]);
      expect(result?.peakInFlight).toBeGreaterThanOrEqual(8);
      expect(result?.peakInFlight).toBeLessThanOrEqual(16);
    });

    it('a level above 32 in flight: its parts read through rings of its own chunk size, not the rings before', async () => {
      // Every reading comes in half the time of the one before: each level moves twice as much.
      let now = 0;
      let step = 1000;
      vi.spyOn(performance, 'now').mockImplementation(() => {
        now += step;
        step /= 2;
        return now;
      });
      const { file, data } = fileOf(100 * KiB);
      const { scan } = scanOf(
        data,
        Array.from({ length: 100 }, () => KiB),
      );
      const logs: string[] = [];
      /** Each part's ring size, and whether the limit was 64 when it took its ring (just before it is sent). */
      const sent: Array<{ at64: boolean; read: Promise<Read> }> = [];
      const fake = fakeObs({
        part: async (part, read) => {
          const entry = { at64: logs.some((l) => l.startsWith('Upload: 64 parts in flight')), read: read() };
          sent.push(entry);
          await entry.read;
          return `"e${part.partNumber}"`;
        },
      });
      const result = await uploadFile(
        fake.obs,
        { path: file, key: KEY, scan, skipUnchanged: false, concurrency: 'auto', autoTiming: timing },
        { log: (m) => logs.push(m) },
      );
      expect(result.uploaded).toBe(true);
      expect(logs.at(-2)).toMatch(/^Upload: settled at 64 parts in flight, the most there can be: 64 moved /);
      expect(logs.at(-1)).toBe(
        `Upload: at most ${result.peakInFlight} parts in flight (auto tried 8, 16, 32, 64)`,
      );
      const rings = await Promise.all(
        sent.map(async (s) => [s.at64, (await s.read).chunks[0]!.buffer.byteLength] as const),
      );
      expect(rings[0]).toEqual([false, chunkBytesFor(8)]);
      const at64 = rings.filter(([at]) => at);
      // Most parts start at 64: after 4 levels of 2 readings each, fewer than 64 have been sent.
      expect(at64.length).toBeGreaterThan(30);
      expect(at64.map(([, bytes]) => bytes)).toEqual(at64.map(() => chunkBytesFor(64)));
    });

    it('a single PUT measures nothing', async () => {
      const { file, data } = fileOf(4 * KiB);
      steppedClock();
      const fake = fakeObs();
      const { result, logs } = await run(fake.obs, {
        path: file,
        scan: scanOf(data).scan,
        concurrency: 'auto',
        autoTiming: timing,
      });
      expect(result?.uploaded).toBe(true);
      expect(logs).toEqual([]);
    });
  });
});

describe('CompleteMultipartUpload fails', () => {
  const setup = (complete: () => Promise<void>, head?: () => Promise<ObsObjectInfo | undefined>) => {
    const { file, data } = fileOf(20 * KiB);
    const { scan } = scanOf(data, [10 * KiB, 10 * KiB]);
    const fake = fakeObs({ complete, ...(head ? { head } : {}) });
    return { file, data, scan, fake };
  };

  it('NoSuchUpload, and the object is there with our size and SHA-256: its answer was lost, the upload succeeded', async () => {
    const { file, data, scan, fake } = setup(
      async () => {
        throw serviceError('CompleteMultipartUpload', 404, 'NoSuchUpload');
      },
      async () => ({ size: data.length, etag: undefined, sha256Hex: sha256(data) }),
    );
    const { result, error, logs } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ uploaded: true, multipart: true, parts: 2 });
    expect(fake.calls.slice(3)).toEqual([`run CompleteMultipartUpload ${KEY} U-1`, `run HeadObject ${KEY}`]);
    expect(logs).toContain(
      "CompleteMultipartUpload's answer was lost, but the object is complete (size and SHA-256 match)",
    );
  });

  it('NoSuchUpload and another object (or none): that error, and the upload is aborted', async () => {
    const noSuchUpload = serviceError('CompleteMultipartUpload', 404, 'NoSuchUpload');
    const { file, data, scan, fake } = setup(
      async () => {
        throw noSuchUpload;
      },
      async () => ({ size: data.length, etag: undefined, sha256Hex: '0'.repeat(64) }),
    );
    const { error, logs } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(error).toBe(noSuchUpload);
    expect(fake.calls.slice(3)).toEqual([
      `run CompleteMultipartUpload ${KEY} U-1`,
      `run HeadObject ${KEY}`,
      `run AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(logs.at(-1)).toBe('Aborted multipart upload U-1; nothing was left in the bucket.');
  });

  it.each([
    ['another OBS error', serviceError('CompleteMultipartUpload', 400, 'InvalidPart')],
    ['an error that is not an answer of OBS', Object.assign(new Error('boom'), { code: 'NoSuchUpload' })],
  ])('%s: not looked into (no HEAD); the upload is aborted', async (_, failure) => {
    const { file, scan, fake } = setup(async () => {
      throw failure;
    });
    const { error } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(error).toBe(failure);
    expect(fake.calls.slice(3)).toEqual([
      `run CompleteMultipartUpload ${KEY} U-1`,
      `run AbortMultipartUpload ${KEY} U-1`,
    ]);
  });
});

describe('a failed upload is cleaned up', () => {
  const partFails = (failure: unknown) => async (part: PartCall, read: () => Promise<Read>) => {
    await read();
    if (part.partNumber === 2) throw failure;
    return `"e${part.partNumber}"`;
  };

  it('a part fails: the upload is aborted with the run client (no run signal), and the part error is what fails', async () => {
    const { file, data } = fileOf(30 * KiB);
    const { scan, closes } = scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB]);
    const failure = serviceError('UploadPart', 500, 'InternalError');
    const fake = fakeObs({ part: partFails(failure) });
    const { error, logs, warnings } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(error).toBe(failure);
    expect(fake.calls).toEqual([
      `run InitiateMultipartUpload ${KEY} headers=${headers(data)}`,
      `run UploadPart ${KEY} U-1 #1`,
      `run UploadPart ${KEY} U-1 #2`,
      `run AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(logs).toEqual([
      'Upload: 1 part in flight (upload-concurrency: 1)',
      'Aborted multipart upload U-1; nothing was left in the bucket.',
    ]);
    expect(warnings).toEqual([]);
    expect(fake.contexts).toEqual([]);
    expect(closes()).toBe(1);
  });

  it('the abort failing too: a warning that the parts stay, and still the part error', async () => {
    const { file, data } = fileOf(30 * KiB);
    const failure = serviceError('UploadPart', 500, 'InternalError');
    const fake = fakeObs({
      part: partFails(failure),
      abort: async () => {
        throw serviceError('AbortMultipartUpload', 403, 'AccessDenied');
      },
    });
    const { error, warnings, logs } = await run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
    });
    expect(error).toBe(failure);
    expect(warnings).toEqual([
      `could not abort multipart upload U-1 of ${KEY}: OBS AbortMultipartUpload failed: refused (HTTP 403, error code AccessDenied); ` +
        'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
    ]);
    expect(logs.filter((l) => l.startsWith('Aborted'))).toEqual([]);
  });

  it('with a run signal that has not fired, clean-up follows a signal of its own (not the run signal)', async () => {
    const { file, data } = fileOf(30 * KiB);
    const controller = new AbortController();
    const failure = serviceError('UploadPart', 500, 'InternalError');
    let cleanupSignal: AbortSignal | undefined;
    const fake = fakeObs({
      part: partFails(failure),
      abort: async (_, context) => {
        cleanupSignal = context?.signal;
      },
    });
    const { error } = await run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
      signal: controller.signal,
    });
    expect(error).toBe(failure);
    expect(fake.contexts).toEqual([{ signal: expect.any(AbortSignal) }]);
    expect(fake.calls.at(-1)).toBe(`cleanup AbortMultipartUpload ${KEY} U-1`);
    expect(cleanupSignal).toBeDefined();
    expect(cleanupSignal).not.toBe(controller.signal);
    expect(cleanupSignal?.aborted).toBe(false);
    controller.abort();
    expect(cleanupSignal?.aborted).toBe(false);
  });

  it('a cancel during the clean-up: the abort gets 3 s more, then its signal ends it; the upload rejects with the cancel reason', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { file, data } = fileOf(30 * KiB);
    const controller = new AbortController();
    const reason = new Error('cancelled by the runner');
    const aborting = deferred<AbortSignal>();
    const fake = fakeObs({
      part: partFails(serviceError('UploadPart', 500, 'InternalError')),
      abort: (_, context) => {
        const signal = context?.signal as AbortSignal;
        controller.abort(reason);
        aborting.resolve(signal);
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    });
    const pending = run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
      signal: controller.signal,
    });
    const signal = await aborting.promise;
    vi.advanceTimersByTime(2999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    const { error, warnings } = await pending;
    expect(error).toBe(reason);
    expect(warnings).toEqual([
      `could not abort multipart upload U-1 of ${KEY}: The clean-up ran out of time.; ` +
        'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
    ]);
  });

  it('cancelled mid-upload: clean-up gets a short deadline of its own (half the grace per attempt, two attempts)', async () => {
    const { file, data } = fileOf(30 * KiB);
    const controller = new AbortController();
    const reason = new Error('cancelled');
    let cleanupSignal: AbortSignal | undefined;
    const fake = fakeObs({
      part: async (part, read) => {
        await read();
        if (part.partNumber === 2) controller.abort(reason);
        return `"e${part.partNumber}"`;
      },
      abort: async (_, context) => {
        cleanupSignal = context?.signal;
      },
    });
    const { error, logs } = await run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
      signal: controller.signal,
    });
    expect(error).toBe(reason);
    expect(fake.contexts).toEqual([
      {
        signal: expect.any(AbortSignal),
        timeoutMs: 1500,
        retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 },
      },
    ]);
    expect(cleanupSignal).not.toBe(controller.signal);
    expect(cleanupSignal?.aborted).toBe(false);
    expect(fake.calls.slice(-2)).toEqual([
      `run UploadPart ${KEY} U-1 #2`,
      `cleanup AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(logs.at(-1)).toBe('Aborted multipart upload U-1; nothing was left in the bucket.');
  });

  it('a cancel while a part waits for its digest: no part is sent, the upload is aborted', async () => {
    const { file, data } = fileOf(20 * KiB);
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const waiting = deferred();
    const { scan, closes } = scanOf(data, [10 * KiB, 10 * KiB], () => {
      waiting.resolve();
      return new Promise<string>(() => {});
    });
    const fake = fakeObs();
    const pending = run(fake.obs, { path: file, scan, concurrency: 1, signal: controller.signal });
    await waiting.promise;
    controller.abort(reason);
    const { error } = await pending;
    expect(error).toBe(reason);
    expect(fake.calls).toEqual([
      `run InitiateMultipartUpload ${KEY} headers=${headers(data)}`,
      `cleanup AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(closes()).toBe(1);
  });
});

describe('events are optional', () => {
  it('without listeners the outcome is the same: a lost Complete answer, an auto change, a failed abort', async () => {
    const { file, data } = fileOf(20 * KiB);
    const lost = fakeObs({
      complete: async () => {
        throw serviceError('CompleteMultipartUpload', 404, 'NoSuchUpload');
      },
      head: async () => ({ size: data.length, etag: undefined, sha256Hex: sha256(data) }),
    });
    const scan = () =>
      scanOf(
        data,
        Array.from({ length: 20 }, () => KiB),
      ).scan;
    await expect(
      uploadFile(lost.obs, { path: file, key: KEY, scan: scan(), skipUnchanged: false }),
    ).resolves.toMatchObject({ uploaded: true });

    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (now += 1000));
    const auto = { concurrency: 'auto' as const, autoTiming: { warmupMs: 0, windowMs: 1 } };
    await expect(
      uploadFile(fakeObs().obs, { path: file, key: KEY, scan: scan(), skipUnchanged: false, ...auto }),
    ).resolves.toMatchObject({ uploaded: true });

    const failure = serviceError('UploadPart', 500, 'InternalError');
    const failing = fakeObs({
      part: async () => {
        throw failure;
      },
      abort: async () => {
        throw new Error('abort refused');
      },
    });
    await expect(
      uploadFile(failing.obs, { path: file, key: KEY, scan: scan(), skipUnchanged: false }),
    ).rejects.toBe(failure);
  });

  it('a caller that only listens to warnings gets none when the clean-up worked', async () => {
    const { file, data } = fileOf(20 * KiB);
    const failure = serviceError('UploadPart', 500, 'InternalError');
    let n = 0;
    const fake = fakeObs({
      initiate: async (onRetry) => {
        onRetry();
        n += 2;
        return `U-${n}`;
      },
      part: async () => {
        throw failure;
      },
      list: async () => {
        const now = Date.now();
        return {
          uploads: [{ key: KEY, uploadId: 'U-1', initiatedMs: now }],
          serverNowMs: now,
          localNowMs: now,
        };
      },
    });
    const warnings: string[] = [];
    const error = await uploadFile(
      fake.obs,
      { path: file, key: KEY, scan: scanOf(data, [10 * KiB, 10 * KiB]).scan, skipUnchanged: false },
      { warn: (m) => warnings.push(m) },
    ).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(fake.calls.filter((c) => c.includes('Abort'))).toEqual([
      `run AbortMultipartUpload ${KEY} U-2`,
      `run AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(warnings).toEqual([]);
  });
});

describe('uploads a repeated Initiate opened (strays)', () => {
  /**
   * An OBS where every Initiate request opens an upload; the answer reaches us for the attempts in
   * `answered` (1-based) only. Aborts close uploads; the listing shows what is open.
   */
  function initiatingObs(
    attempts: number,
    answered: number[],
    failure?: unknown,
    older: ListedUpload[] = [],
  ) {
    const open: ListedUpload[] = [...older];
    let n = 0;
    const fake = fakeObs({
      initiate: async (onRetry) => {
        for (let attempt = 1; attempt <= attempts; attempt++) {
          if (attempt > 1) onRetry();
          const uploadId = `U-${++n}`;
          open.push({ key: KEY, uploadId, initiatedMs: Date.now() });
          if (answered.includes(attempt)) return uploadId;
        }
        throw failure;
      },
      abort: async (uploadId) => {
        open.splice(
          open.findIndex((u) => u.uploadId === uploadId),
          1,
        );
      },
      list: async () => {
        const now = Date.now();
        return { uploads: [...open], serverNowMs: now, localNowMs: now };
      },
    });
    return { fake, open };
  }

  it('answers lost twice, then one arrives: the two strays are aborted after the upload, the one in use kept', async () => {
    const { file, data } = fileOf(20 * KiB);
    const older = { key: KEY, uploadId: 'OLDER', initiatedMs: Date.now() - 3_600_000 };
    const { fake, open } = initiatingObs(3, [3], undefined, [older]);
    const { result, logs } = await run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
    });
    expect(result?.uploaded).toBe(true);
    expect(fake.calls.slice(3)).toEqual([
      `run CompleteMultipartUpload ${KEY} U-3`,
      `run ListMultipartUploads ${KEY}`,
      `run AbortMultipartUpload ${KEY} U-1`,
      `run AbortMultipartUpload ${KEY} U-2`,
    ]);
    expect(open.map((u) => u.uploadId)).toEqual(['OLDER', 'U-3']);
    expect(logs.filter((l) => l.startsWith('Aborted'))).toEqual([
      `Aborted multipart upload U-1 of ${KEY}, opened by a repeated InitiateMultipartUpload.`,
      `Aborted multipart upload U-2 of ${KEY}, opened by a repeated InitiateMultipartUpload.`,
    ]);
  });

  it('with a run signal, the strays are cleaned up with the clean-up client', async () => {
    const { file, data } = fileOf(20 * KiB);
    const { fake } = initiatingObs(2, [2]);
    await run(fake.obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
      signal: new AbortController().signal,
    });
    expect(fake.calls.slice(-2)).toEqual([
      `cleanup ListMultipartUploads ${KEY}`,
      `cleanup AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(fake.contexts).toEqual([{ signal: expect.any(AbortSignal) }]);
  });

  it('the answer lost on every attempt: every upload the attempts opened is aborted, none is left open', async () => {
    const { file, data } = fileOf(20 * KiB);
    const lost = serviceError('InitiateMultipartUpload');
    const older = { key: KEY, uploadId: 'OLDER', initiatedMs: Date.now() - 3_600_000 };
    const { fake, open } = initiatingObs(3, [], lost, [older]);
    const { scan, asked } = scanOf(data, [10 * KiB, 10 * KiB]);
    const { error, logs } = await run(fake.obs, { path: file, scan, concurrency: 1 });
    expect(error).toBe(lost);
    expect(fake.calls).toEqual([
      `run InitiateMultipartUpload ${KEY} headers=${headers(data)}`,
      `run ListMultipartUploads ${KEY}`,
      `run AbortMultipartUpload ${KEY} U-1`,
      `run AbortMultipartUpload ${KEY} U-2`,
      `run AbortMultipartUpload ${KEY} U-3`,
    ]);
    expect(open.map((u) => u.uploadId)).toEqual(['OLDER']);
    expect(asked).toEqual([]);
    expect(logs).toHaveLength(3);
  });

  it.each([
    ['a network error', serviceError('InitiateMultipartUpload')],
    ['an error of its own', new Error('socket hang up')],
  ])(
    'one Initiate without an answer (%s): it may have opened an upload, so the listing is checked',
    async (_, failure) => {
      const { file, data } = fileOf(20 * KiB);
      const { fake, open } = initiatingObs(1, [], failure);
      const { error } = await run(fake.obs, { path: file, scan: scanOf(data, [10 * KiB, 10 * KiB]).scan });
      expect(error).toBe(failure);
      expect(fake.calls.slice(1)).toEqual([
        `run ListMultipartUploads ${KEY}`,
        `run AbortMultipartUpload ${KEY} U-1`,
      ]);
      expect(open).toEqual([]);
    },
  );

  it('one Initiate that OBS refused (an answer): it opened nothing, nothing is listed', async () => {
    const { file, data } = fileOf(20 * KiB);
    const refused = serviceError('InitiateMultipartUpload', 403, 'AccessDenied');
    const fake = fakeObs({
      initiate: async () => {
        throw refused;
      },
    });
    const { error } = await run(fake.obs, { path: file, scan: scanOf(data, [10 * KiB, 10 * KiB]).scan });
    expect(error).toBe(refused);
    expect(fake.calls).toEqual([`run InitiateMultipartUpload ${KEY} headers=${headers(data)}`]);
  });

  it('refused after a retry: the earlier attempt may have opened one, so the listing is checked', async () => {
    const { file, data } = fileOf(20 * KiB);
    const refused = serviceError('InitiateMultipartUpload', 503, 'ServiceUnavailable');
    const { fake, open } = initiatingObs(2, [], refused);
    const { error } = await run(fake.obs, { path: file, scan: scanOf(data, [10 * KiB, 10 * KiB]).scan });
    expect(error).toBe(refused);
    expect(fake.calls.slice(1)).toEqual([
      `run ListMultipartUploads ${KEY}`,
      `run AbortMultipartUpload ${KEY} U-1`,
      `run AbortMultipartUpload ${KEY} U-2`,
    ]);
    expect(open).toEqual([]);
  });

  it('a retried Initiate and then a failed part: the upload in use is aborted, then the strays', async () => {
    const { file, data } = fileOf(20 * KiB);
    const { fake, open } = initiatingObs(2, [2]);
    const failure = serviceError('UploadPart', 500, 'InternalError');
    const part = fakeObs({
      part: async () => {
        throw failure;
      },
    });
    // The part fails; the rest of the OBS is the initiating one.
    const obs = Object.assign(Object.create(fake.obs as object), {
      uploadPart: (part.obs as unknown as { uploadPart: ObsClient['uploadPart'] }).uploadPart,
    }) as ObsClient;
    const { error } = await run(obs, {
      path: file,
      scan: scanOf(data, [10 * KiB, 10 * KiB]).scan,
      concurrency: 1,
    });
    expect(error).toBe(failure);
    expect(fake.calls.slice(1)).toEqual([
      `run AbortMultipartUpload ${KEY} U-2`,
      `run ListMultipartUploads ${KEY}`,
      `run AbortMultipartUpload ${KEY} U-1`,
    ]);
    expect(open).toEqual([]);
  });
});
