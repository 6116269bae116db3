/**
 * The safety policy on its own: members as plain values (what the parser reports), no bytes.
 * test/unit/tar/inspect.test.ts checks the same rules end to end through real archives.
 */
import { describe, expect, it } from 'vitest';
import type { TarEntryType } from '../../../src/tar/header.js';
import type { TarEntry } from '../../../src/tar/parser.js';
import { checkPathShape, TarSafetyPolicy } from '../../../src/tar/policy.js';
import type { TarProblem } from '../../../src/tar/problems.js';

function member(path: string, type: TarEntryType = 'file', extra: Partial<TarEntry> = {}): TarEntry {
  const typeflag = { file: '0', link: '1', symlink: '2', directory: '5' }[type as string] ?? '0';
  return { path, type, typeflag, size: 0, linkTarget: undefined, headerOffset: 0, ...extra };
}

function judge(entries: TarEntry[], strictLayout = true): { problems: TarProblem[]; topLevel: string[] } {
  const problems: TarProblem[] = [];
  const policy = new TarSafetyPolicy({ strictLayout }, (entry, reason, code) =>
    problems.push({ entry, reason, code }),
  );
  for (const entry of entries) policy.check(entry);
  return { problems, topLevel: policy.topLevel };
}

const link = (path: string, target: string, type: 'link' | 'symlink' = 'symlink') =>
  member(path, type, { linkTarget: target });

describe('checkPathShape', () => {
  it.each([
    ['data/a', undefined],
    ['./data/a', undefined],
    ['data/..x/y', undefined],
    ['', { reason: 'empty path', code: 'empty-path' }],
    ['data/\0x', { reason: 'path contains a NUL byte', code: 'bad-header' }],
    ['/data/a', { reason: 'absolute path', code: 'absolute-path' }],
    ['C:/x', { reason: 'absolute path (Windows drive or UNC form)', code: 'absolute-path' }],
    ['c:\\x', { reason: 'absolute path (Windows drive or UNC form)', code: 'absolute-path' }],
    ['\\\\server\\share', { reason: 'absolute path (Windows drive or UNC form)', code: 'absolute-path' }],
    ['C:x', undefined],
    ['data/../x', { reason: "path has a '..' segment", code: 'dotdot' }],
    ['data\\..\\x', { reason: "path has a '..' segment", code: 'dotdot' }],
    ['..', { reason: "path has a '..' segment", code: 'dotdot' }],
  ])('%j → %j', (path, expected) => {
    expect(checkPathShape(path)).toEqual(expected);
  });
});

