/**
 * How fast does the `file` path go end to end, and what does it cost in memory, beside the
 * ceiling (curl PUT) and the official SDK (esdk-obs-nodejs uploadFile at its defaults)?
 *
 *   npx tsx bench/upload.ts [runs=3] [sizeMiB=1024] [bigMiB=4096] [longMiB=1024] [concurrencies=1,4,8,16]
 *
 * Writes a valid tar of `sizeMiB` (top level data/, four files of random bytes) under the temp
 * dir, starts the emulator in this process with `discardObjectData`, then:
 *   loopback   per run, one child process per variant, side by side (so the machine's load hits
 *              all of them alike; peak RSS is each child's own):
 *     action   node dist/index.js on Node 24: tar check + SHA-256 (+ part SHA-256s in a worker), HEAD,
 *              multipart upload (planParts, `upload-concurrency` default auto), PushShareFiles to
 *              one server with `wait: false`
 *     esdk     esdk-obs-nodejs uploadFile with its defaults: 5 MiB parts, TaskNum 20, no checkpoint,
 *              no checksum (no MD5 of anything: it checks less than the action)
 *     curl     curl -T: one signed PUT, nothing else (the ceiling of the emulator on this machine)
 *   long link  the emulator reads each connection's body at 8 MiB/s at most and waits 40 ms before
 *              every answer (a runner far from the region): the action at each of `concurrencies`
 *              and esdk at its defaults, one run each, on a `longMiB` tar
 *   big        the action alone at `bigMiB` (0 skips it): memory must not grow with the size.
 * The file is in the page cache, as on a runner right after `tar -cf`. Medians over the runs.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signObsRequest } from '../src/huawei/sign-obs.js';
import {
  DEFAULT_CREDENTIALS,
  type Emulator,
  type LinkThrottle,
  startEmulator,
} from '../test/emulator/index.js';
import { buildTar } from '../test/helpers/tar-builder.js';
import { actionEnv, DIST_ENTRY, emulatorInputs, REPO_ROOT } from './lib/action-env.js';
import {
  fileId,
  fixed,
  loadNote,
  measure,
  median,
  node24,
  nodeVersion,
  RSS_METHOD,
  table,
} from './lib/measure.js';

const MiB = 1024 * 1024;
const BUCKET = 'cph-bucket';
const ESDK_CHILD = fileURLToPath(new URL('./lib/esdk-upload.mjs', import.meta.url));
const LONG_LINK: LinkThrottle = { bytesPerSecond: 8 * MiB, answerDelayMs: 40 };
/**
 * The action's `upload-concurrency` in the loopback and big runs: its default, `auto`, once the
 * inputs accept it (CPH_BENCH_CONCURRENCY=16 for a build whose inputs do not yet).
 */
const ACTION_CONCURRENCY: number | 'auto' =
  process.env.CPH_BENCH_CONCURRENCY && process.env.CPH_BENCH_CONCURRENCY !== 'auto'
    ? Number(process.env.CPH_BENCH_CONCURRENCY)
    : 'auto';
/** esdk-obs-nodejs 3.26.8 uploadFile defaults (lib/obs.js, lib/enums.js). */
const ESDK_TASK_NUM = 20;

type Variant = 'action' | 'curl' | 'esdk';

interface Sample {
  variant: Variant;
  /** Which table it belongs to. */
  link: 'loopback' | 'long link';
  bytes: number;
  /** Parts in flight: the action's `upload-concurrency`, esdk's TaskNum, 1 for curl. */
  concurrency: number | 'auto';
  wallS: number;
  peakRssMiB: number;
  /** Action only: tar inspection (as logged) and upload (as logged). */
  inspectS?: number;
  uploadS?: number;
  /** UploadPart requests that got no 200 (the client gave up on them and sent the part again). */
  failedParts?: number;
  ok: boolean;
}

