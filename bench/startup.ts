/**
 * How long before the action does anything, and what does it weigh, beside a bare Node start?
 *
 *   npx tsx bench/startup.ts [runs=15] [--deps]
 *
 * Each run, on Node 24, in turn (one child process each):
 *   bare       node -e 0: spawn → exit
 *   bad input  node dist/index.js with an invalid input: loads the bundle, reads the inputs, fails
 *              before any network (a proxy for load time)
 *   action     node dist/index.js with project-id given, no file, one server, wait: false:
 *              spawn → the emulator's first recorded request (PushShareFiles), and spawn → exit
 *   keyless    the same signed in without keys: ID token from the emulated GitHub, IAM federation
 *              and securitytokens first; "1st request" is the first signed one (PushShareFiles)
 * Printed: medians (and min–max) of the times, peak RSS, and the bundle's size.
 *
 * With --deps, also what each dependency costs alone: every entry below is bundled with ncc (the
 * flags of `npm run bundle`) into a temp dir and timed like `node -e 0`; the action's own code
 * is bundled with its dependencies left out, for its size.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startEmulator } from '../test/emulator/index.js';
import { actionEnv, DIST_ENTRY, emulatorInputs, REPO_ROOT } from './lib/action-env.js';
import {
  fileId,
  fixed,
  loadNote,
  type Measured,
  measure,
  median,
  minMax,
  node24,
  nodeVersion,
  RSS_METHOD,
  table,
} from './lib/measure.js';

type Variant = 'bare' | 'bad input' | 'action' | 'keyless';

interface Sample {
  /** Spawn → exit, ms. */
  wallMs: number;
  /** Spawn → first request at the emulator, ms (action only). */
  firstRequestMs: number;
  peakRssMiB: number;
  /** User + system CPU of the child: less sensitive to a busy machine than the wall times. */
  cpuMs: number;
  ok: boolean;
}

