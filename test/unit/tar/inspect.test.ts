import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { extract, pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectHeaders,
  inspectTar,
  MAX_RECORD_BYTES,
  type TarEntry,
  TarError,
  TarInspector,
  type TarInspectorOptions,
  type TarReport,
} from '../../../src/tar/inspect.js';
import { fuzzRuns } from '../../helpers/fuzz.js';
import { buildTar, paxRecords, setChecksum, type TarBuilderEntry } from '../../helpers/tar-builder.js';

interface Seen {
  path: string;
  type: string;
  size: number;
  linkTarget: string | undefined;
}

/**
 * Feeds `tar` to an inspector in `chunkSizes` chunks. When `skipping`, passes over what the
 * inspector says it would only count (`skippable`/`skip`), as `inspectHeaders` reads a file.
 */
function feed(
  tar: Uint8Array,
  options: Partial<TarInspectorOptions>,
  chunkSizes: number[],
  skipping: boolean,
): { report: TarReport; entries: TarEntry[]; bytesFed: number } {
  const entries: TarEntry[] = [];
  const inspector = new TarInspector({ strictLayout: true, ...options, onEntry: (e) => entries.push(e) });
  let pos = 0;
  let i = 0;
  let bytesFed = 0;
  while (pos < tar.length) {
    const n = Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
    const chunk = tar.subarray(pos, pos + n);
    inspector.write(chunk);
    bytesFed += chunk.length;
    pos += chunk.length;
    if (!skipping) continue;
    const skip = Math.min(inspector.skippable, tar.length - pos);
    inspector.skip(skip);
    pos += skip;
  }
  return { report: inspector.end(), entries, bytesFed };
}

/**
 * The inspector's report and entries for `tar`; every call also checks that reading the headers
 * only (skipping what the parser would only count) finds exactly the same.
 */
function inspect(
  tar: Uint8Array,
  options: Partial<TarInspectorOptions> = {},
  chunkSizes: number[] = [tar.length || 1],
): { report: TarReport; entries: TarEntry[] } {
  const { report, entries } = feed(tar, options, chunkSizes, false);
  const headersOnly = feed(tar, options, chunkSizes, true);
  expect({ report: headersOnly.report, entries: headersOnly.entries }).toEqual({ report, entries });
  return { report, entries };
}

function problemsOf(tar: Uint8Array, options: Partial<TarInspectorOptions> = {}) {
  return inspect(tar, options).report.problems.map(({ entry, reason }) => ({ entry, reason }));
}

const dataDir: TarBuilderEntry = { path: 'data/', type: 'directory' };