/** A valid tar of exactly `bytes` (a multiple of 512): `data/` and `files` files of random bytes. */
async function makeTar(path: string, bytes: number, files = 4): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const dataBytes = bytes - 512 - files * 512 - 1024;
    const each = Math.floor(dataBytes / files / 512) * 512;
    const chunk = Buffer.allocUnsafe(4 * MiB);
    await handle.write(buildTar([{ path: 'data/', type: 'directory' }], { endBlocks: 0 }));
    for (let f = 0; f < files; f++) {
      const size = f === files - 1 ? dataBytes - each * (files - 1) : each;
      await handle.write(
        buildTar([{ path: `data/blob-${f}.bin`, size, content: Buffer.alloc(0) }], { endBlocks: 0 }),
      );
      for (let left = size; left > 0; ) {
        const n = Math.min(left, chunk.length);
        randomFillSync(chunk, 0, n);
        await handle.write(chunk, 0, n);
        left -= n;
      }
    }
    await handle.write(Buffer.alloc(1024));
  } finally {
    await handle.close();
  }
}

/** Reads the file once so that every variant starts with it in the page cache. */
async function warm(path: string): Promise<void> {
  const handle = await open(path, 'r');
  const buf = Buffer.allocUnsafe(4 * MiB);
  while ((await handle.read(buf, 0, buf.length, null)).bytesRead > 0);
  await handle.close();
}

const seconds = (text: string, re: RegExp) => {
  const m = re.exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

async function runAction(
  emu: Emulator,
  node: string,
  file: string,
  key: string,
  bytes: number,
  concurrency: number | 'auto',
): Promise<Sample> {
  const { env, dispose } = actionEnv(
    emulatorInputs(emu, {
      file,
      'object-path': key,
      'server-ids': 'srv-0001',
      wait: 'false',
      preflight: 'false',
      'upload-concurrency': String(concurrency),
    }),
  );
  try {
    const run = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
    const stored = emu.obs.getObject(BUCKET, key);
    const ok = run.code === 0 && stored?.size === bytes && (emu.cph.jobs.at(-1)?.objectPath ?? '') === key;
    if (!ok) console.error(`action failed (${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr}`);
    return {
      variant: 'action',
      link: emu.settings.throttle ? 'long link' : 'loopback',
      bytes,
      concurrency,
      wallS: run.wallMs / 1000,
      peakRssMiB: run.peakRssMiB,
      inspectS: seconds(run.stdout, /; checked in ([\d.]+) s$/m),
      uploadS: seconds(run.stdout, /^Uploaded [\d.]+ MiB in ([\d.]+) s/m),
      failedParts: failedParts(emu, key),
      ok,
    };
  } finally {
    dispose();
  }
}

async function runCurl(emu: Emulator, file: string, key: string, bytes: number): Promise<Sample> {
  const signed = signObsRequest(
    { method: 'PUT', bucket: BUCKET, key, headers: {} },
    DEFAULT_CREDENTIALS,
    new Date(),
  );
  const headers = Object.entries(signed).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const run = await measure('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-H',
    'Expect:',
    ...headers,
    '-T',
    file,
    `${emu.url}/${BUCKET}/${key}`,
  ]);
  const ok = run.code === 0 && run.stdout.trim() === '200' && emu.obs.getObject(BUCKET, key)?.size === bytes;
  if (!ok) console.error(`curl failed (${run.code}, HTTP ${run.stdout}): ${run.stderr}`);
  const link = emu.settings.throttle ? 'long link' : 'loopback';
  return {
    variant: 'curl',
    link,
    bytes,
    concurrency: 1,
    wallS: run.wallMs / 1000,
    peakRssMiB: run.peakRssMiB,
    ok,
  };
}

