/**
 * How fast does the `file` path go end to end, and what does it cost in memory, beside the
 * ceiling (curl PUT) and the official SDK (esdk-obs-nodejs uploadFile)?
 *
 *   npx tsx bench/upload.ts [runs=3] [sizeMiB=1024] [bigMiB=4096]
 *
 * Writes a valid tar of `sizeMiB` (top level data/, four files of random bytes) under the temp
 * dir, starts the emulator in this process with `discardObjectData`, then, for each run, one child
 * process per variant (so peak RSS is the variant's own):
 *   action  node dist/index.js on Node 24: tar inspection + MD5s, HEAD, multipart upload (4 parts in
 *           flight), PushShareFiles to one server with `wait: false`
 *   curl    curl -T: one signed PUT, nothing else (the ceiling of the emulator on this machine)
 *   esdk    esdk-obs-nodejs uploadFile, EnableCheckSum (whole-file MD5 first), same part size and
 *           TaskNum 4, on Node 24 (its MD5 step is patched: as shipped it never completes, see
 *           lib/esdk-upload.mjs)
 *   esdk-plain  the same without checkpoint and checksum: upload only
 * Then the action alone at `bigMiB` (0 skips it), to check that memory does not grow with size.
 * The file is in the page cache, as on a runner right after `tar -cf`. Medians over the runs.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signObsRequest } from '../src/huawei/sign-obs.js';
import { partSizeFor } from '../src/tar/scan.js';
import { PARTS_IN_FLIGHT } from '../src/upload/upload.js';
import { DEFAULT_CREDENTIALS, type Emulator, startEmulator } from '../test/emulator/index.js';
import { buildTar } from '../test/helpers/tar-builder.js';
import { actionEnv, DIST_ENTRY, emulatorInputs, REPO_ROOT } from './lib/action-env.js';
import {
  fileId,
  fixed,
  loadNote,
  type Measured,
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

type Variant = 'action' | 'curl' | 'esdk' | 'esdk-plain';

interface Sample {
  variant: Variant;
  bytes: number;
  wallS: number;
  peakRssMiB: number;
  /** Action only: spawn → the first log line, tar inspection, upload (as logged), the rest. */
  startS?: number;
  inspectS?: number;
  uploadS?: number;
  restS?: number;
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

function lineAt(run: Measured, re: RegExp): number {
  return run.lines.find((l) => re.test(l.text))?.at ?? Number.NaN;
}

