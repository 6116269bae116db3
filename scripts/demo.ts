/**
 * `npm run demo`: the action's main job against the local emulator, end to end.
 *
 * Starts the emulator of CPH, IAM and OBS on a loopback port and publishes two releases of a
 * sample bundle (data/ and cache/) with a release ledger and `prune`, running the bundled
 * dist/index.js exactly as a runner would (on Node 24, INPUT_* variables, GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY, RUNNER_TEMP):
 * 1.2.3, then 1.2.4, which drops a file. It shows the outputs, the job summary (with what the
 * fleet held before) and what each emulated phone holds after each release: the dropped file is
 * gone from every phone.
 *
 * `npm run demo -- --keyless` signs in without keys instead: the emulator plays GitHub's ID-token
 * service too, and the action exchanges the job's ID token with IAM (identity provider
 * `github-actions`) for temporary credentials. No AK/SK is given to the action.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  DEFAULT_IDENTITY_PROVIDER_ID,
  DEFAULT_PROJECT_ID,
  DEFAULT_REGION,
  startEmulator,
} from '../test/emulator/index.js';
import { inputEnv, parseOutputFile } from '../test/helpers/run-action.js';
import { buildTar } from '../test/helpers/tar-builder.js';

const { values: flags } = parseArgs({ options: { keyless: { type: 'boolean', default: false } } });
const keyless = flags.keyless === true;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, '.tmp', 'demo');
const entry = path.join(root, 'dist', 'index.js');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

if (!existsSync(entry)) {
  console.error('dist/index.js is missing: run `npm run bundle` first.');
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(path.join(work, 'phones'), { recursive: true });
// The report file goes to RUNNER_TEMP, as on a runner; without it, to the machine's temp dir.
const runnerTemp = path.join(work, 'runner-temp');
mkdirSync(runnerTemp);

/**
 * The runtime of `runs.using: node24`: this Node when it is 24 or newer, else Node 24 from the npm
 * registry through npx (cached after the first time), as scripts/test.mjs does for the tests.
 */
function node24(): string {
  if (Number(process.versions.node.split('.')[0]) >= 24) return process.execPath;
  console.log(bold(`Node ${process.versions.node} here; the action runs on Node 24: npx -y -p node@24 …`));
  const out = execFileSync('npx', ['-y', '-p', 'node@24', '--', 'node', '-p', 'process.execPath'], {
    encoding: 'utf8',
    // npx is npx.cmd on Windows, which only a shell can start.
    shell: process.platform === 'win32',
  });
  return out.trim().split(/\r?\n/).pop() as string;
}
const node = node24();

// A sample bundle as a game team would build it: only data/ and cache/ at the top. 1.2.4 drops
// the old intro video, which a publish without `prune` would leave on every phone for ever.
const releases = {
  '1.2.3': buildTar([
    { path: 'data/', type: 'directory' },
    { path: 'data/local/', type: 'directory' },
    { path: 'data/local/game/', type: 'directory' },
    { path: 'data/local/game/config.json', content: '{"version":"1.2.3","server":"eu-1"}\n' },
    { path: 'data/local/game/levels.bin', content: Buffer.alloc(256 * 1024, 7) },
    { path: 'data/local/game/intro-2025.mp4', content: Buffer.alloc(64 * 1024, 1) },
    { path: 'cache/', type: 'directory' },
    { path: 'cache/shaders.cache', content: 'precompiled shaders\n' },
  ]),
  '1.2.4': buildTar([
    { path: 'data/', type: 'directory' },
    { path: 'data/local/', type: 'directory' },
    { path: 'data/local/game/', type: 'directory' },
    { path: 'data/local/game/config.json', content: '{"version":"1.2.4","server":"eu-1"}\n' },
    { path: 'data/local/game/levels.bin', content: Buffer.alloc(300 * 1024, 8) },
    { path: 'cache/', type: 'directory' },
    { path: 'cache/shaders.cache', content: 'precompiled shaders, 1.2.4\n' },
  ]),
};
for (const [version, tar] of Object.entries(releases))
  writeFileSync(path.join(work, `game-${version}.tar`), tar);

const servers = ['phone-a01', 'phone-a02', 'phone-b01', 'phone-b02', 'phone-c01'];
// A fleet for the pre-flight check: the five servers, running, on a flavor with shared storage.
const emulator = await startEmulator({
  phonesDir: path.join(work, 'phones'),
  defaultJobDurationMs: 1500,
  servers: servers.map((id) => ({
    server_id: id,
    server_name: `game-${id}`,
    phone_model_name: 'cph.shared',
    status: 5,
  })),
  phoneModels: [{ phone_model_name: 'cph.shared', extend_spec: '{"max_share_disk_size_g":64}' }],
});
console.log(bold(`Emulator of CPH, IAM and OBS listening on ${emulator.url}`));
if (keyless) {
  const provider = emulator.federation.providers[0];
  console.log(
    bold(
      `Keyless: GitHub's ID-token service emulated too; IAM identity provider ${provider?.id} ` +
        `(client ID ${provider?.clientId}, mapping rule on sub: ${JSON.stringify(provider?.rules[0]?.remote)})`,
    ),
  );
}