/** esdk-obs-nodejs uploadFile with its defaults: no part size, no TaskNum, no checkpoint, no checksum. */
async function runEsdk(
  emu: Emulator,
  node: string,
  file: string,
  key: string,
  bytes: number,
): Promise<Sample> {
  const options = {
    server: emu.url,
    accessKeyId: DEFAULT_CREDENTIALS.accessKeyId,
    secretAccessKey: DEFAULT_CREDENTIALS.secretAccessKey,
    bucket: BUCKET,
    key,
    file,
  };
  const run = await measure(node, [ESDK_CHILD, JSON.stringify(options)], { cwd: REPO_ROOT });
  const ok = run.code === 0 && emu.obs.getObject(BUCKET, key)?.size === bytes;
  if (!ok) console.error(`esdk failed (${run.code}): ${run.stdout}\n${run.stderr}`);
  return {
    variant: 'esdk',
    link: emu.settings.throttle ? 'long link' : 'loopback',
    bytes,
    concurrency: ESDK_TASK_NUM,
    wallS: run.wallMs / 1000,
    peakRssMiB: run.peakRssMiB,
    failedParts: failedParts(emu, key),
    ok,
  };
}

function failedParts(emu: Emulator, key: string): number {
  return emu.requests.filter((r) => r.op === 'UploadPart' && r.path.endsWith(`/${key}`) && r.status !== 200)
    .length;
}

function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

const LABELS: Record<Variant, (s: Sample) => string> = {
  action: (s) => `action, upload-concurrency ${s.concurrency}`,
  curl: () => 'curl -T (one signed PUT)',
  esdk: () => `esdk-obs-nodejs uploadFile defaults (5 MiB parts, TaskNum ${ESDK_TASK_NUM}, no checksum)`,
};

/** One row per variant, size and concurrency: medians, and wall time against esdk's in the same table. */
function rows(samples: Sample[]): (string | number)[][] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.link}/${s.variant}/${s.bytes}/${s.concurrency}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const esdkWall = (link: string, bytes: number) =>
    median(
      samples.filter((s) => s.variant === 'esdk' && s.link === link && s.bytes === bytes).map((s) => s.wallS),
    );
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const m = (f: (s: Sample) => number | undefined, digits = 1) =>
      fixed(median(g.map((s) => f(s) ?? Number.NaN)), digits);
    const wall = median(g.map((s) => s.wallS));
    return [
      first.link,
      LABELS[first.variant](first),
      `${first.bytes / MiB} MiB`,
      g.length,
      fixed(wall, 2),
      g.length > 1
        ? `${fixed(Math.min(...g.map((s) => s.wallS)), 2)}–${fixed(Math.max(...g.map((s) => s.wallS)), 2)}`
        : '',
      `${fixed(wall / esdkWall(first.link, first.bytes), 2)}×`,
      fixed(first.bytes / MiB / wall, 0),
      m((s) => s.peakRssMiB),
      m((s) => s.inspectS),
      m((s) => s.uploadS),
      m((s) => s.failedParts, 0),
      `${g.filter((s) => s.ok).length}/${g.length}`,
    ];
  });
}

/** The link models of issue 18: per connection, per answer, and for all connections together. */
const MODELS: Array<{ name: string; throttle: LinkThrottle | undefined }> = [
  { name: 'loopback', throttle: undefined },
  { name: 'long', throttle: LONG_LINK },
  { name: 'capped', throttle: { ...LONG_LINK, totalBytesPerSecond: 64 * MiB } },
  { name: 'far', throttle: { bytesPerSecond: 2 * MiB, answerDelayMs: 150 } },
];

/**
 * Requests before the upload in the link models, for ours and esdk alike: keyless sign-in (2), the
 * project id (1), the servers and the phone models for the pre-flight (2), as the action makes them
 * by default. Each waits the model's answer delay; ours hashes meanwhile.
 */
const BEFORE_UPLOAD_REQUESTS = 5;

/** The link's floor: the size at the link's cap (none on loopback or an uncapped link). */
function floorS(throttle: LinkThrottle | undefined, bytes: number): number | undefined {
  return throttle?.totalBytesPerSecond ? bytes / throttle.totalBytesPerSecond : undefined;
}