describe('TarSafetyPolicy', () => {
  it('accepts data/ and cache/ trees and reports their top level, sorted', () => {
    const { problems, topLevel } = judge([
      member('./cache/', 'directory'),
      member('data/', 'directory'),
      member('data/a'),
      link('data/l', 'a'),
      link('data/h', 'data/a', 'link'),
    ]);
    expect(problems).toEqual([]);
    expect(topLevel).toEqual(['cache', 'data']);
  });

  it('refuses devices and FIFOs, multi-volume and unknown types, whatever the layout', () => {
    const { problems } = judge(
      [
        member('data/c', 'character-device', { typeflag: '3' }),
        member('data/b', 'block-device', { typeflag: '4' }),
        member('data/f', 'fifo', { typeflag: '6' }),
        member('data/m', 'gnu-multivolume', { typeflag: 'M' }),
        member('data/u', 'unknown', { typeflag: 'Z' }),
        member('data/v', 'unknown', { typeflag: '\x01' }),
      ],
      false,
    );
    expect(problems).toEqual([
      { entry: 'data/c', reason: 'character device entries are not allowed', code: 'device' },
      { entry: 'data/b', reason: 'block device entries are not allowed', code: 'device' },
      { entry: 'data/f', reason: 'FIFO entries are not allowed', code: 'device' },
      {
        entry: 'data/m',
        reason: "multi-volume continuation entry (type 'M'): pass a complete single-volume tar",
        code: 'entry-type',
      },
      { entry: 'data/u', reason: "unsupported entry type 'Z'", code: 'entry-type' },
      { entry: 'data/v', reason: "unsupported entry type '\\x01'", code: 'entry-type' },
    ]);
  });

  it('checks link targets: empty, NUL, absolute, outside the archive', () => {
    const { problems } = judge([
      link('data/e', ''),
      link('data/n', 'a\0b'),
      link('data/abs', '/etc/passwd'),
      link('data/win', 'C:\\Windows'),
      link('data/up', '../../x'),
      link('data/hard', '../x', 'link'),
      member('data/nolink', 'symlink'),
    ]);
    expect(problems).toEqual([
      { entry: 'data/e', reason: 'symlink has an empty target', code: 'link-target' },
      { entry: 'data/n', reason: 'symlink target contains a NUL byte', code: 'link-target' },
      { entry: 'data/abs', reason: "symlink target '/etc/passwd' is absolute", code: 'link-target' },
      { entry: 'data/win', reason: "symlink target 'C:\\Windows' is absolute", code: 'link-target' },
      {
        entry: 'data/up',
        reason: "symlink target '../../x' points outside the archive",
        code: 'link-target',
      },
      {
        entry: 'data/hard',
        reason: "hard link target '../x' points outside the archive",
        code: 'link-target',
      },
      { entry: 'data/nolink', reason: 'symlink has an empty target', code: 'link-target' },
    ]);
  });

  it("a symlink's target resolves from its directory, a hard link's from the root", () => {
    expect(judge([link('data/a/s', '../../cache/x')]).problems).toEqual([]);
    expect(judge([link('data/a/s', '../../../x')]).problems).toHaveLength(1);
    expect(judge([link('data/a/h', 'cache/x', 'link')]).problems).toEqual([]);
    expect(judge([link('data/a/h', 'data/../..', 'link')]).problems).toHaveLength(1);
    expect(judge([link('data/s', './././x//y/.')]).problems).toEqual([]);
  });

  it("flags a '..' through an in-archive symlink, whichever comes first, once per link", () => {
    const through = (entry: string, kind: string, target: string, symlink: string): TarProblem => ({
      entry,
      reason: `${kind} target '${target}' goes through the symlink '${symlink}' and then '..', so it can point outside the archive`,
      code: 'link-target',
    });
    // The symlink first.
    expect(judge([link('data/s', 'x'), link('data/t', 's/../../y')]).problems).toEqual([
      through('data/t', 'symlink', 's/../../y', 'data/s'),
    ]);
    // The '..' first, the symlink after.
    expect(
      judge([link('data/t', 'd/../y'), link('data/h', 'data/d/../z', 'link'), link('data/d', 'x')]).problems,
    ).toEqual([through('data/t', 'symlink', 'd/../y', 'data/d')]);
    // A directory of that name is harmless.
    expect(judge([link('data/t', 'd/../y'), member('data/d', 'directory')]).problems).toEqual([]);
  });

  it('strict layout: one problem per top-level name, saying what is wrong with it', () => {
    const { problems } = judge([
      member('etc/', 'directory'),
      member('etc/passwd'),
      member('README'),
      member('data'),
      member('cache', 'symlink', { linkTarget: 'data' }),
      member('data/x'),
    ]);
    expect(problems).toEqual([
      {
        entry: 'etc/',
        reason: "top-level directory 'etc' is not 'data' or 'cache' (strict-layout)",
        code: 'layout',
      },
      {
        entry: 'README',
        reason: "top-level file 'README' is outside 'data' and 'cache' (strict-layout)",
        code: 'layout',
      },
      {
        entry: 'data',
        reason: "top-level 'data' is a file, not a directory (strict-layout)",
        code: 'layout',
      },
      {
        entry: 'cache',
        reason: "top-level 'cache' is a symlink, not a directory (strict-layout)",
        code: 'layout',
      },
    ]);
  });

  it('a GNU dump directory counts as a directory at the top', () => {
    expect(judge([member('data', 'gnu-dumpdir', { typeflag: 'D' })]).problems).toEqual([]);
  });

  it('without strict layout, any top level is fine, and is still reported', () => {
    const { problems, topLevel } = judge([member('etc/passwd'), member('README')], false);
    expect(problems).toEqual([]);
    expect(topLevel).toEqual(['README', 'etc']);
  });

  it('a path with a bad shape is reported once, and neither counts at the top nor is checked further', () => {
    const { problems, topLevel } = judge([link('/abs/s', '../../x'), member('../up')]);
    expect(problems.map((p) => p.code)).toEqual(['absolute-path', 'dotdot']);
    expect(topLevel).toEqual([]);
  });

  it('an entry of only "./" has no top level and no layout problem', () => {
    expect(judge([member('./', 'directory')])).toEqual({ problems: [], topLevel: [] });
  });
});
