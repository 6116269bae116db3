import { describe, expect, it } from 'vitest';
import {
  type Manifest,
  ManifestBuilder,
  ManifestError,
  manifestKey,
  parseManifest,
  phonePath,
  serializeManifest,
} from '../../../src/ledger/manifest.js';
import { type TarEntry, TarInspector } from '../../../src/tar/inspect.js';
import { buildTar, type TarBuilderEntry } from '../../helpers/tar-builder.js';

const SHA = 'ab'.repeat(32);

function manifestOf(entries: TarBuilderEntry[]): Manifest {
  const builder = new ManifestBuilder();
  const inspector = new TarInspector({ strictLayout: true, onEntry: builder.onEntry });
  inspector.write(buildTar(entries));
  const report = inspector.end();
  expect(report.problems).toEqual([]);
  return builder.build({ sha256: SHA, object: 'releases/game-1.2.3.tar', size: 4096 });
}

describe('manifestKey', () => {
  it.each([
    ['ledger/cph.json', 'ledger/manifests/'],
    ['a/b/c/ledger.json', 'a/b/c/manifests/'],
    ['ledger.json', 'manifests/'],
  ])('puts the manifest of %s under %s', (ledger, dir) => {
    expect(manifestKey(ledger, SHA)).toBe(`${dir}${SHA}.json`);
  });
});

describe('phonePath', () => {
  it.each([
    ['data/local/game/levels.bin', '/data/local/game/levels.bin'],
    ['./data/local/', '/data/local'],
    ['data/', '/data'],
    ['./cache', '/cache'],
    ['data//a/./b/', '/data/a/b'],
    ['./', undefined],
    ['.', undefined],
  ])('%s is %s on the phone', (name, path) => {
    expect(phonePath(name)).toBe(path);
  });
});

describe('ManifestBuilder', () => {
  it('lists every member as the phone sees it: path, type, size (0 unless a file), sorted', () => {
    const manifest = manifestOf([
      { path: './data/', type: 'directory' },
      { path: './data/local/', type: 'directory' },
      { path: './data/local/game/levels.bin', content: 'x'.repeat(1500) },
      { path: './data/local/game/link', type: 'symlink', linkTarget: 'levels.bin' },
      { path: './data/local/game/hard', type: 'link', linkTarget: 'data/local/game/levels.bin' },
      { path: 'cache/empty.txt', content: '' },
      { path: 'data/contig.bin', type: 'contiguous', content: 'abc' },
    ]);
    expect(manifest).toEqual({
      format: 1,
      sha256: SHA,
      object: 'releases/game-1.2.3.tar',
      size: 4096,
      entries: [
        { path: '/cache/empty.txt', type: 'file', size: 0 },
        { path: '/data', type: 'dir', size: 0 },
        { path: '/data/contig.bin', type: 'file', size: 3 },
        { path: '/data/local', type: 'dir', size: 0 },
        { path: '/data/local/game/hard', type: 'hardlink', size: 0 },
        { path: '/data/local/game/levels.bin', type: 'file', size: 1500 },
        { path: '/data/local/game/link', type: 'symlink', size: 0 },
      ],
    });
  });

  it('keeps the last member of a path named twice, as the phone ends up with', () => {
    const manifest = manifestOf([
      { path: 'data/a', content: 'one' },
      { path: 'data/a/', type: 'directory' },
      { path: 'data/b', content: 'first' },
      { path: './data/b', content: 'second!' },
    ]);
    expect(manifest.entries).toEqual([
      { path: '/data/a', type: 'dir', size: 0 },
      { path: '/data/b', type: 'file', size: 7 },
    ]);
  });

  it("reads names from GNU long names and pax headers, and takes a file's real size when given", () => {
    const long = `data/${'d'.repeat(120)}/f.txt`;
    const manifest = manifestOf([
      { path: long, content: 'gnu', format: 'gnu' },
      { path: 'data/pax-é.txt', content: 'pax!', format: 'pax' },
    ]);
    expect(manifest.entries).toEqual([
      { path: `/${long}`, type: 'file', size: 3 },
      { path: '/data/pax-é.txt', type: 'file', size: 4 },
    ]);
    const builder = new ManifestBuilder();
    const sparse: TarEntry = {
      path: 'data/sparse.img',
      type: 'gnu-sparse',
      typeflag: 'S',
      size: 1024,
      linkTarget: undefined,
      headerOffset: 0,
    };
    builder.onEntry(sparse, 10_485_760);
    expect(builder.build({ sha256: SHA, object: 'o.tar', size: 1 }).entries).toEqual([
      { path: '/data/sparse.img', type: 'file', size: 10_485_760 },
    ]);
  });

  it('leaves out the archive root (./), which names no path', () => {
    expect(
      manifestOf([
        { path: './', type: 'directory' },
        { path: './data/x', content: 'x' },
      ]).entries,
    ).toEqual([{ path: '/data/x', type: 'file', size: 1 }]);
  });
});