/**
 * `npx tsx bench/upload.ts models [sizeMiB=512] [runs=1] [models=all|loopback,long,capped,far] [before=5]`:
 * for each link model, the action's check and upload (bench/lib/upload-child.ts, `upload-concurrency:
 * auto`, or `CPH_BENCH_CONCURRENCY`) and esdk at its defaults, paired: each run measures both back to back, the order
 * alternating from run to run so that the load of the shared machine hits both alike. Both first
 * make `before` requests (the round trips before an upload). Medians of wall, CPU, peak RSS, the
 * ratios to esdk and to the floor, ours' tar check and how long the upload still waited for the
 * whole-file SHA-256, and how `auto` moved in the last run.
 */
async function models(
  sizeMiB: number,
  runs: number,
  only: string[] | undefined,
  before: number,
): Promise<void> {
  const node = node24();
  const dir = mkdtempSync(join(tmpdir(), 'cph-upload-models-'));
  const emu = await startEmulator({ discardObjectData: true });
  try {
    const child = join(dir, 'child');
    const built = await measure(
      'npx',
      ['ncc', 'build', 'bench/lib/upload-child.ts', '-o', child, '--target', 'es2022', '--transpile-only'],
      {
        cwd: REPO_ROOT,
      },
    );
    if (built.code !== 0) throw new Error(`ncc failed: ${built.stderr}`);
    console.log(
      `link models: ${sizeMiB} MiB tar, ${plural(runs, 'run')} each, ${plural(before, 'request')} before each upload, ${nodeVersion(node)}; at the start: ${loadNote()}`,
    );
    const file = join(dir, 'bench.tar');
    const bytes = sizeMiB * MiB;
    await makeTar(file, bytes);
    await warm(file);
    const rows: string[][] = [];
    for (const model of MODELS.filter((m) => !only || only.includes(m.name))) {
      emu.settings.throttle = model.throttle;
      const options = {
        server: emu.url,
        accessKeyId: DEFAULT_CREDENTIALS.accessKeyId,
        secretAccessKey: DEFAULT_CREDENTIALS.secretAccessKey,
        bucket: BUCKET,
        file,
      };
      const runOurs = async (run: number) => {
        const key = `m/${model.name}-${run}-a.tar`;
        const m = await measure(
          node,
          [
            join(child, 'index.js'),
            JSON.stringify({ ...options, key, concurrency: ACTION_CONCURRENCY, before }),
          ],
          { cwd: REPO_ROOT },
        );
        const ok = m.code === 0 && emu.obs.getObject(BUCKET, key)?.size === bytes;
        if (!ok) console.error(m.stdout.slice(-2000), m.stderr.slice(-2000));
        const last = JSON.parse(m.stdout.trim().split('\n').at(-1) || '{}') as {
          checkS?: number;
          waitS?: number;
        };
        return { m, ok, checkS: last.checkS ?? Number.NaN, waitS: last.waitS ?? Number.NaN };
      };
      const runEsdkModel = async (run: number) => {
        const key = `m/${model.name}-${run}-e.tar`;
        const m = await measure(node, [ESDK_CHILD, JSON.stringify({ ...options, key, before })], {
          cwd: REPO_ROOT,
        });
        const ok = m.code === 0 && emu.obs.getObject(BUCKET, key)?.size === bytes;
        if (!ok) console.error(m.stdout.slice(-2000), m.stderr.slice(-2000));
        return { m, ok };
      };
      const ours: Array<Awaited<ReturnType<typeof runOurs>>> = [];
      const esdk: Array<Awaited<ReturnType<typeof runEsdkModel>>> = [];
      for (let run = 0; run < runs; run++) {
        if (run % 2 === 0) {
          ours.push(await runOurs(run));
          esdk.push(await runEsdkModel(run));
        } else {
          esdk.push(await runEsdkModel(run));
          ours.push(await runOurs(run));
        }
        const a = ours.at(-1)!;
        const e = esdk.at(-1)!;
        console.log(
          `  ${model.name} run ${run + 1}: ours ${fixed(a.m.wallMs / 1000, 2)} s (check ${fixed(a.checkS, 2)} s, waited ${fixed(a.waitS, 2)} s for the SHA-256), esdk ${fixed(e.m.wallMs / 1000, 2)} s → ${fixed(a.m.wallMs / e.m.wallMs, 2)}×`,
        );
      }
      const med = median;
      const wall = med(ours.map((r) => r.m.wallMs)) / 1000;
      const esdkWall = med(esdk.map((r) => r.m.wallMs)) / 1000;
      const floor = floorS(model.throttle, bytes);
      const okA = ours.every((r) => r.ok);
      const okE = esdk.every((r) => r.ok);
      rows.push([
        model.name,
        `${fixed(wall, 2)} s${okA ? '' : ' FAILED'}`,
        `${fixed(med(ours.map((r) => r.checkS)), 2)} s / ${fixed(med(ours.map((r) => r.waitS)), 2)} s`,
        `${fixed(med(ours.map((r) => r.m.cpuMs)) / 1000, 2)} s`,
        `${fixed(med(ours.map((r) => r.m.peakRssMiB)))} MiB`,
        `${fixed(esdkWall, 2)} s${okE ? '' : ' FAILED'}`,
        `${fixed(med(esdk.map((r) => r.m.cpuMs)) / 1000, 2)} s`,
        `${fixed(med(esdk.map((r) => r.m.peakRssMiB)))} MiB`,
        `${fixed(med(ours.map((r, i) => r.m.wallMs / (esdk[i]?.m.wallMs ?? Number.NaN))), 2)}×`,
        floor ? `${fixed(wall / floor, 2)}× (${fixed(floor, 1)} s)` : '–',
      ]);
      console.log(`  ${model.name}: how auto moved (last run)`);
      for (const line of (ours.at(-1)?.m.stdout ?? '').split('\n').filter((l) => / Upload: /.test(l)))
        console.log(`    ${line}`);
    }
    console.log(`at the end: ${loadNote()}`);
    console.log(
      table([
        [
          'link',
          'ours wall',
          'ours check / SHA wait',
          'ours CPU',
          'ours RSS',
          'esdk wall',
          'esdk CPU',
          'esdk RSS',
          '× esdk',
          '× floor',
        ],
        ...rows,
      ]),
    );
  } finally {
    emu.settings.throttle = undefined;
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const plural = (n: number, word: string) => `${n} ${n === 1 ? word : `${word}s`}`;

async function main(): Promise<void> {
  if (process.argv[2] === 'models')
    return models(
      Number(process.argv[3] ?? 512),
      Number(process.argv[4] ?? 1),
      process.argv[5] && process.argv[5] !== 'all' ? process.argv[5].split(',') : undefined,
      Number(process.argv[6] ?? BEFORE_UPLOAD_REQUESTS),
    );
  const runs = Number(process.argv[2] ?? 3);
  const sizeMiB = Number(process.argv[3] ?? 1024);
  const bigMiB = Number(process.argv[4] ?? 4096);
  const longMiB = Number(process.argv[5] ?? 1024);
  const concurrencies = (process.argv[6] ?? '1,4,8,16').split(',').map(Number);
  const node = node24();
  const dir = mkdtempSync(join(tmpdir(), 'cph-upload-bench-'));
  const emu = await startEmulator({ discardObjectData: true });
  const samples: Sample[] = [];
  const say = (s: Sample) =>
    console.log(
      `  ${s.link}, ${LABELS[s.variant](s)}, ${s.bytes / MiB} MiB: ${fixed(s.wallS, 2)} s, ${fixed(s.peakRssMiB)} MiB${s.ok ? '' : ' FAILED'}`,
    );
  try {
    console.log(
      `upload: action and esdk on ${nodeVersion(node)}, emulator in this process on ${process.version}; ` +
        `peak RSS = ${RSS_METHOD}; dist/index.js ${fileId(DIST_ENTRY)}`,
    );
    console.log(`at the start: ${loadNote()}`);
    const file = join(dir, 'bench.tar');
    await makeTar(file, sizeMiB * MiB);
    await warm(file);
    const bytes = sizeMiB * MiB;
    for (let r = 0; r < runs; r++) {
      // Side by side: each run has every variant once, in a rotating order.
      const variants = [
        () => runAction(emu, node, file, `bench/action-${sizeMiB}-${r}.tar`, bytes, ACTION_CONCURRENCY),
        () => runEsdk(emu, node, file, `bench/esdk-${sizeMiB}-${r}.tar`, bytes),
        () => runCurl(emu, file, `bench/curl-${sizeMiB}-${r}.tar`, bytes),
      ];
      for (let v = 0; v < variants.length; v++) {
        const s = await variants[(v + r) % variants.length]!();
        samples.push(s);
        say(s);
      }
    }
    console.log(`after loopback: ${loadNote()}`);

    if (longMiB > 0) {
      const longFile = longMiB === sizeMiB ? file : join(dir, 'long.tar');
      if (longFile !== file) {
        await makeTar(longFile, longMiB * MiB);
        await warm(longFile);
      }
      emu.settings.throttle = LONG_LINK;
      const longBytes = longMiB * MiB;
      const variants = [
        ...concurrencies.map(
          (c) => () => runAction(emu, node, longFile, `bench/long-action-${c}.tar`, longBytes, c),
        ),
        () => runEsdk(emu, node, longFile, 'bench/long-esdk.tar', longBytes),
      ];
      for (const variant of variants) {
        const s = await variant();
        samples.push(s);
        say(s);
      }
      emu.settings.throttle = undefined;
      if (longFile !== file) rmSync(longFile, { force: true });
      console.log(`after long link: ${loadNote()}`);
    }
    rmSync(file, { force: true });

    if (bigMiB > 0) {
      const needed = bigMiB * MiB + 512 * MiB;
      if (freeBytes(dir) < needed) {
        console.log(
          `  skipped ${bigMiB} MiB: ${fixed(freeBytes(dir) / 2 ** 30)} GiB free in ${dir}, ${fixed(needed / 2 ** 30)} GiB needed`,
        );
      } else {
        const big = join(dir, 'big.tar');
        await makeTar(big, bigMiB * MiB);
        await warm(big);
        const s = await runAction(
          emu,
          node,
          big,
          `bench/action-${bigMiB}.tar`,
          bigMiB * MiB,
          ACTION_CONCURRENCY,
        );
        samples.push(s);
        say(s);
        const e = await runEsdk(emu, node, big, `bench/esdk-${bigMiB}.tar`, bigMiB * MiB);
        samples.push(e);
        say(e);
        rmSync(big, { force: true });
      }
    }
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log();
  console.log(
    table([
      [
        'link',
        'variant',
        'size',
        'runs',
        'wall s',
        'min–max',
        '× esdk',
        'MiB/s',
        'peak RSS MiB',
        'inspect s',
        'upload s',
        'failed parts',
        'ok',
      ],
      ...rows(samples),
    ]),
  );
  console.log();
  console.log(
    'wall = spawn → exit of the child (the action: Node start, tar check + SHA-256, HEAD, upload, PushShareFiles, outputs); ' +
      'MiB/s = size / wall; medians. × esdk = wall / esdk-obs-nodejs wall, same link and size. ' +
      `long link = ${LONG_LINK.bytesPerSecond / MiB} MiB/s per connection and ${LONG_LINK.answerDelayMs} ms before each answer. ` +
      'Action only: inspect = "checked in X s" (tar headers; the SHA-256s go on beside sign-in), upload = "Uploaded … in Y s" (HEAD + multipart); ' +
      'failed parts = UploadPart requests the emulator did not answer 200 (aborted by the client, then sent again).',
  );
  console.log(`at the end: ${loadNote()}`);
}

await main();
