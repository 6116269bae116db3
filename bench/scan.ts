/**
 * How fast is the single read pass of scanFile, and what does it cost in memory?
 *
 *   npx tsx bench/scan.ts [sizeMiB=1024] [rounds=2]
 *
 * Creates a tar-like temp file (entries of 8 MiB with real headers), then runs each variant in
 * its own child process (so peak RSS is per variant) and prints MiB/s and peak RSS. The file is
 * in the page cache when measured, as it is on a runner right after the tar was built.
 */

import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarInspector } from '../src/tar/inspect.js';
import { PartHasher } from '../src/tar/part-digests.js';
import { partSizeFor, planParts, SINGLE_PUT_LIMIT, scanFile } from '../src/tar/scan.js';
import { buildTar } from '../test/helpers/tar-builder.js';

const MiB = 1024 * 1024;

type Variant =
  | 'md5-only'
  | 'sha256-only'
  | 'stream-inline'
  | 'read-inline'
  | 'readahead-inline'
  | 'worker'
  | 'worker-scan';
const VARIANTS: Record<Variant, string> = {
  'md5-only': 'baseline: whole-file MD5 only (no parts, no tar), read-ahead loop',
  'sha256-only': 'baseline: whole-file SHA-256 only (no parts, no tar), read-ahead loop',
  'stream-inline': 'fs.createReadStream 1 MiB, tar + whole SHA-256 + part MD5 on the main thread',
  'read-inline': 'FileHandle.read loop 1 MiB (no read-ahead), all on the main thread',
  'readahead-inline': 'scanFile inline: read-ahead loop, all on the main thread',
  worker: 'scanFile worker: main = tar + SHA-256, worker thread = part MD5s; until the last part MD5',
  'worker-scan': 'the same, until scanFile returns (when the upload may start: part MD5s still coming)',
};

async function runVariant(variant: Variant, path: string): Promise<void> {
  const started = performance.now();
  let size = 0;
  switch (variant) {
    case 'md5-only':
    case 'sha256-only': {
      const handle = await open(path, 'r');
      const hash = createHash(variant === 'md5-only' ? 'md5' : 'sha256');
      const buf = Buffer.allocUnsafe(MiB);
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, MiB, null);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        size += bytesRead;
      }
      hash.digest();
      await handle.close();
      break;
    }
    case 'stream-inline':
    case 'read-inline': {
      const handle = await open(path, 'r');
      size = (await handle.stat()).size;
      const inspector = new TarInspector({ strictLayout: true });
      const whole = createHash('sha256');
      const parts = new PartHasher(planParts(size));
      const consume = (chunk: Buffer) => {
        inspector.write(chunk);
        whole.update(chunk);
        if (size > SINGLE_PUT_LIMIT) parts.update(chunk);
      };
      if (variant === 'stream-inline') {
        await handle.close();
        for await (const chunk of createReadStream(path, { highWaterMark: MiB })) consume(chunk as Buffer);
      } else {
        const buf = Buffer.allocUnsafe(MiB);
        for (;;) {
          const { bytesRead } = await handle.read(buf, 0, MiB, null);
          if (bytesRead === 0) break;
          consume(buf.subarray(0, bytesRead));
        }
        await handle.close();
      }
      const report = inspector.end();
      if (report.problems.length) throw new Error(JSON.stringify(report.problems));
      whole.digest();
      parts.finish();
      break;
    }
    case 'readahead-inline':
    case 'worker':
    case 'worker-scan': {
      const scan = await scanFile(path, {
        strictLayout: true,
        partHashing: variant === 'readahead-inline' ? 'inline' : 'worker',
      });
      size = scan.size;
      if (variant === 'worker')
        await Promise.all(scan.parts.map((p) => scan.partDigests.sha256Hex(p.partNumber)));
      await scan.partDigests.close();
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.send!({ mibPerS: size / MiB / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 });
}

/** A tar of `sizeMiB` MiB: 8 MiB entries under data/, bodies from one random MiB. */
async function makeTar(path: string, sizeMiB: number): Promise<void> {
  const handle = await open(path, 'w');
  const random = Buffer.from(createHash('sha512').update('bench').digest());
  const body = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += random.length) random.copy(body, i);
  const entryMiB = 8;
  const header = (name: string) =>
    buildTar([{ path: name, size: entryMiB * MiB, content: Buffer.alloc(0) }], { endBlocks: 0 });
  await handle.write(buildTar([{ path: 'data/', type: 'directory' }], { endBlocks: 0 }));
  let written = 512;
  for (let n = 0; written + 512 + entryMiB * MiB + 1024 <= sizeMiB * MiB; n++) {
    await handle.write(header(`data/blob-${n}.bin`));
    for (let m = 0; m < entryMiB; m++) {
      body.writeUInt32LE(n * entryMiB + m, 0);
      await handle.write(body);
    }
    written += 512 + entryMiB * MiB;
  }
  await handle.write(Buffer.alloc(sizeMiB * MiB - written));
  await handle.close();
}

function runChild(variant: Variant, path: string): Promise<{ mibPerS: number; peakRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--variant', variant, path], { stdio: 'inherit' });
    child.once('message', (m) => resolve(m as { mibPerS: number; peakRssMiB: number }));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${variant} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === '--variant') {
    await runVariant(process.argv[3] as Variant, process.argv[4]!);
    return;
  }
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const rounds = Number(process.argv[3] ?? 2);
  const dir = await mkdtemp(join(tmpdir(), 'cph-scan-bench-'));
  const path = join(dir, 'bench.tar');
  try {
    await makeTar(path, sizeMiB);
    await runChild('md5-only', path); // warm the page cache
    console.log(`file: ${sizeMiB} MiB, part size ${partSizeFor(sizeMiB * MiB) / MiB} MiB, best of ${rounds}`);
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      let best = { mibPerS: 0, peakRssMiB: 0 };
      for (let r = 0; r < rounds; r++) {
        const result = await runChild(variant, path);
        if (result.mibPerS > best.mibPerS) best = result;
      }
      console.log(
        `${variant.padEnd(17)} ${best.mibPerS.toFixed(0).padStart(5)} MiB/s  peak RSS ${best.peakRssMiB.toFixed(0).padStart(4)} MiB  — ${VARIANTS[variant]}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
