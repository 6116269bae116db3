import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashPartsInWorker,
  knownPartDigests,
  PartHasher,
  partRanges,
} from '../../../src/tar/part-digests.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('partRanges', () => {
  it.each([
    [0, 10, []],
    [10, 10, [{ partNumber: 1, offset: 0, length: 10 }]],
    [
      25,
      10,
      [
        { partNumber: 1, offset: 0, length: 10 },
        { partNumber: 2, offset: 10, length: 10 },
        { partNumber: 3, offset: 20, length: 5 },
      ],
    ],
  ])('%i bytes in parts of %i', (size, partSize, expected) => {
    expect(partRanges(size, partSize)).toEqual(expected);
  });
});

describe('part digests', () => {
  let dir: string;
  let path: string;
  const file = randomBytes(3 * 1024 * 1024 + 17);
  const partSize = 1024 * 1024;
  const parts = partRanges(file.length, partSize);
  const expected = [0, 1, 2, 3].map((i) => sha256(file.subarray(i * partSize, (i + 1) * partSize)));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'part-digests-'));
    path = join(dir, 'f.bin');
    await writeFile(path, file);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the worker delivers every part SHA-256, asked for in any order, more than once', async () => {
    const digests = hashPartsInWorker(path, parts);
    try {
      expect(await digests.sha256Hex(4)).toBe(expected[3]);
      expect(await Promise.all([1, 2, 3, 4, 1].map((n) => digests.sha256Hex(n)))).toEqual([
        ...expected,
        expected[0],
      ]);
      await expect(digests.sha256Hex(5)).rejects.toThrow('no part 5');
    } finally {
      await digests.close();
    }
  });

  it('a digest not yet delivered rejects once the digests are closed', async () => {
    const digests = hashPartsInWorker(path, parts);
    // Closed before this thread yields: no message from the worker can have been handled.
    const closing = digests.close();
    await expect(digests.sha256Hex(4)).rejects.toThrow('part hashing was stopped');
    await closing;
    await digests.close();
  });

  it('a file shorter than announced rejects the parts that cannot be hashed', async () => {
    const digests = hashPartsInWorker(path, partRanges(file.length + partSize, partSize));
    try {
      expect(await digests.sha256Hex(1)).toBe(expected[0]);
      await expect(digests.sha256Hex(5)).rejects.toThrow(/shrank while it was being hashed/);
    } finally {
      await digests.close();
    }
  });

  it('PartHasher over chunks that straddle part boundaries gives the same digests', async () => {
    const hasher = new PartHasher(parts);
    for (let at = 0; at < file.length; at += 700_001) hasher.update(file.subarray(at, at + 700_001));
    const digests = hasher.finish();
    expect(await Promise.all([1, 2, 3, 4].map((n) => digests.sha256Hex(n)))).toEqual(expected);
    expect(() => new PartHasher(partRanges(10, 4)).finish()).toThrow(
      'fewer bytes than the file size announced',
    );
    await expect(knownPartDigests([]).sha256Hex(1)).rejects.toThrow('no part 1');
  });
});
