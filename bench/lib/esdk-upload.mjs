// Child process of bench/upload.ts: the official esdk-obs-nodejs `uploadFile` (whole-file MD5
// first, then multipart), plain JavaScript so that no TypeScript loader sits in the measured RSS.
//   node bench/lib/esdk-upload.mjs '<json: server, accessKeyId, secretAccessKey, bucket, key, file, partSize?, taskNum?, checkpointFile?, before?>'
// `before`: that many HEAD requests, one after the other, before the upload (the round trips a
// workflow makes before it uploads: sign-in, project id, choosing servers; see upload-child.ts).
// Without partSize and taskNum the SDK picks its defaults (5 MiB parts, TaskNum 20).
// With checkpointFile: EnableCheckpoint + EnableCheckSum; without: the SDK's plain uploadFile.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import ObsClient from 'esdk-obs-nodejs';

const o = JSON.parse(process.argv[2]);
const client = new ObsClient({
  access_key_id: o.accessKeyId,
  secret_access_key: o.secretAccessKey,
  server: o.server, // an IP literal: esdk switches to path-style (and AWS V2 signing) by itself
  is_cname: false,
  max_retry_count: 0,
});
// The constructor finishes asynchronously (its signature context is unset until then).
await new Promise((resolve) => setTimeout(resolve, 20));
// esdk-obs-nodejs 3.26.8 Utils.fileMD5 (lib/utils.js) feeds a Hash with update() and waits for
// its 'finish' event, which only end() would emit: EnableCheckSum never completes and the process
// exits with the upload pending (code 13). Same read and hash, finished on the stream's 'end'.
client.util.fileMD5 = (path, callback) => {
  const hash = createHash('md5');
  createReadStream(path)
    .on('data', (data) => hash.update(data))
    .on('end', () => callback(null, hash.digest('base64')))
    .on('error', (error) => callback(error));
};
const started = performance.now();
try {
  for (let i = 0; i < (o.before ?? 0); i++) await client.getObjectMetadata({ Bucket: o.bucket, Key: o.key });
  const result = await client.uploadFile({
    Bucket: o.bucket,
    Key: o.key,
    UploadFile: o.file,
    PartSize: o.partSize,
    TaskNum: o.taskNum,
    ContentType: 'application/x-tar',
    // EnableCheckSum takes effect only with a checkpoint: the SDK then hashes the whole file
    // (MD5) before the first part, and rewrites the checkpoint file after every part.
    ...(o.checkpointFile
      ? { EnableCheckpoint: true, CheckpointFile: o.checkpointFile, EnableCheckSum: true }
      : {}),
  });
  const status = result?.CommonMsg?.Status;
  console.log(JSON.stringify({ status, seconds: (performance.now() - started) / 1000 }));
  process.exitCode = status === 200 ? 0 : 1;
} catch (error) {
  console.error(`esdk uploadFile failed: ${error}`);
  process.exitCode = 1;
} finally {
  client.close();
}
