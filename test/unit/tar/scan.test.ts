import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarError } from '../../../src/tar/inspect.js';
import {
  checkFile,
  completeScan,
  type FileScan,
  MAX_PARTS,
  MIN_PART_SIZE,
  partSizeFor,
  planParts,
  SINGLE_PUT_LIMIT,
  scanFile,
} from '../../../src/tar/scan.js';
import { buildTar } from '../../helpers/tar-builder.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('partSizeFor', () => {
  it.each([
    [0, 16 * MiB],
    [1, 16 * MiB],
    [16 * MiB, 16 * MiB],
    [16 * MiB + 1, 16 * MiB],
    [10 * GiB, 16 * MiB],
    [MAX_PARTS * 16 * MiB, 16 * MiB],
    [MAX_PARTS * 16 * MiB + 1, 16 * MiB + 1],
    [160 * GiB, 17_179_870],
    [1024 * GiB, 109_951_163],
  ])('%i bytes → %i-byte parts', (size, expected) => {
    expect(partSizeFor(size)).toBe(expected);
  });

  it('never needs more than 10000 parts and never goes under 16 MiB', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * 1024 * GiB }), (size) => {
        const part = partSizeFor(size);
        expect(part).toBeGreaterThanOrEqual(16 * MiB);
        expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
      }),
    );
  });
});

describe('planParts', () => {
  const sizes = (size: number) => planParts(size).map((p) => p.length);
  it.each([
    ['16 MiB: one PUT', 16 * MiB, []],
    ['16 MiB + 1', 16 * MiB + 1, [16 * MiB, 1]],
    [
      '40 MiB: one regular part, the rest in 5 MiB parts',
      40 * MiB,
      [16 * MiB, ...Array(4).fill(5 * MiB), 4 * MiB],
    ],
    ['64 MiB', 64 * MiB, [16 * MiB, 16 * MiB, 16 * MiB, ...Array(3).fill(5 * MiB), MiB]],
  ])('%s', (_name, size, expected) => {
    expect(sizes(size)).toEqual(expected);
  });

  it('1 GiB: 48 parts of 16 MiB, then the last 256 MiB in 5 MiB parts', () => {
    const parts = sizes(GiB);
    expect(parts.slice(0, 48)).toEqual(Array(48).fill(16 * MiB));
    expect(parts.slice(48)).toEqual([...Array(51).fill(5 * MiB), MiB]);
  });

  it('covers the file in order, ≤ 10000 parts, each ≥ 5 MiB but the last, none over the part size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16 * MiB + 1, max: 5 * 1024 * GiB }), (size) => {
        const parts = planParts(size);
        expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
        const partSize = partSizeFor(size);
        let offset = 0;
        const wrong = parts.filter((part, i) => {
          const ok =
            part.partNumber === i + 1 &&
            part.offset === offset &&
            part.length <= partSize &&
            (i === parts.length - 1 || part.length >= MIN_PART_SIZE);
          offset += part.length;
          return !ok;
        });
        expect(wrong).toEqual([]);
        expect(offset).toBe(size);
      }),
      { numRuns: 60 },
    );
  });
});