async function runActionVariant(
  emu: Emulator,
  node: string,
  file: string,
  key: string,
  bytes: number,
): Promise<Sample> {
  const { env, dispose } = actionEnv(
    emulatorInputs(emu, { file, 'object-path': key, 'server-ids': 'srv-0001', wait: 'false' }),
  );
  try {
    const run = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
    const stored = emu.obs.getObject(BUCKET, key);
    const ok = run.code === 0 && stored?.size === bytes && (emu.cph.jobs.at(-1)?.objectPath ?? '') === key;
    if (!ok) console.error(`action failed (${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr}`);
    const uploaded = lineAt(run, /^Uploaded [\d.]+ MiB in /);
    return {
      variant: 'action',
      bytes,
      wallS: run.wallMs / 1000,
      peakRssMiB: run.peakRssMiB,
      startS: (lineAt(run, /^::group::Inspect tar/) - run.spawnedAt) / 1000,
      inspectS: seconds(run.stdout, /; read in ([\d.]+) s$/m),
      uploadS: seconds(run.stdout, /^Uploaded [\d.]+ MiB in ([\d.]+) s/m),
      // From the lines' time stamps, to the ms: upload end → exit (PushShareFiles, outputs, summary).
      restS: (run.exitedAt - uploaded) / 1000,
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
  return { variant: 'curl', bytes, wallS: run.wallMs / 1000, peakRssMiB: run.peakRssMiB, ok };
}

async function runEsdk(
  emu: Emulator,
  node: string,
  file: string,
  key: string,
  bytes: number,
  checkpointDir: string | undefined,
): Promise<Sample> {
  const options = {
    server: emu.url,
    accessKeyId: DEFAULT_CREDENTIALS.accessKeyId,
    secretAccessKey: DEFAULT_CREDENTIALS.secretAccessKey,
    bucket: BUCKET,
    key,
    file,
    partSize: partSizeFor(bytes),
    taskNum: PARTS_IN_FLIGHT,
    checkpointFile: checkpointDir && join(checkpointDir, `${key.replace(/\W/g, '_')}.upload_record`),
  };
  const run = await measure(node, [ESDK_CHILD, JSON.stringify(options)], { cwd: REPO_ROOT });
  const ok = run.code === 0 && emu.obs.getObject(BUCKET, key)?.size === bytes;
  const variant = checkpointDir ? 'esdk' : 'esdk-plain';
  if (!ok) console.error(`${variant} failed (${run.code}): ${run.stdout}\n${run.stderr}`);
  return {
    variant,
    bytes,
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

const LABELS: Record<Variant, string> = {
  action: 'action: node dist/index.js (file, wait: false)',
  curl: 'curl -T (one signed PUT, the ceiling)',
  esdk: `esdk-obs-nodejs uploadFile (checksum, TaskNum ${PARTS_IN_FLIGHT})`,
  'esdk-plain': `esdk-obs-nodejs uploadFile (no checksum, TaskNum ${PARTS_IN_FLIGHT})`,
};

function rows(samples: Sample[]): (string | number)[][] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.variant}/${s.bytes}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const m = (f: (s: Sample) => number | undefined, digits = 1) =>
      fixed(median(g.map((s) => f(s) ?? Number.NaN)), digits);
    const wall = median(g.map((s) => s.wallS));
    return [
      LABELS[first.variant],
      `${first.bytes / MiB} MiB`,
      g.length,
      fixed(wall, 2),
      fixed(first.bytes / MiB / wall, 0),
      m((s) => s.peakRssMiB),
      fixed(Math.max(...g.map((s) => s.peakRssMiB)), 1),
      m((s) => s.startS, 2),
      m((s) => s.inspectS),
      m((s) => s.uploadS),
      m((s) => s.restS, 2),
      m((s) => s.failedParts, 0),
      `${g.filter((s) => s.ok).length}/${g.length}`,
    ];
  });
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const sizeMiB = Number(process.argv[3] ?? 1024);
  const bigMiB = Number(process.argv[4] ?? 4096);
  const node = node24();
  const dir = mkdtempSync(join(tmpdir(), 'cph-upload-bench-'));
  const emu = await startEmulator({ discardObjectData: true });
  const samples: Sample[] = [];
  try {
    console.log(
      `upload: ${runs} runs, action and esdk on ${nodeVersion(node)}, emulator in this process on ${process.version}; ` +
        `peak RSS = ${RSS_METHOD}; part size ${partSizeFor(sizeMiB * MiB) / MiB} MiB; dist/index.js ${fileId(DIST_ENTRY)}`,
    );
    console.log(`at the start: ${loadNote()}`);
    const file = join(dir, 'bench.tar');
    await makeTar(file, sizeMiB * MiB);
    await warm(file);
    for (let r = 0; r < runs; r++) {
      const bytes = sizeMiB * MiB;
      const round = [
        await runActionVariant(emu, node, file, `bench/action-${sizeMiB}-${r}.tar`, bytes),
        await runCurl(emu, file, `bench/curl-${sizeMiB}-${r}.tar`, bytes),
        await runEsdk(emu, node, file, `bench/esdk-${sizeMiB}-${r}.tar`, bytes, dir),
        await runEsdk(emu, node, file, `bench/esdk-plain-${sizeMiB}-${r}.tar`, bytes, undefined),
      ];
      samples.push(...round);
      console.log(
        `  run ${r + 1}: ${round.map((s) => `${s.variant} ${fixed(s.wallS, 2)} s ${fixed(s.peakRssMiB)} MiB`).join(', ')}`,
      );
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
        for (let r = 0; r < runs; r++) {
          const s = await runActionVariant(emu, node, big, `bench/action-${bigMiB}-${r}.tar`, bigMiB * MiB);
          samples.push(s);
          console.log(
            `  run ${r + 1}: action ${bigMiB} MiB ${fixed(s.wallS, 2)} s ${fixed(s.peakRssMiB)} MiB`,
          );
        }
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
        'variant',
        'size',
        'runs',
        'wall s',
        'MiB/s',
        'peak RSS MiB',
        'max RSS',
        'start s',
        'inspect s',
        'upload s',
        'push+exit s',
        'failed parts',
        'ok',
      ],
      ...rows(samples),
    ]),
  );
  console.log();
  console.log(
    'wall = spawn → exit of the child; MiB/s = size / wall; medians. Action only: start = spawn → first log line, ' +
      'inspect = "read in X s", upload = "Uploaded … in Y s" (HEAD + multipart), push+exit = that line → exit; ' +
      'failed parts = UploadPart requests the emulator did not answer 200 (aborted by the client, then sent again).',
  );
  console.log('goal: action no slower than esdk-obs-nodejs; peak RSS < 100 MiB, the same at 1 and 4 GiB');
  console.log(`at the end: ${loadNote()}`);
}

await main();