async function main(): Promise<void> {
  const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 15);
  const node = node24();
  const emu = await startEmulator();
  const samples: Record<Variant, Sample[]> = { bare: [], 'bad input': [], action: [], keyless: [] };
  console.log(
    `startup: ${runs} runs on ${nodeVersion(node)}; peak RSS = ${RSS_METHOD}; dist/index.js ${fileId(DIST_ENTRY)}`,
  );
  console.log(`at the start: ${loadNote()}`);
  try {
    // One unmeasured round: the binary and the bundle into the page cache.
    await measure(node, ['-e', '0']);
    for (let r = 0; r <= runs; r++) {
      const measured = r > 0;
      // bare
      {
        const run = await measure(node, ['-e', '0']);
        if (measured)
          samples.bare.push({
            wallMs: run.wallMs,
            firstRequestMs: Number.NaN,
            peakRssMiB: run.peakRssMiB,
            cpuMs: run.cpuMs,
            ok: run.code === 0,
          });
      }
      // bad input: batch-size out of range fails in readConfig, before any client exists
      {
        const { env, dispose } = actionEnv(
          emulatorInputs(emu, { 'server-ids': 'srv-0001', 'batch-size': '0', wait: 'false' }),
        );
        emu.clearRequests();
        const run = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
        dispose();
        const ok = run.code === 1 && emu.requests.length === 0 && /invalid input/.test(run.stdout);
        if (!ok) console.error(`bad input run: unexpected (${run.code}): ${run.stdout.slice(-500)}`);
        if (measured)
          samples['bad input'].push({
            wallMs: run.wallMs,
            firstRequestMs: Number.NaN,
            peakRssMiB: run.peakRssMiB,
            cpuMs: run.cpuMs,
            ok,
          });
      }
      // action
      {
        const { env, dispose } = actionEnv(
          emulatorInputs(emu, {
            'object-path': `releases/startup-${r}.tar`,
            'server-ids': 'srv-0001',
            wait: 'false',
          }),
        );
        emu.clearRequests();
        const run: Measured = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
        dispose();
        const first = emu.requests[0];
        const ok = run.code === 0 && first?.op === 'PushShareFiles';
        if (!ok) console.error(`action run: unexpected (${run.code}): ${run.stdout.slice(-500)}`);
        if (measured)
          samples.action.push({
            wallMs: run.wallMs,
            firstRequestMs: first ? first.time - run.spawnedAt : Number.NaN,
            peakRssMiB: run.peakRssMiB,
            cpuMs: run.cpuMs,
            ok,
          });
      }
      // keyless: the same push, signed with temporary credentials from the ID token
      {
        const {
          'access-key-id': _ak,
          'secret-access-key': _sk,
          ...inputs
        } = emulatorInputs(emu, {
          'object-path': `releases/startup-${r}.tar`,
          'server-ids': 'srv-0001',
          wait: 'false',
          'identity-provider': 'github-actions',
        });
        const { env, dispose } = actionEnv(inputs, emu.idTokenEnv);
        emu.clearRequests();
        const run: Measured = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
        dispose();
        const signed = emu.requests.find((q) => q.op === 'PushShareFiles');
        const ok = run.code === 0 && emu.requests[0]?.op === 'GetIdToken' && signed?.authOk === true;
        if (!ok) console.error(`keyless run: unexpected (${run.code}): ${run.stdout.slice(-500)}`);
        if (measured)
          samples.keyless.push({
            wallMs: run.wallMs,
            firstRequestMs: signed ? signed.time - run.spawnedAt : Number.NaN,
            peakRssMiB: run.peakRssMiB,
            cpuMs: run.cpuMs,
            ok,
          });
      }
    }
  } finally {
    await emu.close();
  }

  const bareWall = median(samples.bare.map((s) => s.wallMs));
  const rows = (Object.keys(samples) as Variant[]).map((v) => {
    const s = samples[v];
    const wall = median(s.map((x) => x.wallMs));
    const first = median(s.map((x) => x.firstRequestMs));
    return [
      v,
      s.length,
      fixed(wall, 0),
      minMax(s.map((x) => Math.round(x.wallMs))),
      fixed(wall / bareWall, 2),
      fixed(first, 0),
      minMax(s.map((x) => Math.round(x.firstRequestMs))),
      fixed(first / bareWall, 2),
      fixed(median(s.map((x) => x.peakRssMiB)), 1),
      fixed(median(s.map((x) => x.cpuMs)), 0),
      `${s.filter((x) => x.ok).length}/${s.length}`,
    ];
  });
  console.log();
  console.log(
    table([
      [
        'variant',
        'runs',
        'spawn→exit ms',
        'min–max',
        '× bare',
        'spawn→1st request ms',
        'min–max',
        '× bare',
        'peak RSS MiB',
        'CPU ms',
        'ok',
      ],
      ...rows,
    ]),
  );
  const bundle = readFileSync(DIST_ENTRY);
  console.log();
  console.log(
    `bundle: dist/index.js ${bundle.length} bytes (${fixed(bundle.length / 1024 / 1024, 2)} MiB, ` +
      `${fixed(bundle.length / 1e6, 2)} MB), gzip ${gzipSync(bundle).length} bytes; ` +
      `dist/ total ${readdirSync(join(REPO_ROOT, 'dist')).reduce((n, f) => n + safeSize(`${REPO_ROOT}/dist/${f}`), 0)} bytes ` +
      `(${readdirSync(join(REPO_ROOT, 'dist')).join(', ')})`,
  );
  console.log(
    'medians; × bare = this median / the median of node -e 0. "1st request" is the time the emulator (this process) ' +
      'recorded the request (keyless: the first signed one, after the sign-in), less the time just before spawn.',
  );
  console.log('goal: ≤ 1.5× the bare start, bundle < 1 MB');
  if (process.argv.includes('--deps')) await dependencyCosts(node, runs);
  console.log(`at the end: ${loadNote()}`);
}

const NCC = join(REPO_ROOT, 'node_modules/@vercel/ncc/dist/ncc/cli.js');
const NCC_FLAGS = ['--minify', '--target', 'es2022', '--no-cache', '--quiet'];

