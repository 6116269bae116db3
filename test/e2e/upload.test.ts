import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, obsError, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, OBJECT, run } from '../helpers/action-fixture.js';
import { buildTar } from '../helpers/tar-builder.js';

let emu: Emulator;
let dir: string;
const MiB = 1024 * 1024;

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.writeUInt32LE(x, Math.min(i, size - 4));
  }
  return out;
}

function writeTar(name: string, entries: Parameters<typeof buildTar>[0]): { file: string; data: Buffer } {
  const data = buildTar(entries);
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return { file, data };
}

const md5 = (b: Buffer, enc: 'hex' | 'base64' = 'hex') => createHash('md5').update(b).digest(enc);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 100 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-upload-e2e-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emu.reset());

describe('file upload', () => {
  it('uploads a small tar in one PUT with x-obs-content-sha256, Content-Type and x-obs-meta-sha256, then pushes', async () => {
    const { file, data } = writeTar('small.tar', [
      { path: 'data/', type: 'directory' },
      { path: 'data/app/game.bin', content: bytes(3 * MiB, 1) },
      { path: 'cache/readme.txt', content: 'hello' },
    ]);
    const result = await run({ inputs: baseInputs(emu, { file }) });
    expect(result.code, result.stdout).toBe(0);
    expect(result.outputs.uploaded).toBe('true');
    const puts = emu.requests.filter((r) => r.op === 'PutObject');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.headers['x-obs-content-sha256']).toBe(sha256(data));
    expect(puts[0]?.headers['content-type']).toBe('application/x-tar');
    expect(puts[0]?.headers['x-obs-meta-sha256']).toBe(sha256(data));
    expect(puts[0]?.headers['x-obs-meta-md5']).toBeUndefined();
    const stored = emu.obs.getObject(BUCKET, OBJECT);
    expect(stored?.md5Hex).toBe(md5(data));
    expect(stored?.size).toBe(data.length);
    // The upload comes before the push.
    const order = emu.requests.map((r) => r.op);
    expect(order.indexOf('PutObject')).toBeLessThan(order.indexOf('PushShareFiles'));
    expect(result.stdout).toMatch(/3 entries/);
    expect(result.stdout).toMatch(/top level: cache, data/);
    expect(result.summary).toContain(`SHA-256 <code>${sha256(data)}</code>`);
  });

  it('uploads a 40 MiB tar in parts and the object is reassembled byte for byte; a re-run is skipped', async () => {
    const { file, data } = writeTar('big.tar', [{ path: 'data/big.bin', content: bytes(40 * MiB, 7) }]);
    const first = await run({ inputs: baseInputs(emu, { file, wait: 'false' }) });
    expect(first.code, first.stdout).toBe(0);
    const parts = emu.requests.filter((r) => r.op === 'UploadPart');
    // One 16 MiB part, then the last 24 MiB in 5 MiB parts (planParts): each with its SHA-256.
    const MiBs = [16, 5, 5, 5, 5, 4];
    const slices = MiBs.map((n, i) => {
      const offset = MiBs.slice(0, i).reduce((a, b) => a + b, 0) * MiB;
      return sha256(data.subarray(offset, i === MiBs.length - 1 ? data.length : offset + n * MiB));
    });
    const sent = parts.map((p) => [Number(p.query.partNumber), p.headers['x-obs-content-sha256']]);
    expect(sent.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(slices.map((d, i) => [i + 1, d]));
    expect(emu.requests.filter((r) => r.op === 'CompleteMultipartUpload')).toHaveLength(1);
    const stored = emu.obs.getObject(BUCKET, OBJECT);
    expect(stored?.md5Hex).toBe(md5(data));
    expect(stored?.metadata).toEqual({ sha256: sha256(data) });
    expect(stored?.contentType).toBe('application/x-tar');
    // The tar check reads headers only and comes first; the SHA-256 is waited for after the
    // servers are chosen (it was computed meanwhile), right before the upload.
    const log = first.stdout;
    const at = (text: string) => {
      const i = log.indexOf(text);
      expect(i, text).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(log).toMatch(/big\.tar: 1 entry, 40\.0 MiB of file data, top level: data; checked in \d+\.\d s/);
    const digest = at(`SHA-256 of ${file}: ${sha256(data)} (hashed in `);
    expect(at('checked in')).toBeLessThan(at('3 servers chosen'));
    expect(at('3 servers chosen')).toBeLessThan(digest);
    expect(digest).toBeLessThan(at('Uploading '));

    emu.clearRequests();
    const second = await run({ inputs: baseInputs(emu, { file, wait: 'false' }) });
    expect(second.code, second.stdout).toBe(0);
    expect(second.outputs.uploaded).toBe('false');
    expect(emu.requests.map((r) => r.op).filter((op) => op !== 'PushShareFiles')).toEqual(['HeadObject']);
    expect(second.stdout).toContain(
      `Upload skipped: the object already exists with the same size and SHA-256 (${sha256(data)})`,
    );
    expect(second.summary).toContain(`SHA-256 <code>${sha256(data)}</code>`);
  });

  it('uploads again when the object has the same size but another SHA-256, or only MD5 metadata', async () => {
    const { file, data } = writeTar('same-size.tar', [{ path: 'data/a.bin', content: bytes(MiB, 5) }]);
    const metadatas: Record<string, string>[] = [
      { sha256: sha256(Buffer.from('other')) },
      { md5: md5(data) },
    ];
    for (const metadata of metadatas) {
      emu.reset();
      emu.obs.putObject(BUCKET, OBJECT, Buffer.alloc(data.length), { metadata });
      const result = await run({ inputs: baseInputs(emu, { file, wait: 'false' }) });
      expect(result.code, result.stdout).toBe(0);
      expect(result.outputs.uploaded).toBe('true');
      expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(md5(data));
    }
  });

  it('aborts a multipart upload whose part keeps failing and pushes nothing', async () => {
    const { file } = writeTar('fail.tar', [{ path: 'data/big.bin', content: bytes(20 * MiB, 3) }]);
    emu.faults.add({
      op: 'UploadPart',
      partNumber: 2,
      times: Number.POSITIVE_INFINITY,
      action: obsError(500, 'InternalError'),
    });
    const result = await run({
      inputs: baseInputs(emu, { file, 'skip-unchanged': 'false' }),
      env: { CPH_PUBLISH_MAX_ATTEMPTS: '3' },
    });
    expect(result.code).not.toBe(0);
    expect(emu.requests.filter((r) => r.op === 'UploadPart' && r.query.partNumber === '2')).toHaveLength(3);
    expect(emu.requests.filter((r) => r.op === 'AbortMultipartUpload')).toHaveLength(1);
    expect(emu.requests.some((r) => r.op === 'PushShareFiles')).toBe(false);
    expect(emu.obs.uploads.size).toBe(0);
    expect(failureLine(result)).toMatch(/UploadPart/);
    expect(failureLine(result)).toMatch(/InternalError/);
    expect(result.outputs.uploaded).toBe('false');
  });

  it.each([
    ['a path with ..', [{ path: 'data/../../etc/passwd', content: 'x' }], /\.\./],
    ['an absolute path', [{ path: '/data/x', content: 'x' }], /absolute/],
    ['a top-level directory other than data or cache', [{ path: 'system/app.apk', content: 'x' }], /system/],
    ['a device entry', [{ path: 'data/dev', type: 'char' as const }], /device/],
  ])('refuses a tar with %s before any request', async (_name, entries, reason) => {
    const { file } = writeTar('hostile.tar', entries as Parameters<typeof buildTar>[0]);
    const result = await run({ inputs: baseInputs(emu, { file }) });
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toMatch(reason);
    expect(emu.requests).toHaveLength(0);
  });

  it('dry run with a file inspects it and sends nothing', async () => {
    const { file, data } = writeTar('dry.tar', [{ path: 'data/a', content: 'abc' }]);
    const result = await run({ inputs: baseInputs(emu, { file, 'dry-run': 'true' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(result.stdout).toContain(`SHA-256 ${sha256(data)}`);
    expect(result.stdout).toMatch(/Would upload/);
  });
});

/**
 * Issue 19 item 0: an upload that ends before the part-hashing worker has finished (a skip, a
 * failed HEAD, a dry run) used to stop that worker in a way that let Node's event loop drain:
 * exit 13, nothing written, about 5 runs in 12. Each case runs many times at the file size where
 * the race was seen. A knob that slowed the worker (asleep or busy) hid the race instead: the
 * exit 13 comes when the worker is stopped as it is about to finish, which these runs hit.
 */
describe('a run that does not need every part digest always ends through the normal path', () => {
  const RUNS = 12;
  let big: { file: string; data: Buffer };
  beforeAll(() => {
    big = writeTar('rerun.tar', [{ path: 'data/big.bin', content: bytes(40 * MiB, 11) }]);
  });

  /** What every run must leave behind, whatever its exit code: outputs, summary, report file. */
  function expectReported(result: Awaited<ReturnType<typeof run>>) {
    expect(result.outputs['object-url'], result.stderr).toBe(`obs://${BUCKET}/${OBJECT}`);
    expect(result.summary.length, result.stderr).toBeGreaterThan(0);
    expect(Object.keys(result.runnerTemp).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  }

  it(`re-runs of an unchanged 40 MiB file: exit 0 and skipped, ${RUNS} runs in ${RUNS}`, async () => {
    emu.obs.putObject(BUCKET, OBJECT, big.data, { metadata: { sha256: sha256(big.data) } });
    const codes: Array<number | null> = [];
    for (let i = 0; i < RUNS; i++) {
      const result = await run({ inputs: baseInputs(emu, { file: big.file, wait: 'false' }) });
      codes.push(result.code);
      expect(result.outputs.uploaded, result.stdout).toBe('false');
      expect(result.stdout).toContain('Upload skipped: the object already exists');
      expectReported(result);
    }
    expect(codes).toEqual(Array(RUNS).fill(0));
    expect(emu.requests.some((r) => r.op === 'UploadPart' || r.op === 'PutObject')).toBe(false);
  }, 240_000);

  it('a HEAD refused with 403 before the hashing ends: exit 1 with the error line, every run', async () => {
    emu.faults.add({
      op: 'HeadObject',
      times: Number.POSITIVE_INFINITY,
      action: obsError(403, 'AccessDenied'),
    });
    const codes: Array<number | null> = [];
    for (let i = 0; i < RUNS / 2; i++) {
      const result = await run({ inputs: baseInputs(emu, { file: big.file }) });
      codes.push(result.code);
      expect(failureLine(result)).toMatch(/HeadObject/);
      expect(failureLine(result)).toMatch(/AccessDenied/);
      expect(result.outputs.uploaded).toBe('false');
      expectReported(result);
    }
    expect(codes).toEqual(Array(RUNS / 2).fill(1));
  }, 240_000);

  it('a dry run of a multipart-sized file: exit 0 with the plan, every run', async () => {
    const codes: Array<number | null> = [];
    for (let i = 0; i < RUNS / 2; i++) {
      const result = await run({ inputs: baseInputs(emu, { file: big.file, 'dry-run': 'true' }) });
      codes.push(result.code);
      expect(result.stdout).toMatch(/Would upload/);
      expectReported(result);
    }
    expect(codes).toEqual(Array(RUNS / 2).fill(0));
    expect(emu.requests).toHaveLength(0);
  }, 240_000);
});
