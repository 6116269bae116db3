/**
 * The emulator as a process (`npm run emulator -- …`, or `node --import ./test/emulator/register.mjs
 * test/emulator/cli.ts …`). Prints one JSON line when ready; SIGINT/SIGTERM close it. `--help`
 * describes every option and every key of the config file (the JSON form of EmulatorOptions);
 * test/emulator/example.json is a config to start from.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  type EmulatorOptions,
  STATE_PATH,
  startEmulator,
} from './index.js';

/** Every key of the config file, with its help line: the compiler wants one per EmulatorOptions key. */
const CONFIG_KEYS: Record<keyof EmulatorOptions, string> = {
  port: 'port to listen on (default 0: any free port; --port wins)',
  host: 'address to listen on (default 127.0.0.1; --host wins)',
  credentials: `accepted [{accessKeyId, secretAccessKey, securityToken?}] (default ${DEFAULT_CREDENTIALS.accessKeyId} and a temporary pair)`,
  projects: `IAM projects [{id, name: region}] (default ${DEFAULT_PROJECT_ID} named cn-east-3)`,
  buckets: `OBS buckets (default ["${DEFAULT_BUCKET}"])`,
  servers:
    'the fleet ListCloudPhoneServers lists: [{server_id, server_name, phone_model_name, status: 5 running | 10 shut down | …}]; ' +
    'with a fleet, a push to an id not in it is refused, to a server not running or without shared storage fails its job',
  phoneModels:
    'flavors ListCloudPhoneModels lists: [{phone_model_name, extend_spec: "{\\"max_share_disk_size_g\\":64}"}] (no max_share_disk_size_g: no shared storage)',
  phones:
    'how servers react to a push, by server id: {outcome: success|failure|stuck, failure: {error_code, error_msg}, durationMs, reject: {error_code, error_msg}, omit, hiddenFromList, runningStatus}',
  defaultPhone: 'the same, for every server not in phones',
  defaultJobDurationMs: 'how long a push job runs, ms (default 300)',
  requireObject: 'a job fails when the pushed object is not in the bucket (default true)',
  phonesDir: 'unpack each pushed tar into DIR/<server_id>/ when its job ends (--phones-dir wins)',
  dataDir: 'parent directory of the object data (default the temp dir; removed on close)',
  discardObjectData: 'hash and count object bodies, keep no bytes (benchmarks)',
  clockSkewMs: "the emulator's clock minus the real one, ms (signature date checks)",
  echoCanonicalRequest: 'put the canonical request / string to sign in signature errors, as the services may',
  faults:
    'fault rules, used in order: [{op: "PushShareFiles" | [ops] | "*", times: N | null (for ever), partNumber?, ' +
    'action: {kind: "status", status, body?, headers?} | {kind: "delay", ms} | {kind: "drop"} | {kind: "drop-after"} | ' +
    '{kind: "refuse", ms} | {kind: "refuse-after", ms}}]; "{{request_id}}" in a body becomes the request id',
  keepAliveTimeoutMs: 'idle keep-alive timeout of the server, ms (default 15000)',
  authLockoutThreshold:
    'lock an AK for 5 minutes after this many APIG auth failures in a row (default 0: off)',
  minPartSize: 'smallest multipart part but the last, bytes (default 102400)',
  listUploadsPageSize: 'uploads per ListMultipartUploads page (default 1000)',
  throttle: 'a long link: {bytesPerSecond, answerDelayMs} per OBS connection',
  identityProviders:
    'IAM identity providers for keyless sign-in (default one, github-actions; see README.md)',
  credentialsLifetimeMs: 'lifetime of temporary credentials from securitytokens, ms (default: as asked)',
  idTokenLifetimeMs: "lifetime of GitHub's ID tokens, ms (default 5 minutes)",
  unscopedTokenLifetimeMs: 'lifetime of IAM unscoped tokens, ms (default 24 hours)',
};