describe('TarInspector accepts', () => {
  it('a ustar archive with directories, files and links inside the root, and reports its shape', () => {
    const tar = buildTar([
      { path: './', type: 'directory' },
      { path: './data/', type: 'directory' },
      { path: './data/app/', type: 'directory' },
      { path: './data/app/a.bin', content: 'hello' },
      { path: './data/app/b.bin', content: Buffer.alloc(1000, 1) },
      { path: './data/app/current', type: 'symlink', linkTarget: 'a.bin' },
      { path: './data/app/up', type: 'symlink', linkTarget: '../../cache/x' },
      { path: './data/app/root', type: 'symlink', linkTarget: '../..' },
      { path: './data/app/hard', type: 'link', linkTarget: './data/app/a.bin' },
      { path: 'cache/', type: 'directory' },
      { path: 'cache/c', type: 'contiguous', content: 'abc' },
    ]);
    const { report, entries } = inspect(tar);
    expect(report).toEqual({
      entries: 11,
      totalBytes: 1008,
      topLevel: ['cache', 'data'],
      problems: [],
      omitted: 0,
    });
    expect(entries.map((e) => [e.path, e.type, e.size, e.linkTarget])).toEqual([
      ['./', 'directory', 0, undefined],
      ['./data/', 'directory', 0, undefined],
      ['./data/app/', 'directory', 0, undefined],
      ['./data/app/a.bin', 'file', 5, undefined],
      ['./data/app/b.bin', 'file', 1000, undefined],
      ['./data/app/current', 'symlink', 0, 'a.bin'],
      ['./data/app/up', 'symlink', 0, '../../cache/x'],
      ['./data/app/root', 'symlink', 0, '../..'],
      ['./data/app/hard', 'link', 0, './data/app/a.bin'],
      ['cache/', 'directory', 0, undefined],
      ['cache/c', 'contiguous-file', 3, undefined],
    ]);
  });

  it('an archive without the end-of-archive zero blocks (as GNU tar does)', () => {
    expect(problemsOf(buildTar([dataDir, { path: 'data/a', content: 'x' }], { endBlocks: 0 }))).toEqual([]);
  });

  it('an archive ended by a lone zero block', () => {
    expect(problemsOf(buildTar([dataDir], { endBlocks: 1 }))).toEqual([]);
  });

  it('zero padding after the end marker, as tar writes to fill its 10 KiB records', () => {
    expect(problemsOf(buildTar([dataDir], { endBlocks: 20 }))).toEqual([]);
  });

  it('a checksum computed with signed bytes (historic tars)', () => {
    const tar = buildTar([dataDir, { path: 'data/é-ü', content: 'x', checksum: 'signed' }]);
    const signedField = tar.toString('latin1', 512 + 148, 512 + 154);
    setChecksum(tar.subarray(512, 1024), 'good');
    expect(tar.toString('latin1', 512 + 148, 512 + 154)).not.toBe(signedField);
    setChecksum(tar.subarray(512, 1024), 'signed');
    expect(problemsOf(tar)).toEqual([]);
  });

  it('old GNU magic and a v7 header without magic', () => {
    expect(
      problemsOf(
        buildTar([
          { ...dataDir, format: 'v7' },
          { path: 'data/a', content: 'x', format: 'gnu' },
        ]),
      ),
    ).toEqual([]);
  });

  it('a size in GNU base-256 encoding', () => {
    const { report, entries } = inspect(
      buildTar([dataDir, { path: 'data/a', content: 'xyz', base256Size: true }]),
    );
    expect(report.problems).toEqual([]);
    expect(entries[1]!.size).toBe(3);
  });

  it('any top-level name without strict layout, and lists it', () => {
    const { report } = inspect(
      buildTar([
        { path: 'README', content: 'hi' },
        { path: 'etc/', type: 'directory' },
      ]),
      {
        strictLayout: false,
      },
    );
    expect(report).toMatchObject({ problems: [], topLevel: ['README', 'etc'] });
  });

  it('long names from a GNU L/K record, a pax header and a ustar prefix', () => {
    const long = `data/${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const target = `../${'t'.repeat(150)}`;
    const tar = buildTar([
      dataDir,
      { path: `${long}.gnu`, content: 'g', format: 'gnu' },
      { path: `${long}.sym`, type: 'symlink', linkTarget: target, format: 'gnu' },
      { path: `${long}.pax`, content: 'p', format: 'pax' },
      { path: `${long}.ustar`, content: 'u', format: 'ustar' },
    ]);
    const { report, entries } = inspect(tar);
    expect(report.problems).toEqual([]);
    expect(entries.map((e) => e.path)).toEqual([
      'data/',
      `${long}.gnu`,
      `${long}.sym`,
      `${long}.pax`,
      `${long}.ustar`,
    ]);
    expect(entries[2]!.linkTarget).toBe(target);
  });

  it('pax global values for every later entry, and a local empty value that deletes one', () => {
    const tar = buildTar([
      dataDir,
      { path: 'pax_global_header', typeflag: 'g', content: paxRecords({ linkpath: 'global-target' }) },
      { path: 'data/l1', type: 'symlink', linkTarget: 'ignored' },
      { path: 'data/l2', type: 'symlink', linkTarget: 'own', format: 'pax', pax: { linkpath: '' } },
    ]);
    const { report, entries } = inspect(tar);
    expect(report.problems).toEqual([]);
    expect(entries.map((e) => e.linkTarget)).toEqual([undefined, 'global-target', 'own']);
  });
});

describe('TarInspector refuses', () => {
  const cases: Array<[string, Buffer, Array<{ entry: string; reason: string }>]> = [
    ['an empty file', Buffer.alloc(0), [{ entry: '', reason: 'not a tar archive: the file is empty' }]],
    [
      'random bytes',
      Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 251)),
      [{ entry: '', reason: 'not a tar archive: the first 512 bytes are not a tar header' }],
    ],
    [
      'a file shorter than one header',
      Buffer.from('just some text\n'),
      [{ entry: '', reason: 'not a tar archive: the file is only 15 bytes, shorter than one tar header' }],
    ],
    [
      'a gzip-compressed tar',
      Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(600, 3)]),
      [{ entry: '', reason: 'not a tar archive: the file is gzip-compressed; pass the uncompressed .tar' }],
    ],
    [
      'a first header with tar magic and a bad checksum',
      buildTar([{ ...dataDir, checksum: 'bad' }]),
      [{ entry: '', reason: 'bad header checksum at byte 0 (the archive is corrupt)' }],
    ],
    [
      'a later header with a bad checksum, and stops there',
      buildTar([
        dataDir,
        { path: 'data/a', content: 'x' },
        { path: '../b', checksum: 'bad' },
        { path: '/c' },
      ]),
      [{ entry: '', reason: 'bad header checksum at byte 1536 (the archive is corrupt)' }],
    ],
    [
      'an archive of zero blocks only',
      Buffer.alloc(10240),
      [{ entry: '', reason: 'the tar has no entries' }],
    ],
    [
      'an absolute path',
      buildTar([dataDir, { path: '/abs', content: 'x' }]),
      [{ entry: '/abs', reason: 'absolute path' }],
    ],
    [
      'a Windows drive path',
      buildTar([{ path: 'C:\\Windows\\x', content: 'x' }], {}),
      [{ entry: 'C:\\Windows\\x', reason: 'absolute path (Windows drive or UNC form)' }],
    ],
    [
      "'..' segments, also after a harmless start and with backslashes",
      buildTar([
        dataDir,
        { path: '../etc/passwd', content: 'x' },
        { path: 'data/../../x', content: 'x' },
        { path: 'data/..', type: 'directory' },
        { path: 'data\\..\\..\\y', content: 'x' },
      ]),
      [
        { entry: '../etc/passwd', reason: "path has a '..' segment" },
        { entry: 'data/../../x', reason: "path has a '..' segment" },
        { entry: 'data/..', reason: "path has a '..' segment" },
        { entry: 'data\\..\\..\\y', reason: "path has a '..' segment" },
      ],
    ],
    [
      'a NUL byte inside a pax path or link target (C tar programs would cut the name there)',
      buildTar([
        dataDir,
        { path: 'data/..\0x', content: 'x', format: 'pax' },
        { path: 'data/l', type: 'symlink', linkTarget: '..\0/x', format: 'pax' },
      ]),
      [
        { entry: 'data/..\0x', reason: 'path contains a NUL byte' },
        { entry: 'data/l', reason: 'symlink target contains a NUL byte' },
      ],
    ],
    ['an empty path', buildTar([dataDir, { path: '', content: 'x' }]), [{ entry: '', reason: 'empty path' }]],
    [
      'links with absolute targets or targets leaving the root',
      buildTar([
        dataDir,
        { path: 'data/abs', type: 'symlink', linkTarget: '/etc/passwd' },
        { path: 'data/up', type: 'symlink', linkTarget: '../../etc/passwd' },
        { path: 'data/deep/up', type: 'symlink', linkTarget: 'x/../../../../y' },
        { path: 'data/hard-abs', type: 'link', linkTarget: '/etc/shadow' },
        { path: 'data/hard-up', type: 'link', linkTarget: '../outside' },
        { path: 'data/hard-dir-relative', type: 'link', linkTarget: 'data/../..' },
        { path: 'data/empty', type: 'symlink', linkTarget: '' },
      ]),
      [
        { entry: 'data/abs', reason: "symlink target '/etc/passwd' is absolute" },
        { entry: 'data/up', reason: "symlink target '../../etc/passwd' points outside the archive" },
        { entry: 'data/deep/up', reason: "symlink target 'x/../../../../y' points outside the archive" },
        { entry: 'data/hard-abs', reason: "hard link target '/etc/shadow' is absolute" },
        { entry: 'data/hard-up', reason: "hard link target '../outside' points outside the archive" },
        {
          entry: 'data/hard-dir-relative',
          reason: "hard link target 'data/../..' points outside the archive",
        },
        { entry: 'data/empty', reason: 'symlink has an empty target' },
      ],
    ],
    [
      "a link whose target goes through another symlink and then '..', in either order",
      buildTar([
        dataDir,
        { path: 'data/root', type: 'symlink', linkTarget: '..' },
        { path: 'data/escape', type: 'symlink', linkTarget: 'root/../x' },
        { path: 'data/hard', type: 'link', linkTarget: 'data/later/../y' },
        { path: 'data/later', type: 'symlink', linkTarget: '.' },
      ]),
      [
        {
          entry: 'data/escape',
          reason:
            "symlink target 'root/../x' goes through the symlink 'data/root' and then '..', so it can point outside the archive",
        },
        {
          entry: 'data/hard',
          reason:
            "hard link target 'data/later/../y' goes through the symlink 'data/later' and then '..', so it can point outside the archive",
        },
      ],
    ],
    [
      'devices and FIFOs',
      buildTar([
        dataDir,
        { path: 'data/tty', type: 'char' },
        { path: 'data/sda', type: 'block' },
        { path: 'data/pipe', type: 'fifo' },
      ]),
      [
        { entry: 'data/tty', reason: 'character device entries are not allowed' },
        { entry: 'data/sda', reason: 'block device entries are not allowed' },
        { entry: 'data/pipe', reason: 'FIFO entries are not allowed' },
      ],
    ],
    [
      'with strict layout: other top-level directories (once each), files, and a non-directory data',
      buildTar([
        { path: './', type: 'directory' },
        { path: './etc/', type: 'directory' },
        { path: './etc/passwd', content: 'x' },
        { path: 'README', content: 'x' },
        { path: 'cache', type: 'symlink', linkTarget: 'data' },
        { path: 'data', content: 'x' },
        { path: 'system/bin/sh', content: 'x' },
      ]),
      [
        { entry: './etc/', reason: "top-level directory 'etc' is not 'data' or 'cache' (strict-layout)" },
        { entry: 'README', reason: "top-level file 'README' is outside 'data' and 'cache' (strict-layout)" },
        { entry: 'cache', reason: "top-level 'cache' is a symlink, not a directory (strict-layout)" },
        { entry: 'data', reason: "top-level 'data' is a file, not a directory (strict-layout)" },
        {
          entry: 'system/bin/sh',
          reason: "top-level directory 'system' is not 'data' or 'cache' (strict-layout)",
        },
      ],
    ],
    [
      'a hidden path in a pax header behind a harmless header name',
      buildTar([dataDir, { path: '../../evil', content: 'x', format: 'pax' }]),
      [{ entry: '../../evil', reason: "path has a '..' segment" }],
    ],
    [
      'a hidden path in a GNU long name record',
      buildTar([dataDir, { path: `data/${'a'.repeat(120)}/../../../x`, content: 'x', format: 'gnu' }]),
      [{ entry: `data/${'a'.repeat(120)}/../../../x`, reason: "path has a '..' segment" }],
    ],
    [
      'a hard link with a non-zero size (GNU tar reads no data after it, others do)',
      buildTar([dataDir, { path: 'data/h', type: 'link', linkTarget: 'data/x', size: 512 }]),
      [
        {
          entry: 'data/h',
          reason:
            'hard link entry with a non-zero size (512 bytes): tar programs disagree on whether data follows it, so the rest of the archive cannot be checked reliably',
        },
      ],
    ],
    [
      'a directory with a non-zero size',
      buildTar([{ path: 'data/', type: 'directory', size: 10 }]),
      [
        {
          entry: 'data/',
          reason:
            'directory entry with a non-zero size (10 bytes): tar programs disagree on whether data follows it, so the rest of the archive cannot be checked reliably',
        },
      ],
    ],
    [
      'non-zero data after the end-of-archive marker',
      buildTar([dataDir], { trailing: buildTar([{ path: '../hidden', content: 'x' }]) }),
      [
        {
          entry: '',
          reason:
            'non-zero data at byte 1536 after the end-of-archive marker (a tar reader that skips zero blocks would unpack entries that were not checked)',
        },
      ],
    ],
    [
      'an entry after a lone zero block',
      buildTar([dataDir], { endBlocks: 1, trailing: buildTar([{ path: 'data/x', content: 'x' }]) }),
      [
        {
          entry: '',
          reason:
            'non-zero data at byte 1024 after the end-of-archive marker (a tar reader that skips zero blocks would unpack entries that were not checked)',
        },
      ],
    ],
    [
      'an unknown entry type and a multi-volume continuation',
      buildTar([
        dataDir,
        { path: 'data/q', typeflag: 'Q', content: 'abc' },
        { path: 'data/m', typeflag: 'M', content: 'abc' },
      ]),
      [
        { entry: 'data/q', reason: "unsupported entry type 'Q'" },
        {
          entry: 'data/m',
          reason: "multi-volume continuation entry (type 'M'): pass a complete single-volume tar",
        },
      ],
    ],
    [
      'a malformed pax header',
      buildTar([dataDir, { path: 'x', typeflag: 'x', content: '99 path=short\n' }, { path: 'data/a' }]),
      [{ entry: '', reason: 'malformed pax extended header at byte 512' }],
    ],
    [
      'an invalid pax size',
      buildTar([dataDir, { path: 'data/a', content: 'x', format: 'pax', pax: { size: '-1' } }]),
      [{ entry: 'data/a', reason: "invalid pax size '-1'" }],
    ],
  ];

  it.each(cases)('%s', (_name, tar, expected) => {
    expect(problemsOf(tar)).toEqual(expected);
  });

  describe('a truncated archive', () => {
    const tar = buildTar([
      dataDir,
      { path: 'data/a', content: Buffer.alloc(1000, 1) },
      { path: 'data/b', content: 'x' },
    ]);

    it.each([
      [
        1024 + 488,
        'data/a',
        "truncated archive: the file ends 512 bytes before the end of this entry's data",
      ],
      [1024 + 1010, 'data/a', 'truncated archive: the file ends inside the zero padding after this entry'],
      [
        2048 + 100,
        '',
        'truncated archive: the file ends inside the header at byte 2048 (100 of 512 bytes present)',
      ],
      [2560, 'data/b', "truncated archive: the file ends 1 byte before the end of this entry's data"],
    ])('cut at byte %i', (cut, entry, reason) => {
      const { report } = inspect(tar.subarray(0, cut));
      expect(report.problems.map(({ entry, reason }) => ({ entry, reason }))).toEqual([{ entry, reason }]);
      expect(report.problems[0]!.code).toBe('truncated');
    });

    it('inside a pax record, and between an extended header and its entry', () => {
      const pax = buildTar([dataDir, { path: 'data/p', content: 'x', format: 'pax' }]);
      expect(problemsOf(pax.subarray(0, 1024 + 10))).toEqual([
        {
          entry: '',
          reason:
            'truncated archive: the file ends inside the extended header at byte 512 (10 of 15 bytes present)',
        },
      ]);
      expect(problemsOf(pax.subarray(0, 1536))).toEqual([
        {
          entry: '',
          reason:
            'truncated archive: the file ends after the extended header at byte 512, before the entry it describes',
        },
      ]);
    });

    it('when the size field is huge: reported as truncated at once, not a hang', () => {
      const started = performance.now();
      expect(problemsOf(buildTar([dataDir, { path: 'data/big', size: 0o77777777777, content: '' }]))).toEqual(
        [
          {
            entry: 'data/big',
            reason: "truncated archive: the file ends 8589933567 bytes before the end of this entry's data",
          },
        ],
      );
      expect(
        problemsOf(buildTar([dataDir, { path: 'data/big', size: 2 ** 52, content: '', base256Size: true }])),
      ).toEqual([
        {
          entry: 'data/big',
          reason:
            "truncated archive: the file ends 4503599627369472 bytes before the end of this entry's data",
        },
      ]);
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  it('a size field beyond 2^53, a negative base-256 size and a non-octal size', () => {
    const huge = buildTar([dataDir, { path: 'data/a' }]);
    huge.fill(0xff, 1024 + 124 + 1, 1024 + 136);
    huge[1024 + 124] = 0x80;
    setChecksum(huge.subarray(1024, 1536));
    expect(problemsOf(huge)).toEqual([
      { entry: '', reason: 'the size field of the header at byte 1024 is too large to be real' },
    ]);

    const negative = buildTar([dataDir, { path: 'data/a' }]);
    negative[1024 + 124] = 0xff;
    setChecksum(negative.subarray(1024, 1536));
    expect(problemsOf(negative)).toEqual([
      { entry: '', reason: 'invalid size field in the header at byte 1024' },
    ]);

    const garbage = buildTar([dataDir, { path: 'data/a' }]);
    garbage.write('12x4', 1024 + 124, 'latin1');
    setChecksum(garbage.subarray(1024, 1536));
    expect(problemsOf(garbage)).toEqual([
      { entry: '', reason: 'invalid size field in the header at byte 1024' },
    ]);
  });

  it('a pax or GNU long-name record over 1 MiB as hostile, without reading it', () => {
    for (const typeflag of ['x', 'L']) {
      const tar = buildTar([dataDir, { path: 'h', typeflag, size: MAX_RECORD_BYTES + 1, content: '' }]);
      const kind = typeflag === 'x' ? 'pax extended header' : 'GNU long name record';
      expect(problemsOf(tar)).toEqual([
        {
          entry: '',
          reason: `the ${kind} at byte 512 is 1048577 bytes, over the 1048576-byte limit (refused as hostile)`,
        },
      ]);
    }
  });

  it('lists at most maxListed problems and counts the rest', () => {
    const tar = buildTar([dataDir, ...Array.from({ length: 15 }, (_, i) => ({ path: `/abs/${i}` }))]);
    const { report } = inspect(tar, { maxListed: 10 });
    expect(report.problems).toHaveLength(10);
    expect(report.omitted).toBe(5);
    expect(report.problems[9]).toEqual({ entry: '/abs/9', reason: 'absolute path', code: 'absolute-path' });
  });
});

describe('TarInspector is independent of chunking', () => {
  const tars: Record<string, Buffer> = {
    'a valid mixed-format archive': buildTar([
      { path: './', type: 'directory' },
      { path: './data/', type: 'directory' },
      { path: 'pax_global_header', typeflag: 'g', content: paxRecords({ comment: 'x'.repeat(700) }) },
      { path: `data/${'n'.repeat(200)}`, content: Buffer.alloc(1300, 2), format: 'gnu' },
      { path: `data/${'p'.repeat(300)}`, content: Buffer.alloc(511, 3), format: 'pax' },
      { path: `data/${'u'.repeat(120)}/f`, content: Buffer.alloc(512, 4) },
      { path: 'data/s', type: 'symlink', linkTarget: `../cache/${'t'.repeat(150)}`, format: 'gnu' },
      { path: 'cache/', type: 'directory' },
    ]),
    'a hostile archive': buildTar(
      [
        dataDir,
        { path: '../x', content: Buffer.alloc(700) },
        { path: 'data/l', type: 'symlink', linkTarget: '/etc' },
        { path: 'etc/x', format: 'pax', content: 'y' },
        { path: 'data/t', content: Buffer.alloc(5000) },
      ],
      { endBlocks: 0 },
    ).subarray(0, 512 * 12),
  };

  const chunkings: Record<string, number[]> = {
    'whole buffer': [1 << 30],
    '1 byte': [1],
    '511 bytes': [511],
    '512 bytes': [512],
    '513 bytes': [513],
    random: Array.from({ length: 64 }, (_, i) => ((i * 2654435761) % 1500) + 1),
  };

  for (const [name, tar] of Object.entries(tars)) {
    it(`${name}: identical reports and entries for every chunking`, () => {
      const reference = inspect(tar);
      expect(reference.entries.length).toBeGreaterThan(3);
      for (const chunks of Object.values(chunkings)) {
        expect(inspect(tar, {}, chunks)).toEqual(reference);
      }
    });
  }
});

describe('reading the headers only', () => {
  it('skips entry data: a tar of two 3 MiB files is checked reading little more than its headers', () => {
    const tar = buildTar([
      dataDir,
      { path: 'data/a.bin', content: Buffer.alloc(3 * 1024 * 1024, 1) },
      { path: 'data/b.bin', content: Buffer.alloc(3 * 1024 * 1024, 2) },
    ]);
    const { report, bytesFed } = feed(tar, {}, [4096], true);
    expect(report).toMatchObject({ entries: 3, totalBytes: 6 * 1024 * 1024, problems: [] });
    // Four reads: data/ and a.bin's header; b.bin's header; the end-of-archive blocks.
    expect(bytesFed).toBeLessThanOrEqual(4 * 4096);
    expect(feed(tar, {}, [4096], false).bytesFed).toBe(tar.length);
  });

  it('skip refuses more than the parser may pass over', () => {
    const inspector = new TarInspector({ strictLayout: true });
    const tar = buildTar([{ path: 'data/a', content: Buffer.alloc(1000) }]);
    inspector.write(tar.subarray(0, 512));
    expect(inspector.skippable).toBe(1024);
    expect(() => inspector.skip(1025)).toThrow(RangeError);
    expect(() => inspector.skip(-1)).toThrow(RangeError);
    inspector.skip(1024);
    expect(inspector.skippable).toBe(0);
    expect(() => inspector.skip(1)).toThrow('cannot skip 1 bytes here');
  });

  it('once the parser has stopped, everything after may be skipped', () => {
    const inspector = new TarInspector({ strictLayout: true });
    inspector.write(Buffer.from('not a tar at all'.repeat(64)));
    expect(inspector.skippable).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('TarError and inspectTar', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tar-inspect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('throws a TarError whose one-line message names the file, the first problems and what to do', async () => {
    const path = join(dir, 'app.tar');
    await writeFile(
      path,
      buildTar([
        dataDir,
        { path: '../etc/passwd' },
        { path: '/abs' },
        { path: 'etc/x' },
        { path: 'data/c', type: 'char' },
      ]),
    );
    const error = await inspectTar(path, { strictLayout: true, maxListed: 3, displayName: 'app.tar' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TarError);
    const tarError = error as TarError;
    expect(tarError.omitted).toBe(1);
    expect(tarError.problems.map((p) => p.entry)).toEqual(['../etc/passwd', '/abs', 'etc/x']);
    expect(tarError.message).toBe(
      "file 'app.tar' is not a safe tar for CPH: 4 problems, first: " +
        `"../etc/passwd": path has a '..' segment; "/abs": absolute path; ` +
        `"etc/x": top-level directory 'etc' is not 'data' or 'cache' (strict-layout); … and 1 more. ` +
        "Create the tar with relative paths, e.g. 'tar -cf app.tar -C <dir> data'. " +
        "CPH pushes only into /data and /cache: put every entry under 'data/' or 'cache/', or set strict-layout: false.",
    );
    expect(tarError.message).not.toContain('\n');
  });

  it('a single structural problem reads as one sentence', async () => {
    const path = join(dir, 'app.tar.gz');
    await writeFile(path, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]));
    await expect(inspectTar(path, { strictLayout: true })).rejects.toThrow(
      `file '${path}' is not a safe tar for CPH: 1 problem, not a tar archive: the file is gzip-compressed; pass the uncompressed .tar. 'file' must be an uncompressed tar archive.`,
    );
  });

  it('a truncated file: reading headers only never skips past its end, so the truncation is found', async () => {
    const path = join(dir, 'cut.tar');
    const tar = buildTar([dataDir, { path: 'data/big', content: Buffer.alloc(3 * 1024 * 1024, 7) }]);
    await writeFile(path, tar.subarray(0, 2 * 1024 * 1024));
    await expect(inspectTar(path, { strictLayout: true })).rejects.toThrow(
      /"data\/big": truncated archive: the file ends 1049600 bytes before the end of this entry's data/,
    );
  });

  it('inspectHeaders: a file shorter than its announced size fails, naming it and how far it got', async () => {
    const path = join(dir, 'short.tar');
    const tar = buildTar([dataDir, { path: 'data/a', content: 'abc' }]);
    await writeFile(path, tar);
    const handle = await open(path, 'r');
    try {
      const file = { handle, size: tar.length + 1024, name: 'dist/app.tar' };
      await expect(inspectHeaders(file, new TarInspector({ strictLayout: true }))).rejects.toThrow(
        `file 'dist/app.tar' changed while it was being read (${tar.length + 1024} bytes expected, ${tar.length} read)`,
      );
    } finally {
      await handle.close();
    }
  });

  it('returns the report for a good tar', async () => {
    const path = join(dir, 'good.tar');
    await writeFile(path, buildTar([dataDir, { path: 'data/a', content: 'abc' }]));
    await expect(inspectTar(path, { strictLayout: true })).resolves.toEqual({
      entries: 2,
      totalBytes: 3,
      topLevel: ['data'],
      problems: [],
      omitted: 0,
    });
  });
});

// ---- archives written by real tar programs ----

async function tarStreamEntries(tar: Buffer): Promise<Seen[]> {
  const seen: Seen[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      seen.push({
        path: header.name,
        type: header.type ?? 'file',
        size: header.size ?? 0,
        linkTarget: header.linkname ?? undefined,
      });
      stream.on('end', () => next());
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return seen;
}

/** GNU tar, or bsdtar (libarchive): they spell some flags differently. */
const GNU_TAR = execFileSync('tar', ['--version'], { encoding: 'utf8' }).includes('GNU tar');

function inspectorEntries(tar: Buffer, strictLayout = true): { report: TarReport; seen: Seen[] } {
  const { report, entries } = inspect(tar, { strictLayout }, [65536]);
  return {
    report,
    seen: entries.map(({ path, type, size, linkTarget }) => ({ path, type, size, linkTarget })),
  };
}

describe('agrees with tar-stream and GNU tar on archives they write', () => {
  let dir: string;
  const longDir = `data/${'d'.repeat(140)}`;
  const veryLong = `data/${'v'.repeat(200)}/${'w'.repeat(120)}/file-with-a-very-long-name.txt`;
  const longTarget = `../${'d'.repeat(140)}/${'x'.repeat(80)}.bin`;
  // Over 100 bytes but splittable into ustar prefix + name.
  const splitDir = `data/${'p'.repeat(60)}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tar-inspect-gnu-'));
    const root = join(dir, 'root');
    await mkdir(join(root, longDir), { recursive: true });
    await mkdir(join(root, 'cache/empty'), { recursive: true });
    await writeFile(join(root, 'data/small.txt'), 'small');
    await writeFile(join(root, longDir, `${'x'.repeat(80)}.bin`), randomBytes(3000));
    await writeFile(join(root, 'data/ünïcode-名前.txt'), 'u');
    await mkdir(join(root, splitDir), { recursive: true });
    await writeFile(join(root, splitDir, `${'q'.repeat(70)}.txt`), 'split');
    await symlink('small.txt', join(root, 'data/link'));
    await link(join(root, 'data/small.txt'), join(root, 'data/hard'));
    await mkdir(join(root, 'data', 'v'.repeat(200), 'w'.repeat(120)), { recursive: true });
    await writeFile(join(root, veryLong), 'deep');
    await symlink(longTarget, join(root, 'data/long-link'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * The system's tar writing `format`. GNU tar (Linux) and bsdtar (macOS, Windows' tar.exe) name
   * the GNU format and sparse reading differently; the archives are read back with readFile.
   */
  function systemTar(format: string, members: string[], extra: string[] = []): Buffer {
    const out = join(dir, `${format}-${members.length}.tar`);
    const flags = [`--format=${format === 'gnu' && !GNU_TAR ? 'gnutar' : format}`, ...extra];
    const portable = GNU_TAR ? flags : flags.map((f) => (f === '--sparse' ? '--read-sparse' : f));
    execFileSync('tar', ['-cf', out, ...portable, '-C', join(dir, 'root'), ...members]);
    return readFileSync(out);
  }

  function gnuTarList(tar: Buffer): string[] {
    return execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).split(/\r?\n/).filter(Boolean);
  }

  it.each([
    ['gnu', ['data', 'cache']],
    ['pax', ['data', 'cache']],
    ['ustar', ['data/small.txt', 'data/link', 'data/hard', splitDir, 'data/ünïcode-名前.txt', 'cache']],
  ])('system tar --format=%s', async (format, members) => {
    const tar = systemTar(format, members);
    const { report, seen } = inspectorEntries(tar);
    expect(report.problems).toEqual([]);
    expect(seen).toEqual(await tarStreamEntries(tar));
    expect(seen.map((e) => e.path.replace(/\/$/, ''))).toEqual(
      gnuTarList(tar).map((p) => p.replace(/\/$/, '')),
    );
    expect(report.topLevel).toEqual(['cache', 'data']);
    expect(seen.map((e) => e.path)).toContain(`${splitDir}/${'q'.repeat(70)}.txt`);
    if (format !== 'ustar') {
      expect(seen.map((e) => e.path)).toContain(veryLong);
      expect(seen.find((e) => e.path === 'data/long-link')?.linkTarget).toBe(longTarget);
    }
    expect(seen.find((e) => e.path === 'data/hard')).toMatchObject({
      type: 'link',
      linkTarget: 'data/small.txt',
    });
  });

  it.each(['gnu', 'pax'])(
    'system tar --format=%s --sparse: sparse files are read under their real names',
    async (format) => {
      // Twelve data islands: more than the four an old GNU sparse header holds, so extension
      // blocks (not counted in the size field) follow the header.
      const sparse = join(dir, 'root/data/sparse.img');
      const handle = await open(sparse, 'w');
      for (let i = 0; i < 12; i++) await handle.write(randomBytes(4096), 0, 4096, i * 512 * 1024);
      await handle.truncate(8 * 1024 * 1024);
      await handle.close();
      try {
        const tar = systemTar(format, ['data/sparse.img', 'data/small.txt'], ['--sparse']);
        const { report, entries } = inspect(tar);
        const seen = entries;
        expect(report.problems).toEqual([]);
        if (format === 'gnu') {
          expect(entries[0]!.typeflag).toBe('S');
          expect(tar[entries[0]!.headerOffset + 482]).toBe(1);
        } else {
          expect(tar.toString('latin1', entries[0]!.headerOffset, entries[0]!.headerOffset + 100)).toContain(
            'GNUSparseFile',
          );
        }
        expect(seen.map((e) => e.path)).toEqual(gnuTarList(tar));
        expect(seen.map((e) => e.path)).toEqual(['data/sparse.img', 'data/small.txt']);
        expect(report.totalBytes).toBe(8 * 1024 * 1024 + 5);
      } finally {
        await rm(sparse);
      }
    },
  );

  it('system tar with an absolute member and -P: refused', () => {
    const tar = execFileSync('tar', ['-cPf', '-', join(dir, 'root/data/small.txt')], { maxBuffer: 1 << 20 });
    expect(problemsOf(tar)).toEqual([{ entry: join(dir, 'root/data/small.txt'), reason: 'absolute path' }]);
  });

  it('tar-stream pack: every entry type, long names through pax', async () => {
    const p = pack();
    p.entry({ name: 'data', type: 'directory' });
    p.entry({ name: 'data/a.txt' }, 'hello');
    p.entry({ name: `data/${'l'.repeat(150)}/${'m'.repeat(150)}` }, Buffer.alloc(2000, 7));
    p.entry({ name: 'data/sym', type: 'symlink', linkname: `${'s'.repeat(120)}/t` });
    p.entry({ name: 'data/hard', type: 'link', linkname: 'data/a.txt' });
    p.entry({ name: 'data/tty', type: 'character-device', devmajor: 4, devminor: 1 });
    p.entry({ name: 'data/pipe', type: 'fifo' });
    p.entry({ name: 'data/ünï', type: 'file' }, 'u');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of p) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks);

    const { report, seen } = inspectorEntries(tar);
    expect(seen).toEqual(await tarStreamEntries(tar));
    expect(seen).toHaveLength(8);
    expect(report.problems.map((x) => x.reason)).toEqual([
      'character device entries are not allowed',
      'FIFO entries are not allowed',
    ]);
  });
});

