/**
 * Run the emulator as a process:
 *   node --import tsx test/emulator/cli.ts [--port N] [--config file.json] [--phones-dir DIR]
 * Prints one JSON line `{"url", "port", "projectId", "region", "bucket", "accessKeyId",
 * "secretAccessKey", "idTokenRequestUrl", "idTokenRequestToken", "identityProvider"}` on stdout
 * when ready; SIGINT/SIGTERM close it. The config file is the JSON
 * form of EmulatorOptions (a fault's `"times": null` means Infinity).
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
  startEmulator,
} from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    config: { type: 'string' },
    'phones-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write('usage: cli.ts [--port N] [--config file.json] [--phones-dir DIR]\n');
  process.exit(0);
}

const options: EmulatorOptions = values.config
  ? (JSON.parse(readFileSync(values.config, 'utf8')) as EmulatorOptions)
  : {};
if (values.port !== undefined) {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: not a port number: ${values.port}\n`);
    process.exit(2);
  }
  options.port = port;
}
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
  })}\n`,
);