const OPTIONS = {
  port: { type: 'string', help: 'port to listen on (default 0: any free port)' },
  host: { type: 'string', help: 'address to listen on (default 127.0.0.1)' },
  config: { type: 'string', help: 'a JSON file of the keys below (example: test/emulator/example.json)' },
  'phones-dir': { type: 'string', help: 'unpack each pushed tar into DIR/<server_id>/ when its job ends' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
} as const;

export function usage(): string {
  const width = Math.max(...Object.keys(CONFIG_KEYS).map((k) => k.length));
  const flags: Record<string, string> = {
    port: '--port N',
    host: '--host ADDR',
    config: '--config FILE',
    'phones-dir': '--phones-dir DIR',
    help: '--help, -h',
  };
  return [
    'usage: npm run emulator -- [--port N] [--host ADDR] [--config FILE] [--phones-dir DIR]',
    '',
    "A local emulator of Huawei Cloud CPH, IAM and OBS (and GitHub's ID-token service) on one HTTP origin:",
    'point cph-endpoint, obs-endpoint and iam-endpoint at its url. When ready it prints one JSON line:',
    'url, port, projectId, region, bucket, accessKeyId, secretAccessKey (its own fake keys), the keyless',
    'sign-in variables (idTokenRequestUrl, idTokenRequestToken, identityProvider) and stateUrl.',
    `GET ${STATE_PATH} shows what it holds: requests, objects and open multipart uploads per bucket,`,
    "pushes, each server's jobs and the objects pushed to it, pending faults (?requests=N|all: how many",
    'of the latest requests to list, default 50). SIGINT or SIGTERM stops it.',
    '',
    'Options:',
    ...Object.entries(OPTIONS).map(([name, o]) => `  ${(flags[name] ?? name).padEnd(18)} ${o.help}`),
    '',
    'Config file keys (all optional; unknown keys are refused, keys starting with "$" are comments):',
    ...Object.entries(CONFIG_KEYS).map(([key, help]) => `  ${key.padEnd(width)}  ${help}`),
    '',
    'Example: npm run emulator -- --port 8787 --config test/emulator/example.json --phones-dir .tmp/phones',
    'Running dist/index.js against it by hand: CONTRIBUTING.md, "Run the action by hand".',
    '',
  ].join('\n');
}

/** The config file as EmulatorOptions, or an error naming the file and what is wrong. */
export function readConfig(file: string): EmulatorOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--config ${file}: expected a JSON object of emulator options`);
  }
  const unknown = Object.keys(parsed).filter(
    (key) => !key.startsWith('$') && !Object.hasOwn(CONFIG_KEYS, key),
  );
  if (unknown.length > 0) {
    throw new Error(
      `--config ${file}: unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.join(', ')} ` +
        '(npm run emulator -- --help lists the keys)',
    );
  }
  return Object.fromEntries(
    Object.entries(parsed).filter(([key]) => !key.startsWith('$')),
  ) as EmulatorOptions;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { port?: string; host?: string; config?: string; 'phones-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: OPTIONS }));
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${usage()}`);
  }
  if (values.help) {
    process.stdout.write(usage());
    process.exit(0);
  }

  let options: EmulatorOptions = {};
  if (values.config) {
    try {
      options = readConfig(values.config);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
  }
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      fail(`--port: not a port number: ${values.port}`);
    options.port = port;
  }
  if (values.host) options.host = values.host;
  if (values['phones-dir']) options.phonesDir = resolve(values['phones-dir']);

  // Handlers first, so a signal during start-up still ends the process cleanly.
  let emulator: Emulator | undefined;
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    (emulator?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`emulator close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  emulator = await startEmulator(options);
  const credentials = options.credentials ?? [DEFAULT_CREDENTIALS];
  process.stdout.write(
    `${JSON.stringify({
      url: emulator.url,
      port: emulator.port,
      projectId: emulator.projects[0]?.id ?? DEFAULT_PROJECT_ID,
      region: emulator.projects[0]?.name,
      bucket: options.buckets?.[0] ?? DEFAULT_BUCKET,
      // The emulator's own fake keys, printed so a demo or script can configure a client.
      accessKeyId: credentials[0]?.accessKeyId,
      secretAccessKey: credentials[0]?.secretAccessKey,
      // Keyless sign-in: what a job with `permissions: id-token: write` finds in its environment.
      idTokenRequestUrl: emulator.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_URL,
      idTokenRequestToken: emulator.idTokenEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
      identityProvider: emulator.federation.providers[0]?.id,
      stateUrl: `${emulator.url}${STATE_PATH}`,
    })}\n`,
  );
}

// Run only as the program, not when a test imports usage() or readConfig().
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