describe('scanFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scan-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const made = new Map<number, string>();

  /** A valid tar with random content, zero-padded after the end marker to exactly `size` bytes. */
  async function tarOfSize(size: number): Promise<string> {
    const existing = made.get(size);
    if (existing) return existing;
    const body = randomBytes(Math.max(0, size - 4096));
    const tar = buildTar([
      { path: 'data/', type: 'directory' },
      { path: 'data/blob.bin', content: body },
    ]);
    expect(tar.length).toBeLessThanOrEqual(size);
    const path = join(dir, `t-${size}.tar`);
    await writeFile(path, Buffer.concat([tar, Buffer.alloc(size - tar.length)]));
    made.set(size, path);
    return path;
  }

  const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  /** Each part's SHA-256, computed with node:crypto over its slice. */
  function expectedDigests(file: Buffer, parts: FileScan['parts']): string[] {
    return parts.map((p) => sha256Hex(file.subarray(p.offset, p.offset + p.length)));
  }

  async function partSha256s(scan: FileScan): Promise<string[]> {
    try {
      return await Promise.all(scan.parts.map((p) => scan.partDigests.sha256Hex(p.partNumber)));
    } finally {
      await scan.partDigests.close();
    }
  }

  it('a small tar: whole-file SHA-256, no parts, and the tar report', async () => {
    const path = join(dir, 'small.tar');
    const tar = buildTar([
      { path: 'data/', type: 'directory' },
      { path: 'data/a', content: 'hello' },
      { path: 'cache/', type: 'directory' },
    ]);
    await writeFile(path, tar);
    const scan = await scanFile(path, { strictLayout: true });
    expect(scan).toEqual({
      size: tar.length,
      sha256Hex: sha256Hex(tar),
      parts: [],
      partDigests: expect.anything(),
      tar: { entries: 3, totalBytes: 5, topLevel: ['cache', 'data'], problems: [], omitted: 0 },
    });
  });

  describe.each(['worker', 'inline'] as const)(
    'around the single-PUT limit, part SHA-256s %s',
    (partHashing) => {
      it.each([
        ['16 MiB - 1', SINGLE_PUT_LIMIT - 1, 0],
        ['16 MiB', SINGLE_PUT_LIMIT, 0],
        ['16 MiB + 1', SINGLE_PUT_LIMIT + 1, 2],
        ['48 MiB + 12345', 3 * SINGLE_PUT_LIMIT + 12345, 6],
      ])(
        '%s: SHA-256s equal node:crypto over the file and over each part',
        async (_name, size, partCount) => {
          const path = await tarOfSize(size);
          const file = await readFile(path);
          const scan = await scanFile(path, { strictLayout: true, partHashing });
          expect(scan.parts).toHaveLength(partCount);
          expect(scan).toMatchObject({ size, sha256Hex: sha256Hex(file), parts: planParts(size) });
          expect(await partSha256s(scan)).toEqual(expectedDigests(file, scan.parts));
          expect(scan.tar.problems).toEqual([]);
        },
      );
    },
  );

  it('reports progress after every chunk, ending at the file size', async () => {
    const size = 3 * MiB + 100;
    const path = await tarOfSize(size);
    const calls: Array<[number, number]> = [];
    await scanFile(path, { strictLayout: true, onProgress: (read, total) => calls.push([read, total]) });
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.every(([, total]) => total === size)).toBe(true);
    expect(calls.map(([read]) => read)).toEqual([...calls.map(([read]) => read)].sort((a, b) => a - b));
    expect(calls.at(-1)).toEqual([size, size]);
  });

  it('throws TarError for a hostile tar, naming the file as the caller shows it', async () => {
    const path = join(dir, 'hostile.tar');
    await writeFile(
      path,
      buildTar([
        { path: 'data/', type: 'directory' },
        { path: '../../etc/cron.d/x', content: 'x' },
      ]),
    );
    const error = await scanFile(path, { strictLayout: true, displayName: 'dist/app.tar' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TarError);
    expect((error as TarError).message).toMatch(
      /^file 'dist\/app\.tar' is not a safe tar for CPH: 1 problem, "\.\.\/\.\.\/etc\/cron\.d\/x": path has a '\.\.' segment\./,
    );
  });

  it('throws TarError for a multipart-sized file that is not a tar, and stops its part worker', async () => {
    const path = join(dir, 'random.bin');
    await writeFile(path, Buffer.concat([randomBytes(1024), Buffer.alloc(SINGLE_PUT_LIMIT + MiB)]));
    await expect(scanFile(path, { strictLayout: true, partHashing: 'worker' })).rejects.toThrow(
      'not a tar archive: the first 512 bytes are not a tar header',
    );
  });

  it('throws TarError for a strict-layout violation but passes the same tar without strict layout', async () => {
    const path = join(dir, 'layout.tar');
    await writeFile(path, buildTar([{ path: 'README', content: 'x' }]));
    await expect(scanFile(path, { strictLayout: true })).rejects.toBeInstanceOf(TarError);
    await expect(scanFile(path, { strictLayout: false })).resolves.toMatchObject({
      tar: { topLevel: ['README'] },
    });
  });

  it('a multipart-sized tar is checked by its headers: a bad entry after 20 MiB of data is still found', async () => {
    const path = join(dir, 'late-hostile.tar');
    await writeFile(
      path,
      buildTar([
        { path: 'data/', type: 'directory' },
        { path: 'data/big.bin', content: randomBytes(20 * MiB) },
        { path: 'data/link', type: 'symlink', linkTarget: '/etc/passwd' },
      ]),
    );
    await expect(checkFile(path, { strictLayout: true })).rejects.toThrow(
      /"data\/link": symlink target '\/etc\/passwd' is absolute/,
    );
  });

  it('a multipart-sized tar: the check returns first, its SHA-256s come from the workers, entries as read inline', async () => {
    const path = await tarOfSize(3 * SINGLE_PUT_LIMIT + 12345);
    const file = await readFile(path);
    const inlineEntries: string[] = [];
    const inline = await checkFile(path, {
      strictLayout: true,
      partHashing: 'inline',
      onEntry: (e) => inlineEntries.push(e.path),
    });
    const workerEntries: string[] = [];
    const checked = await checkFile(path, { strictLayout: true, onEntry: (e) => workerEntries.push(e.path) });
    try {
      expect(checked.tar).toEqual(inline.tar);
      expect(workerEntries).toEqual(inlineEntries);
      expect(await checked.sha256Hex()).toBe(sha256Hex(file));
      expect(await inline.sha256Hex()).toBe(sha256Hex(file));
      const scan = await completeScan(checked);
      expect(await partSha256s(scan)).toEqual(expectedDigests(file, scan.parts));
    } finally {
      await checked.close();
    }
  });

  it('a closed check stops its digests: the SHA-256 rejects and completeScan says so', async () => {
    // A sparse 8 GiB tar (a header, then zeros): seconds of hashing, so close() comes first.
    const path = join(dir, 'sparse.tar');
    const size = 8 * GiB;
    await writeFile(path, buildTar([{ path: 'data/zeros', size, content: '' }], { endBlocks: 0 }));
    await truncate(path, 512 + size + 1024);
    const checked = await checkFile(path, { strictLayout: true });
    expect(checked.tar).toMatchObject({ entries: 1, totalBytes: size, problems: [] });
    await checked.close();
    await expect(completeScan(checked)).rejects.toThrow(/stopped/);
    await expect(checked.partDigests.sha256Hex(1)).rejects.toThrow(/stopped/);
  });

  it('fails plainly for a missing file', async () => {
    await expect(scanFile(join(dir, 'missing.tar'), { strictLayout: true })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
