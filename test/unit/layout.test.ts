/**
 * The test tree mirrors src/: `test/unit/<folder>/<file>.test.ts` tests `src/<folder>/<file>.ts`
 * (a suffix after a dash names an aspect: `report/log-progress.test.ts` tests `report/log.ts`), and
 * the same for `test/integration`. A unit test opens no socket: no file under test/unit imports
 * the emulator, a network module or undici, directly or through a test helper. Tests that need
 * the emulator go in test/integration, the emulator's own tests beside it in test/emulator.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-action.js';

/** Files of test/unit that check the repository itself rather than one module of src/. */
const REPOSITORY_CHECKS = ['docs.test.ts', 'layout.test.ts'];

/** Modules a unit test may not reach: each one means a socket. */
const NETWORK_MODULES = new Set(
  ['net', 'http', 'https', 'http2', 'tls', 'dgram'].flatMap((m) => [m, `node:${m}`]).concat('undici'),
);

const EMULATOR_DIR = path.join(REPO_ROOT, 'test', 'emulator');
const SRC_DIR = path.join(REPO_ROOT, 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile() && /\.(ts|mts|js|mjs)$/.test(file));
}

/** Every module a file names: static and dynamic imports, re-exports, `require` and `vi.mock`. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\.resolve)?\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bvi\.mock\s*\(\s*['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1] as string);
  return found;
}

/** The file a relative specifier names (`./x.js` is `./x.ts` on disk), or undefined. */
function resolveRelative(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`];
  return candidates.find((file) => existsSync(file) && statSync(file).isFile());
}

/**
 * Why `file` may not be a unit test, following relative imports inside test/ (not src/, whose
 * transport rightly imports undici): one line per forbidden module, with the chain that reaches it.
 */
function socketImports(file: string, read = (f: string) => readFileSync(f, 'utf8')): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (current: string, chain: string[]) => {
    if (seen.has(current)) return;
    seen.add(current);
    for (const spec of importsOf(read(current))) {
      const via = [...chain, spec].join(' → ');
      if (NETWORK_MODULES.has(spec)) problems.push(`imports ${via}`);
      if (!spec.startsWith('.')) continue;
      const target = resolveRelative(current, spec);
      if (target === undefined) continue;
      if (target.startsWith(EMULATOR_DIR + path.sep)) problems.push(`imports the emulator: ${via}`);
      else if (!target.startsWith(SRC_DIR + path.sep)) visit(target, [...chain, spec]);
    }
  };
  visit(file, []);
  return problems;
}

/**
 * The src/ path a test path under a mirrored tree stands for, or undefined when none exists:
 * `<folder>/<file>.test.ts` for `src/<folder>/<file>.ts`, `<file>-<aspect>.test.ts` for the same
 * file, other files (fixtures) in a folder that src/ has.
 */
function mirroredSource(relative: string, src = SRC_DIR): string | undefined {
  const dir = path.dirname(relative);
  const srcDir = path.join(src, dir);
  if (!existsSync(srcDir) || !statSync(srcDir).isDirectory()) return undefined;
  const base = path.basename(relative);
  if (!base.endsWith('.test.ts')) return srcDir;
  const parts = base.slice(0, -'.test.ts'.length).split('-');
  for (let n = parts.length; n > 0; n--) {
    const candidate = path.join(srcDir, parts.slice(0, n).join('-'));
    if (existsSync(`${candidate}.ts`)) return `${candidate}.ts`;
  }
  return undefined;
}

const unitDir = path.join(REPO_ROOT, 'test', 'unit');
const integrationDir = path.join(REPO_ROOT, 'test', 'integration');
const relative = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

describe('the test tree', () => {
  it('has no unit test that reaches the emulator or a socket', () => {
    // This file names the forbidden modules in its own examples, as strings.
    const offenders = filesUnder(unitDir)
      .filter((file) => file !== path.join(unitDir, 'layout.test.ts'))
      .flatMap((file) => socketImports(file).map((why) => `test/unit/${relative(unitDir, file)} ${why}`));
    expect(offenders, 'move these to test/integration/<folder>/').toEqual([]);
  });

  it.each([
    ['test/unit', unitDir],
    ['test/integration', integrationDir],
  ])('%s mirrors src/', (_name, root) => {
    const strays = filesUnder(root)
      .map((file) => relative(root, file))
      .filter((rel) => !(root === unitDir && REPOSITORY_CHECKS.includes(rel)))
      .filter((rel) => mirroredSource(rel) === undefined);
    expect(strays, 'name a test for the src/ file it tests: <folder>/<file>.test.ts').toEqual([]);
  });

  it('keeps the emulator and the end-to-end tests out of test/unit', () => {
    const names = filesUnder(unitDir).map((file) => relative(unitDir, file));
    expect(names.filter((n) => /(^|\/)(emulator|e2e)[-/]/.test(n))).toEqual([]);
  });
});

describe('the layout checks themselves', () => {
  it('finds every kind of import', () => {
    const source = [
      "import { a } from '../../emulator/index.js';",
      "import 'node:net';",
      "export * from './x.js';",
      "const m = await import('undici');",
      "const r = require('node:http');",
      "vi.mock('../helpers/y.js', () => ({}));",
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(
      ['../../emulator/index.js', 'node:net', './x.js', 'undici', 'node:http', '../helpers/y.js'].sort(),
    );
  });

  it('flags the emulator and network modules, also through a helper, but not through src/', () => {
    const files: Record<string, string> = {
      [path.join(unitDir, 'a.test.ts')]: "import { h } from '../helpers/run-action.js';\nimport 'node:fs';",
      [path.join(REPO_ROOT, 'test/helpers/run-action.ts')]:
        "import { startEmulator } from '../emulator/index.js';",
      [path.join(unitDir, 'b.test.ts')]: "import { x } from 'node:http';",
      [path.join(unitDir, 'c.test.ts')]: "import { createDispatcher } from '../../src/http/transport.js';",
    };
    const read = (f: string) => files[f] ?? '';
    expect(socketImports(path.join(unitDir, 'a.test.ts'), read)).toEqual([
      'imports the emulator: ../helpers/run-action.js → ../emulator/index.js',
    ]);
    expect(socketImports(path.join(unitDir, 'b.test.ts'), read)).toEqual(['imports node:http']);
    expect(socketImports(path.join(unitDir, 'c.test.ts'), read)).toEqual([]);
  });

  it.each([
    ['tar/header.test.ts', 'tar/header.ts'],
    ['report/log-progress.test.ts', 'report/log.ts'],
    ['report/report-file.test.ts', 'report/report-file.ts'],
    ['inputs/fixtures.ts', 'inputs'],
    ['redact.test.ts', 'redact.ts'],
    ['main.test.ts', 'main.ts'],
  ])('takes %s as a mirror of src/%s', (test, source) => {
    expect(mirroredSource(test)).toBe(path.join(SRC_DIR, source));
  });

  it.each([
    'tar-header.test.ts',
    'report/nothing.test.ts',
    'nowhere/header.test.ts',
    'emulator-cph.test.ts',
    'nowhere/fixtures.ts',
  ])('rejects %s', (test) => {
    expect(mirroredSource(test)).toBeUndefined();
  });
});