describe('fuzz: mutated archives never make the inspector throw or hang', () => {
  const valid = [
    buildTar([
      dataDir,
      { path: 'data/a', content: Buffer.alloc(700, 1) },
      { path: `data/${'g'.repeat(130)}`, content: 'g', format: 'gnu' },
      { path: `data/${'p'.repeat(130)}`, content: 'p', format: 'pax' },
      { path: 'data/s', type: 'symlink', linkTarget: 'a' },
      { path: 'data/h', type: 'link', linkTarget: 'data/a' },
    ]),
    buildTar([
      { path: 'pax_global_header', typeflag: 'g', content: paxRecords({ path: 'data/g' }) },
      dataDir,
    ]),
  ];
  // Offsets of every header in the valid archives, so some mutations can keep checksums right
  // and reach the logic behind the checksum test.
  const headerOffsets = valid.map((tar) => {
    const offsets: number[] = [];
    for (let at = 0; at < tar.length && tar[at] !== 0; ) {
      offsets.push(at);
      const size = Number.parseInt(tar.toString('latin1', at + 124, at + 135), 8);
      at += 512 + Math.ceil(size / 512) * 512;
    }
    return offsets;
  });

  const codes = new Set([
    'not-a-tar',
    'bad-checksum',
    'truncated',
    'bad-header',
    'hostile-record',
    'trailing-data',
    'empty',
    'absolute-path',
    'dotdot',
    'empty-path',
    'link-target',
    'device',
    'entry-type',
    'layout',
  ]);

  it('holds for random byte mutations, truncations and chunkings', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.option(fc.nat()),
        fc.array(fc.integer({ min: 1, max: 1100 }), { minLength: 1, maxLength: 5 }),
        (which, mutations, fixChecksums, cut, chunks) => {
          const tar = Buffer.from(valid[which]!);
          const headers = headerOffsets[which]!;
          for (const [at, value] of mutations) {
            // Half of the mutations land in header blocks, where the parsing decisions are.
            const header = headers[at % headers.length]!;
            const position = at % 2 === 0 ? header + ((at >> 1) % 512) : at % tar.length;
            tar[position] = value;
          }
          if (fixChecksums) for (const h of headers) setChecksum(tar.subarray(h, h + 512));
          const input = cut === null ? tar : tar.subarray(0, cut % (tar.length + 1));

          const { report, entries } = inspect(input, {}, chunks);
          for (const p of report.problems) {
            expect(p.reason.length).toBeGreaterThan(0);
            expect(codes.has(p.code)).toBe(true);
          }
          if (report.problems.length === 0) expect(report.omitted).toBe(0);
          // Safety: nothing dangerous an extractor would see can come out clean.
          const dangerous = entries.some(
            (e) =>
              e.path.startsWith('/') ||
              e.path.split(/[\\/]/).includes('..') ||
              (e.linkTarget ?? '').startsWith('/') ||
              ['character-device', 'block-device', 'fifo'].includes(e.type),
          );
          if (dangerous) expect(report.problems.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: fuzzRuns(4000) },
    );
  });
});

it('the test archives on disk stay readable by GNU tar (builder sanity)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tar-builder-'));
  try {
    const path = join(dir, 'b.tar');
    await writeFile(
      path,
      buildTar([
        dataDir,
        { path: `data/${'g'.repeat(130)}`, content: 'g', format: 'gnu' },
        { path: `data/${'p'.repeat(130)}`, content: 'p', format: 'pax' },
        { path: `data/${'u'.repeat(120)}/u`, content: 'u' },
        { path: 'data/s', type: 'symlink', linkTarget: `${'t'.repeat(130)}`, format: 'gnu' },
      ]),
    );
    const listed = execFileSync('tar', ['-tvf', path], { encoding: 'utf8' });
    expect(listed).toContain(`data/${'g'.repeat(130)}`);
    expect(listed).toContain(`data/${'p'.repeat(130)}`);
    expect(listed).toContain(`data/${'u'.repeat(120)}/u`);
    expect(listed).toContain(`data/s -> ${'t'.repeat(130)}`);
    expect((await readFile(path)).length % 512).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
