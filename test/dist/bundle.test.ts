/**
 * dist/index.js carries one undici. `@actions/core` brings `@actions/http-client`, which asks for
 * undici 6; package.json's `overrides` hands it our undici 7 instead, which saves ~440 kB of bundle
 * (http-client only builds a `ProxyAgent({ uri, pipelining, token })`, the same in 7).
 *
 * Two independent signs, so neither a minifier's renaming nor a change of ncc's map hides a copy:
 * the text every copy of undici's `lib/global.js` registers its dispatcher under, and the package
 * roots of undici among the source map's sources. The lock file is checked too, since it decides
 * what `npm ci` installs before any bundle is made.
 *
 * dist/ is committed and rebuilt by `npm run bundle`: after a dependency change, bundle first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-action.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** undici's lib/global.js: `Symbol.for('undici.globalDispatcher.1')`, once in each copy. */
const PER_COPY_MARKER = 'undici.globalDispatcher.1';

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

/** The distinct `…/node_modules/undici/` package roots the source map's sources come from. */
function undiciRoots(sources: string[]): string[] {
  const roots = new Set<string>();
  for (const source of sources.map((s) => s.replace(/\\/g, '/'))) {
    const at = source.lastIndexOf('node_modules/undici/');
    if (at !== -1) roots.add(source.slice(0, at + 'node_modules/undici/'.length));
  }
  return [...roots].sort();
}

/** Lock-file entries installing an undici, by path (`node_modules/undici`, `…/node_modules/undici`). */
function lockedUndicis(lock: { packages: Record<string, { version?: string }> }): Record<string, string> {
  return Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([where]) => /(^|\/)node_modules\/undici$/.test(where))
      .map(([where, entry]) => [where, entry.version ?? '?']),
  );
}

describe('one undici in the bundle', () => {
  it('dist/index.js holds one copy of undici', () => {
    expect(occurrences(read('dist/index.js'), PER_COPY_MARKER)).toBe(1);
  });

  it("dist/index.js.map's sources come from one undici package, the top-level one", () => {
    const map = JSON.parse(read('dist/index.js.map')) as { sources: string[] };
    expect(undiciRoots(map.sources)).toEqual(['../node_modules/undici/']);
  });

  it('the lock file installs one undici, the version package.json asks for, also for @actions/http-client', () => {
    const lock = JSON.parse(read('package-lock.json'));
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      overrides?: Record<string, Record<string, string>>;
    };
    const locked = lockedUndicis(lock);
    expect(Object.keys(locked)).toEqual(['node_modules/undici']);
    const major = (version: string) => version.replace(/^\D*/, '').split('.')[0];
    expect(major(locked['node_modules/undici'] as string)).toBe(major(pkg.dependencies['undici'] as string));
    expect(pkg.overrides?.['@actions/http-client']).toEqual({ undici: '$undici' });
  });

  it('counts a second copy when there is one', () => {
    const copy = `var g=Symbol.for("${PER_COPY_MARKER}");`;
    expect(occurrences(`${copy}/* our code */${copy}`, PER_COPY_MARKER)).toBe(2);
    expect(occurrences('var x=1;', PER_COPY_MARKER)).toBe(0);
    expect(
      undiciRoots([
        '../node_modules/undici/lib/global.js',
        '../node_modules/@actions/http-client/node_modules/undici/lib/global.js',
        '..\\node_modules\\undici\\index.js',
        '../src/main.ts',
      ]),
    ).toEqual(['../node_modules/@actions/http-client/node_modules/undici/', '../node_modules/undici/']);
    expect(
      Object.keys(
        lockedUndicis({
          packages: {
            '': {},
            'node_modules/undici': { version: '7.30.2' },
            'node_modules/@actions/http-client/node_modules/undici': { version: '6.29.1' },
            'node_modules/undici-types': { version: '7.16.0' },
          },
        }),
      ),
    ).toHaveLength(2);
  });
});
