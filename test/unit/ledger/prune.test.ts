import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../../src/ledger/manifest.js';
import { deleteCalls, isPrunable, pruneSet, refusalOf } from '../../../src/ledger/prune.js';

/** `'/data/a/'` is a directory, anything else a file. */
function m(...paths: string[]): ManifestEntry[] {
  return paths.map((p) =>
    p.endsWith('/') ? { path: p.slice(0, -1), type: 'dir', size: 0 } : { path: p, type: 'file', size: 1 },
  );
}

describe('pruneSet', () => {
  const cases: Array<{
    name: string;
    previous: ManifestEntry[];
    next: ManifestEntry[];
    stale?: string[];
    delete: string[];
    refused?: string[];
  }> = [
    {
      name: 'a file the new bundle dropped',
      previous: m('/data/', '/data/app/', '/data/app/a.bin', '/data/app/b.bin'),
      next: m('/data/', '/data/app/', '/data/app/a.bin'),
      delete: ['/data/app/b.bin'],
    },
    {
      name: 'a whole directory nothing of the new bundle lies under: the directory only',
      previous: m('/data/', '/data/old/', '/data/old/x/', '/data/old/x/1', '/data/old/2', '/data/keep'),
      next: m('/data/', '/data/keep'),
      delete: ['/data/old'],
    },
    {
      name: 'a directory still filled by the new bundle stays, its dropped children go',
      previous: m('/data/app/', '/data/app/lib/', '/data/app/lib/a.so', '/data/app/lib/b.so'),
      next: m('/data/app/lib/a.so'),
      delete: ['/data/app/lib/b.so'],
    },
    {
      name: 'identical bundles: nothing',
      previous: m('/data/', '/data/a', '/cache/', '/cache/b'),
      next: m('/data/', '/data/a', '/cache/', '/cache/b'),
      delete: [],
    },
    {
      name: 'never /data, /cache, / or anything outside them',
      previous: m('/data/', '/cache/', '/system/x', '/other/', '/data/gone'),
      next: m('/cache/new'),
      delete: ['/data/gone'],
    },
    {
      name: 'a file that became a directory is left to the push',
      previous: m('/data/conf', '/data/z'),
      next: m('/data/conf/', '/data/conf/a.ini'),
      delete: ['/data/z'],
    },
    {
      name: 'a directory that became a file is left to the push, and what was under it too',
      previous: m('/data/conf/', '/data/conf/a.ini', '/data/conf/sub/', '/data/conf/sub/b'),
      next: m('/data/conf'),
      delete: [],
    },
    {
      name: 'old stale paths are retried when the new bundle does not have them',
      previous: m('/data/a'),
      next: m('/data/a', '/data/kept'),
      stale: ['/data/left-over', '/data/kept', '/data/left-over/inner', '/data'],
      delete: ['/data/left-over'],
    },
    {
      name: 'a stale path under a directory being deleted goes with it',
      previous: m('/data/old/', '/data/old/a'),
      next: m('/data/new'),
      stale: ['/data/old/b'],
      delete: ['/data/old'],
    },
    {
      name: 'paths with characters DeleteShareFiles refuses are refused, unless a deleted directory takes them',
      previous: m('/data/关卡.bin', '/data/a+b', '/data/ok file=1.txt', '/data/dir/', '/data/dir/x+y'),
      next: m('/data/keep'),
      delete: ['/data/dir', '/data/ok file=1.txt'],
      refused: ['/data/a+b', '/data/关卡.bin'],
    },
    {
      name: 'the children of a refused directory share its characters: all refused, kept as stale',
      previous: m('/data/d#1/', '/data/d#1/a', '/data/d#1/b'),
      next: m('/data/x'),
      delete: [],
      refused: ['/data/d#1', '/data/d#1/a', '/data/d#1/b'],
    },
    {
      name: 'a path longer than 4096 bytes is refused',
      previous: m(`/data/${'a'.repeat(4091)}`, `/data/${'b'.repeat(4090)}`),
      next: m('/data/x'),
      delete: [`/data/${'b'.repeat(4090)}`],
      refused: [`/data/${'a'.repeat(4091)}`],
    },
    {
      name: 'no previous bundle, no stale: nothing',
      previous: [],
      next: m('/data/a'),
      delete: [],
    },
  ];
  it.each(cases)('$name', ({ previous, next, stale, delete: expected, refused }) => {
    expect(pruneSet(previous, next, stale)).toEqual({ delete: expected, refused: refused ?? [] });
  });

  it('diffs two 50,000-entry manifests and deletes exactly the dropped directories and files', () => {
    const dirs = 500;
    const files = 99;
    const make = (dropDir: (d: number) => boolean, dropFile: (d: number, f: number) => boolean) => {
      const entries: ManifestEntry[] = [];
      for (let d = 0; d < dirs; d++) {
        if (dropDir(d)) continue;
        entries.push({ path: `/data/game/d${d}`, type: 'dir', size: 0 });
        for (let f = 0; f < files; f++) {
          if (!dropFile(d, f)) entries.push({ path: `/data/game/d${d}/f${f}.bin`, type: 'file', size: 10 });
        }
      }
      return entries;
    };
    const previous = make(
      () => false,
      () => false,
    );
    const next = make(
      (d) => d % 100 === 7,
      (d, f) => d === 3 && f === 42,
    );
    expect(previous.length).toBe(50_000);
    expect(pruneSet(previous, next)).toEqual({
      delete: [
        '/data/game/d107',
        '/data/game/d207',
        '/data/game/d3/f42.bin',
        '/data/game/d307',
        '/data/game/d407',
        '/data/game/d7',
      ],
      refused: [],
    });
  });
});