/** The packages src/ imports at run time (type-only imports left out), e.g. `undici/lib/api/api-request.js`. */
function runtimeImports(): string[] {
  const found = new Set<string>();
  for (const file of readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(REPO_ROOT, 'src', file), 'utf8');
    for (const m of text.matchAll(/^import (?!type )[^;]*?from '((?:@actions\/|undici)[^']*)'/gm))
      found.add(m[1]!);
  }
  return [...found].sort();
}

/** One dependency at a time, imported the way src/ imports it. */
function dependencyEntries(imports: string[]): Record<string, string> {
  const deep = imports.filter((i) => i.startsWith('undici/'));
  const importAll = (specs: string[]) =>
    `${specs.map((spec, i) => `import * as m${i} from '${spec}';`).join('\n')}\nvoid [${specs.map((_, i) => `m${i}`).join(', ')}];\n`;
  const entries: Record<string, string> = {
    // http-client shares our undici through package.json's overrides (test/dist/bundle.test.ts).
    '@actions/core (with http-client → undici 7, exec)': importAll(['@actions/core']),
  };
  if (deep.length) entries[`undici 7, the ${deep.length} deep imports of src/`] = importAll(deep);
  entries["undici 7, whole package (import { request } from 'undici')"] = importAll(['undici']);
  return entries;
}

async function dependencyCosts(node: string, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cph-startup-deps-'));
  try {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const bundles: { name: string; file: string }[] = [];
    const imports = runtimeImports();
    for (const [i, [name, source]] of Object.entries(dependencyEntries(imports)).entries()) {
      writeFileSync(join(dir, `entry-${i}.mjs`), source);
      const out = join(dir, `out-${i}`);
      execFileSync(process.execPath, [NCC, 'build', join(dir, `entry-${i}.mjs`), '-o', out, ...NCC_FLAGS]);
      writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
      bundles.push({ name, file: join(out, 'index.mjs') });
    }
    const own = join(dir, 'out-own');
    execFileSync(process.execPath, [
      NCC,
      'build',
      join(REPO_ROOT, 'src/index.ts'),
      '-o',
      own,
      ...NCC_FLAGS,
      ...imports.flatMap((e) => ['-e', e]),
    ]);
    const times = new Map<string, number[]>();
    const rss = new Map<string, number[]>();
    const add = (name: string, run: Measured) => {
      times.set(name, [...(times.get(name) ?? []), run.wallMs]);
      rss.set(name, [...(rss.get(name) ?? []), run.peakRssMiB]);
    };
    for (let r = 0; r <= runs; r++) {
      const bare = await measure(node, ['-e', '0']);
      if (r > 0) add('node -e 0', bare);
      for (const b of bundles) {
        const run = await measure(node, [b.file]);
        if (run.code !== 0) throw new Error(`${b.name}: exit ${run.code}: ${run.stderr.slice(0, 500)}`);
        if (r > 0) add(b.name, run);
      }
    }
    const bareMs = median(times.get('node -e 0') ?? []);
    const rows: (string | number)[][] = [
      ['bundle alone', 'bytes', 'spawn→exit ms', '+ms over bare', 'peak RSS MiB'],
    ];
    for (const name of ['node -e 0', ...bundles.map((b) => b.name)]) {
      const file = bundles.find((b) => b.name === name)?.file;
      const ms = median(times.get(name) ?? []);
      rows.push([
        name,
        file ? statSync(file).size : '-',
        fixed(ms, 0),
        fixed(ms - bareMs, 0),
        fixed(median(rss.get(name) ?? []), 1),
      ]);
    }
    rows.push([
      "the action's own code (src, dependencies left out)",
      statSync(join(own, 'index.js')).size,
      '-',
      '-',
      '-',
    ]);
    console.log();
    console.log(`what each dependency costs alone (ncc ${NCC_FLAGS.join(' ')}; medians of ${runs} runs):`);
    console.log(table(rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

await main();
