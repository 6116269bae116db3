/**
 * Child process of bench/upload.ts's link models: the action's own check and upload in the
 * action's order (tar check; the SHA-256s on two worker threads while `before` HEAD requests go
 * out one after the other, standing for sign-in, project id and choosing servers, which the
 * link's answer delay makes as slow as it makes any request; then the wait for the whole-file
 * SHA-256 and the multipart upload with `upload-concurrency`), without the push, so `auto` can
 * be measured whatever the inputs accept. Bundled with ncc before use, so no TypeScript loader
 * sits in the measured CPU time and RSS.
 *   node upload-child.js '<json: server, accessKeyId, secretAccessKey, bucket, key, file, concurrency, before>'
 * Prints each "Upload: …" line with the seconds since the start, then one JSON line.
 */
import { staticCredentials } from '../../src/auth/credentials.js';
import { createDispatcher } from '../../src/http/transport.js';
import { ObsClient } from '../../src/huawei/obs.js';
import { Redactor } from '../../src/redact.js';
import { checkFile, completeScan } from '../../src/tar/scan.js';
import { uploadFile } from '../../src/upload/upload.js';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  server: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  key: string;
  file: string;
  concurrency: number | 'auto';
  before?: number;
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
  const checked = await checkFile(o.file, { strictLayout: true });
  const checkS = (performance.now() - started) / 1000;
  for (let i = 0; i < (o.before ?? 0); i++) await obs.headObject(o.key);
  const waitFrom = performance.now();
  const scan = await completeScan(checked);
  const waitS = (performance.now() - waitFrom) / 1000;
  const result = await uploadFile(
    obs,
    { path: o.file, key: o.key, scan, skipUnchanged: false, concurrency: o.concurrency },
    {
      log: (line) => console.log(`${at()} ${line}`),
      warn: (line) => console.log(`${at()} warning: ${line}`),
    },
  );
  console.log(
    JSON.stringify({
      checkS,
      waitS,
      uploadS: result.seconds,
      parts: result.parts,
      peak: result.peakInFlight,
    }),
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