describe('serializeManifest / parseManifest', () => {
  const manifest: Manifest = {
    format: 1,
    sha256: SHA,
    object: 'releases/game-1.2.3.tar',
    size: 10240,
    entries: [
      { path: '/data/app', type: 'dir', size: 0 },
      { path: '/data/app/a.bin', type: 'file', size: 12 },
    ],
  };

  it('writes compact JSON in the contract key order and reads it back', () => {
    const text = serializeManifest(manifest);
    expect(text).toBe(
      `{"format":1,"sha256":"${SHA}","object":"releases/game-1.2.3.tar","size":10240,"entries":[{"path":"/data/app","type":"dir","size":0},{"path":"/data/app/a.bin","type":"file","size":12}]}`,
    );
    expect(parseManifest(text, 'm.json', SHA)).toEqual(manifest);
  });

  const broken: Array<[string, unknown, string]> = [
    ['not JSON', '{', 'it is not JSON'],
    ['an array', [], 'it is not a JSON object'],
    ['another format', { ...manifest, format: 2 }, 'format is 2, expected 1'],
    ['a bad sha256', { ...manifest, sha256: 'AB'.repeat(32) }, 'sha256 is not 64 lower-case hex digits'],
    [
      'another bundle',
      { ...manifest, sha256: 'cd'.repeat(32) },
      `it describes bundle ${'cd'.repeat(32)}, not ${SHA}`,
    ],
    ['no object', { ...manifest, object: 3 }, 'object is not a string'],
    ['a negative size', { ...manifest, size: -1 }, 'size is not a byte count'],
    ['no entries', { ...manifest, entries: {} }, 'entries is not an array'],
    [
      'a relative path',
      { ...manifest, entries: [{ path: 'data/x', type: 'file', size: 1 }] },
      'entries[0].path is not an absolute, normalized path',
    ],
    [
      'a path with a trailing /',
      { ...manifest, entries: [{ path: '/data/x/', type: 'dir', size: 0 }] },
      'entries[0].path is not an absolute, normalized path',
    ],
    [
      'an unknown type',
      { ...manifest, entries: [{ path: '/data/x', type: 'fifo', size: 0 }] },
      'entries[0].type is not file, dir, symlink or hardlink',
    ],
    [
      'a fractional size',
      { ...manifest, entries: [{ path: '/data/x', type: 'file', size: 1.5 }] },
      'entries[0].size is not a byte count',
    ],
  ];
  it.each(broken)('refuses %s, naming the key and what is wrong', (_, value, reason) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    let caught: unknown;
    try {
      parseManifest(text, 'ledger/manifests/x.json', SHA);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ManifestError);
    expect((caught as Error).message).toBe(
      `manifest 'ledger/manifests/x.json' is not a cph-publish manifest: ${reason}`,
    );
  });
});
