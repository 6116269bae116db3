/**
 * Child process of bench/upload.ts's link models: the action's own scan and upload (tar check,
 * SHA-256, part SHA-256s in a worker, multipart with `upload-concurrency`), without sign-in or
 * push, so `auto` can be measured whatever the inputs accept. Bundled with ncc before use, so no
 * TypeScript loader sits in the measured CPU time and RSS.
 *   node upload-child.js '<json: server, accessKeyId, secretAccessKey, bucket, key, file, concurrency>'
 * Prints each "Upload: …" line with the seconds since the start, then one JSON line.
 */
import { staticCredentials } from '../../src/auth/credentials.js';
import { createDispatcher } from '../../src/http/transport.js';
import { ObsClient } from '../../src/huawei/obs.js';
import { Redactor } from '../../src/redact.js';
import { scanFile } from '../../src/tar/scan.js';
import { uploadFile } from '../../src/upload/upload.js';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  server: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  key: string;
  file: string;
  concurrency: number | 'auto';
};
const started = performance.now();
const at = () => ((performance.now() - started) / 1000).toFixed(2);
const obs = new ObsClient(
  {
    dispatcher: createDispatcher(),
    credentials: staticCredentials({ accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }),
    redactor: new Redactor(),
    timeoutMs: 120_000,
    retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 2000 },
    userAgent: 'cph-publish-bench',
  },
  { endpoint: new URL(o.server), bucket: o.bucket },
);
async function main(): Promise<void> {
  const scan = await scanFile(o.file, { strictLayout: true });
  const scanS = (performance.now() - started) / 1000;
  const result = await uploadFile(
    obs,
    { path: o.file, key: o.key, scan, skipUnchanged: false, concurrency: o.concurrency },
    {
      log: (line) => console.log(`${at()} ${line}`),
      warn: (line) => console.log(`${at()} warning: ${line}`),
    },
  );
  console.log(
    JSON.stringify({ scanS, uploadS: result.seconds, parts: result.parts, peak: result.peakInFlight }),
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
