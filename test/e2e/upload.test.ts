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
  it('uploads a small tar in one PUT with Content-MD5, Content-Type and x-obs-meta-sha256, then pushes', async () => {
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
    expect(puts[0]?.headers['content-md5']).toBe(md5(data, 'base64'));
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
    expect(parts.map((p) => Number(p.query.partNumber)).sort()).toEqual([1, 2, 3]);
    for (const p of parts) expect(p.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(emu.requests.filter((r) => r.op === 'CompleteMultipartUpload')).toHaveLength(1);
    const stored = emu.obs.getObject(BUCKET, OBJECT);
    expect(stored?.md5Hex).toBe(md5(data));
    expect(stored?.metadata).toEqual({ sha256: sha256(data) });
    expect(stored?.contentType).toBe('application/x-tar');

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