const signIn: Record<string, string> = keyless
  ? { 'identity-provider': DEFAULT_IDENTITY_PROVIDER_ID }
  : {
      'access-key-id': DEFAULT_CREDENTIALS.accessKeyId,
      'secret-access-key': DEFAULT_CREDENTIALS.secretAccessKey,
    };

/** One workflow run publishing `version`, as the runner would start it. */
async function publish(version: keyof typeof releases): Promise<number | null> {
  const outputFile = path.join(work, `github-output-${version}`);
  const summaryFile = path.join(work, `step-summary-${version}.md`);
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const tarFile = path.join(work, `game-${version}.tar`);
  const inputs: Record<string, string> = {
    region: DEFAULT_REGION,
    ...signIn,
    bucket: DEFAULT_BUCKET,
    'object-path': `releases/game-${version}.tar`,
    file: tarFile,
    'server-ids': servers.join('\n'),
    // The release ledger: what each phone holds; prune deletes what the new release dropped.
    ledger: 'releases/ledger.json',
    prune: 'true',
    'poll-interval': '1',
    'cph-endpoint': emulator.url,
    'obs-endpoint': emulator.url,
    'iam-endpoint': emulator.url,
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: root,
    GITHUB_REF: `refs/tags/v${version}`,
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_REPOSITORY: 'example/game',
    GITHUB_RUN_ID: version === '1.2.3' ? '1001' : '1002',
    GITHUB_RUN_ATTEMPT: '1',
    // What the runner sets for a job with `permissions: id-token: write`.
    ...(keyless ? emulator.idTokenEnv : {}),
    // INPUT_<NAME>, upper case with the hyphens kept, as the runner names them.
    ...inputEnv(inputs),
  };
  console.log(
    bold(
      `\n$ node dist/index.js   (Node ${execFileSync(node, ['-v'], { encoding: 'utf8' }).trim()}, release ${version}: file ${path.relative(root, tarFile)}, ${servers.length} servers, ` +
        `ledger releases/ledger.json, prune, ${keyless ? 'signed in without keys' : 'signed in with AK/SK'})\n`,
    ),
  );
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(node, [entry], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('close', resolve);
  });
  console.log(bold(`\nExit code: ${code}`));
  console.log(bold('\nOutputs:'));
  for (const [name, value] of Object.entries(parseOutputFile(readFileSync(outputFile, 'utf8')))) {
    console.log(`  ${name} = ${value}`);
  }
  console.log(bold(`\nJob summary (${path.relative(root, summaryFile)}):\n`));
  console.log(readFileSync(summaryFile, 'utf8'));
  console.log(bold(`What each emulated phone holds after ${version}:`));
  for (const server of servers) {
    const files = emulator.storage.entries(server).filter((e) => e.type !== 'dir');
    console.log(
      `  ${server}: ${files.length ? files.map((f) => `${f.path} (${f.size} bytes)`).join(', ') : '(nothing)'}`,
    );
  }
  return code;
}

const first = await publish('1.2.3');
const second = first === 0 ? await publish('1.2.4') : first;
if (keyless) {
  const calls = emulator.requests
    .filter((r) =>
      ['GetIdToken', 'CreateUnscopedTokenWithIdToken', 'CreateTemporaryAccessKeyByToken'].includes(r.op),
    )
    .map((r) => `${r.op} → ${r.status}`);
  console.log(bold('\nSign-in requests (both runs):'));
  for (const call of calls) console.log(`  ${call}`);
  const signed = emulator.requests.filter((r) => r.credentialExpiresAt !== undefined).length;
  console.log(`  then ${signed} requests signed with the temporary credentials`);
}
const deletes = emulator.requestsFor('DeleteShareFiles').map((r) => JSON.stringify(r.body));
console.log(bold(`\nDeleteShareFiles calls: ${deletes.length}`));
for (const body of deletes) console.log(`  ${body}`);
await emulator.close();

console.log(bold('\nUnpacked on disk (phonesDir):'));
const walk = (dir: string, prefix: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory()
        ? walk(full, `${prefix}${name}/`)
        : [`${prefix}${name} (${statSync(full).size} bytes)`];
    });
for (const server of servers) {
  const dir = path.join(work, 'phones', server);
  const files = existsSync(dir) ? walk(dir, '/') : [];
  console.log(`  ${server}: ${files.length ? files.join(', ') : '(nothing)'}`);
}
console.log(
  `\nProject id used: ${DEFAULT_PROJECT_ID} (the emulator's). Files kept in ${path.relative(root, work)}/`,
);
process.exit(second ?? 1);