describe('refusalOf / isPrunable', () => {
  it.each([
    ['allowed characters', '/data/A-z_0.9=x y', undefined],
    ['a +', '/data/a+b', 'has a character DeleteShareFiles refuses'],
    ['a new line', '/data/a\nb', 'has a character DeleteShareFiles refuses'],
    ['a .. segment', '/data/../etc', 'has an empty, . or .. segment'],
    ['an empty segment', '/data//x', 'has an empty, . or .. segment'],
    ['4096 bytes', `/data/${'x'.repeat(4090)}`, undefined],
    ['4097 bytes', `/data/${'x'.repeat(4091)}`, 'is longer than 4096 bytes'],
  ])('%s', (_, path, reason) => {
    expect(refusalOf(path)).toBe(reason);
  });

  it.each([
    ['/data/x', true],
    ['/cache/x', true],
    ['/data', false],
    ['/data/', false],
    ['/cache', false],
    ['/', false],
    ['/database/x', false],
    ['/system/bin', false],
  ])('%s prunable: %s', (path, expected) => {
    expect(isPrunable(path)).toBe(expected);
  });
});

describe('deleteCalls', () => {
  const ids = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const paths = (n: number, prefix = '/data/p') =>
    Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

  it('groups servers with the same paths: ⌈servers / batch⌉ × ⌈paths / 100⌉ calls', () => {
    const a = paths(250);
    const b = paths(3, '/cache/q');
    const perServer = new Map<string, string[]>();
    for (const id of ids(230, 'a')) perServer.set(id, a);
    for (const id of ids(20, 'b')) perServer.set(id, b);
    perServer.set('none', []);
    const calls = deleteCalls(perServer, 100);
    expect(
      calls.map((c) => [c.serverIds.length, c.filePaths.length, c.serverIds[0], c.filePaths[0]]),
    ).toEqual([
      [100, 100, 'a0', '/data/p000'],
      [100, 100, 'a0', '/data/p100'],
      [100, 50, 'a0', '/data/p200'],
      [100, 100, 'a100', '/data/p000'],
      [100, 100, 'a100', '/data/p100'],
      [100, 50, 'a100', '/data/p200'],
      [30, 100, 'a200', '/data/p000'],
      [30, 100, 'a200', '/data/p100'],
      [30, 50, 'a200', '/data/p200'],
      [20, 3, 'b0', '/cache/q000'],
    ]);
    // Every (server, path) pair is deleted exactly once.
    const pairs = calls.flatMap((c) => c.serverIds.flatMap((s) => c.filePaths.map((p) => `${s} ${p}`)));
    expect(pairs.length).toBe(230 * 250 + 20 * 3);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('honours batch-size and treats the same paths in another order as the same set', () => {
    const calls = deleteCalls(
      [
        ['s1', ['/data/b', '/data/a']],
        ['s2', ['/data/a', '/data/b']],
        ['s3', ['/data/a']],
        ['s4', ['/data/a', '/data/b', '/data/a']],
      ],
      2,
    );
    expect(calls).toEqual([
      { serverIds: ['s1', 's2'], filePaths: ['/data/a', '/data/b'] },
      { serverIds: ['s4'], filePaths: ['/data/a', '/data/b'] },
      { serverIds: ['s3'], filePaths: ['/data/a'] },
    ]);
  });
});
