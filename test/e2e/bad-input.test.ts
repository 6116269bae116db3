/**
 * Hostile and malformed inputs, across every input of action.yml, against dist/index.js: each is
 * refused with a non-zero exit before any request, and the failure line names the input (and
 * never shows a secret). The rows run four at a time against one emulator, whose recording must
 * stay empty. Parser property tests live in test/unit/inputs/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapPool } from '../../src/util/pool.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, OBJECT, run } from '../helpers/action-fixture.js';
import type { ActionRun } from '../helpers/run-action.js';
import { REPO_ROOT } from '../helpers/run-action.js';

interface Row {
  /** What is wrong, for the test name. */
  name: string;
  /** The inputs named in the failure line (`input '<name>'`). */
  names: string[];
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  /** Values that must appear nowhere in what the action wrote (secrets, URL passwords). */
  hidden?: string[];
}

const dir = mkdtempSync(path.join(tmpdir(), 'cph-bad-input-e2e-'));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const TAR = file('ok.tar', '');

const ROWS: Row[] = [
  // region
  { name: "region in upper case 'CN-EAST-3'", names: ['region'], inputs: { region: 'CN-EAST-3' } },
  { name: "region with underscores 'cn_east_3'", names: ['region'], inputs: { region: 'cn_east_3' } },
  { name: "region without dashes 'cneast3'", names: ['region'], inputs: { region: 'cneast3' } },
  { name: 'region missing from inputs and environment', names: ['region'], inputs: { region: '' } },
  {
    name: 'region from HUAWEI_CLOUD_REGION with spaces',
    names: ['region'],
    inputs: { region: '' },
    env: { HUAWEI_CLOUD_REGION: 'eu west 1' },
  },
  // project-id
  {
    name: 'project-id in upper-case hex',
    names: ['project-id'],
    inputs: { 'project-id': 'ABCDEF0123456789ABCDEF0123456789' },
  },
  {
    name: 'project-id of 31 hex digits',
    names: ['project-id'],
    inputs: { 'project-id': '0123456789abcdef0123456789abcde' },
  },
  {
    name: 'project-id from HUAWEI_CLOUD_PROJECT_ID that is no id',
    names: ['project-id'],
    inputs: { 'project-id': '' },
    env: { HUAWEI_CLOUD_PROJECT_ID: 'my-project' },
  },
  // credentials
  {
    name: 'access-key-id with a space',
    names: ['access-key-id'],
    inputs: { 'access-key-id': 'AK WITH SPACE' },
  },
  {
    name: 'access-key-id with a non-ASCII letter',
    names: ['access-key-id'],
    inputs: { 'access-key-id': 'AKÉ0000001' },
  },
  { name: 'access-key-id missing everywhere', names: ['access-key-id'], inputs: { 'access-key-id': '' } },
  {
    name: 'secret-access-key with a space',
    names: ['secret-access-key'],
    inputs: { 'secret-access-key': 'bad secret with-space-do-not-log' },
    hidden: ['bad secret with-space-do-not-log'],
  },
  {
    name: 'secret-access-key over two lines',
    names: ['secret-access-key'],
    inputs: { 'secret-access-key': 'first-line-of-secret-do-not-log\nsecond-line-of-secret-do-not-log' },
    hidden: ['first-line-of-secret-do-not-log', 'second-line-of-secret-do-not-log'],
  },
  {
    name: 'secret-access-key from HUAWEICLOUD_SDK_SK with a control character',
    names: ['secret-access-key'],
    inputs: { 'secret-access-key': '' },
    env: { HUAWEICLOUD_SDK_SK: 'sdk-secret\u0007bell-do-not-log' },
    hidden: ['sdk-secret\u0007bell-do-not-log', 'bell-do-not-log'],
  },
  {
    name: 'secret-access-key missing everywhere',
    names: ['secret-access-key'],
    inputs: { 'secret-access-key': '' },
  },
  {
    name: 'security-token with a space',
    names: ['security-token'],
    inputs: { 'security-token': 'token with-space-do-not-log' },
    hidden: ['token with-space-do-not-log'],
  },
  {
    name: 'security-token with a tab',
    names: ['security-token'],
    inputs: { 'security-token': 'token\twith-tab-do-not-log' },
    hidden: ['token\twith-tab-do-not-log', 'with-tab-do-not-log'],
  },
  // bucket
  { name: "bucket too short 'ab'", names: ['bucket'], inputs: { bucket: 'ab' } },
  { name: 'bucket of 64 characters', names: ['bucket'], inputs: { bucket: 'b'.repeat(64) } },
  { name: "bucket starting with '-'", names: ['bucket'], inputs: { bucket: '-bucket' } },
  { name: "bucket ending with '-'", names: ['bucket'], inputs: { bucket: 'bucket-' } },
  { name: "bucket with '..'", names: ['bucket'], inputs: { bucket: 'my..bucket' } },
  { name: 'bucket shaped like an IP address', names: ['bucket'], inputs: { bucket: '192.168.1.1' } },
  { name: 'bucket missing', names: ['bucket'], inputs: { bucket: '' } },
  // object-path
  {
    name: 'object-path not ending in .tar',
    names: ['object-path'],
    inputs: { 'object-path': 'releases/app.zip' },
  },
  { name: "object-path with '..'", names: ['object-path'], inputs: { 'object-path': 'releases/../app.tar' } },
  {
    name: 'object-path with an empty segment',
    names: ['object-path'],
    inputs: { 'object-path': 'releases//app.tar' },
  },
  {
    name: 'object-path given as obs:// URL',
    names: ['object-path'],
    inputs: { 'object-path': 'obs://cph-bucket/app.tar' },
  },
  { name: 'object-path with a space', names: ['object-path'], inputs: { 'object-path': 'app name.tar' } },
  { name: 'object-path with a newline', names: ['object-path'], inputs: { 'object-path': 'app\nx.tar' } },
  {
    name: 'object-path of 1025 characters',
    names: ['object-path'],
    inputs: { 'object-path': `${'x'.repeat(1021)}.tar` },
  },
  { name: 'object-path missing', names: ['object-path'], inputs: { 'object-path': '' } },
  // file
  { name: 'file that does not exist', names: ['file'], inputs: { file: path.join(dir, 'missing.tar') } },
  { name: 'file that is a directory', names: ['file'], inputs: { file: dir } },
  { name: 'file that is a device', names: ['file'], inputs: { file: '/dev/null' } },
  // server-ids and server-ids-file
  { name: 'server-ids with an underscore', names: ['server-ids'], inputs: { 'server-ids': 'srv-1,srv_2' } },
  { name: 'server-ids of 33 characters', names: ['server-ids'], inputs: { 'server-ids': 's'.repeat(33) } },
  { name: 'server-ids only separators, no file', names: ['server-ids'], inputs: { 'server-ids': ' , ,\n' } },
  {
    name: 'server-ids-file that does not exist',
    names: ['server-ids-file'],
    inputs: { 'server-ids': '', 'server-ids-file': path.join(dir, 'missing.txt') },
  },
  {
    name: 'server-ids-file with invalid JSON',
    names: ['server-ids-file'],
    inputs: { 'server-ids': '', 'server-ids-file': file('broken.json', '[ "srv-1", ') },
  },
  {
    name: 'server-ids-file with an unknown JSON shape',
    names: ['server-ids-file'],
    inputs: { 'server-ids': '', 'server-ids-file': file('shape.json', '{"servers":[{"id":"srv-1"}]}') },
  },
  {
    name: 'server-ids-file with a bad id on line 2',
    names: ['server-ids-file'],
    inputs: { 'server-ids': '', 'server-ids-file': file('bad.txt', 'srv-1\nsrv-2 srv!3\n') },
  },
  {
    name: 'server-ids-file with only comments, and no server-ids',
    names: ['server-ids'],
    inputs: { 'server-ids': '', 'server-ids-file': file('empty.txt', '# nothing here\n\n') },
  },
  // numbers
  // identity-provider, audience
  {
    name: 'identity-provider with a slash',
    names: ['identity-provider'],
    inputs: { 'identity-provider': 'idp/x', 'access-key-id': '', 'secret-access-key': '' },
  },
  {
    name: 'identity-provider together with the key inputs',
    names: ['identity-provider'],
    inputs: { 'identity-provider': 'github' },
  },
  {
    name: 'audience with a space',
    names: ['audience'],
    inputs: {
      'identity-provider': 'github',
      audience: 'my client',
      'access-key-id': '',
      'secret-access-key': '',
    },
  },
  {
    name: 'identity-provider of 65 characters',
    names: ['identity-provider'],
    inputs: { 'identity-provider': 'g'.repeat(65), 'access-key-id': '', 'secret-access-key': '' },
  },
  {
    name: 'identity-provider with a non-ASCII letter',
    names: ['identity-provider'],
    inputs: { 'identity-provider': 'githüb', 'access-key-id': '', 'secret-access-key': '' },
  },
  {
    name: 'identity-provider together with security-token only (its value never shown)',
    names: ['identity-provider'],
    inputs: {
      'identity-provider': 'github',
      'access-key-id': '',
      'secret-access-key': '',
      'security-token': 'a-security-token-that-must-not-show-0123456789',
    },
    hidden: ['a-security-token-that-must-not-show-0123456789'],
  },
  {
    name: 'audience of 256 characters',
    names: ['audience'],
    inputs: {
      'identity-provider': 'github',
      audience: 'a'.repeat(256),
      'access-key-id': '',
      'secret-access-key': '',
    },
  },
  {
    name: 'audience with a non-ASCII character',
    names: ['audience'],
    inputs: {
      'identity-provider': 'github',
      audience: 'clïent',
      'access-key-id': '',
      'secret-access-key': '',
    },
  },
  {
    name: 'identity-provider and audience bad at once: both named',
    names: ['identity-provider', 'audience'],
    inputs: { 'identity-provider': 'a b', audience: 'x\ty', 'access-key-id': '', 'secret-access-key': '' },
  },
  // server-names, preflight, rollout, max-failures, upload-concurrency
  {
    name: "server-names pattern with a space 'game prod'",
    names: ['server-names'],
    inputs: { 'server-names': 'game prod' },
  },
  { name: 'server-names with a bare !', names: ['server-names'], inputs: { 'server-names': 'game-*, !' } },
  {
    name: 'server-names with only exclusions and no ids',
    names: ['server-names'],
    inputs: { 'server-names': '!game-01', 'server-ids': '' },
  },
  { name: "preflight 'yes'", names: ['preflight'], inputs: { preflight: 'yes' } },
  { name: "rollout stage '0'", names: ['rollout'], inputs: { rollout: '0, 10%' } },
  { name: "rollout stage '150%'", names: ['rollout'], inputs: { rollout: '1, 150%' } },
  { name: 'rollout that shrinks', names: ['rollout'], inputs: { rollout: '10%, 5%' } },
  { name: "rollout stage 'half'", names: ['rollout'], inputs: { rollout: 'half' } },
  { name: 'rollout of 11 stages', names: ['rollout'], inputs: { rollout: '1,2,3,4,5,6,7,8,9,10,11' } },
  { name: 'rollout with wait: false', names: ['rollout'], inputs: { rollout: '1', wait: 'false' } },
  { name: 'max-failures -1', names: ['max-failures'], inputs: { 'max-failures': '-1' } },
  { name: 'max-failures 101%', names: ['max-failures'], inputs: { 'max-failures': '101%' } },
  { name: "rollout stage '0%'", names: ['rollout'], inputs: { rollout: '0%' } },
  { name: 'rollout that shrinks in counts', names: ['rollout'], inputs: { rollout: '5, 3' } },
  {
    name: 'server-names pattern of 256 characters',
    names: ['server-names'],
    inputs: { 'server-names': `game-${'x'.repeat(251)}` },
  },
  { name: "server-names pattern with '/'", names: ['server-names'], inputs: { 'server-names': 'game/*' } },
  {
    name: 'server-names with only exclusions and no ids (two of them)',
    names: ['server-names'],
    inputs: { 'server-names': '!game-01\n!game-02', 'server-ids': '' },
  },
  { name: "max-failures 'a few'", names: ['max-failures'], inputs: { 'max-failures': 'a few' } },
  {
    name: 'max-failures 2.5 (a count must be whole)',
    names: ['max-failures'],
    inputs: { 'max-failures': '2.5' },
  },
  { name: 'upload-concurrency 0', names: ['upload-concurrency'], inputs: { 'upload-concurrency': '0' } },
  { name: 'upload-concurrency 65', names: ['upload-concurrency'], inputs: { 'upload-concurrency': '65' } },
  {
    name: "upload-concurrency 'AUTO' (only 'auto')",
    names: ['upload-concurrency'],
    inputs: { 'upload-concurrency': 'AUTO' },
  },
  {
    name: "server-names pattern with a full-width comma '游戏，生产'",
    names: ['server-names'],
    inputs: { 'server-names': '游戏，生产' },
  },
  // ledger, skip-current, prune
  {
    name: "ledger that is no .json 'state/ledger.tar'",
    names: ['ledger'],
    inputs: { ledger: 'state/ledger.tar' },
  },
  { name: 'ledger with a leading /', names: ['ledger'], inputs: { ledger: '/state/ledger.json' } },
  {
    name: 'ledger equal to object-path',
    names: ['ledger'],
    inputs: { ledger: 'releases/app.tar', 'object-path': 'releases/app.tar' },
  },
  {
    name: 'ledger with wait: false',
    names: ['ledger'],
    inputs: { ledger: 'state/ledger.json', wait: 'false' },
  },
  { name: "skip-current 'yes'", names: ['skip-current'], inputs: { 'skip-current': 'yes' } },
  { name: 'prune without ledger', names: ['prune'], inputs: { prune: 'true' } },
  { name: "prune 'on'", names: ['prune'], inputs: { prune: 'on', ledger: 'state/ledger.json' } },
  { name: 'batch-size 0', names: ['batch-size'], inputs: { 'batch-size': '0' } },
  { name: 'batch-size 1.5', names: ['batch-size'], inputs: { 'batch-size': '1.5' } },
  { name: "batch-size 'ten'", names: ['batch-size'], inputs: { 'batch-size': 'ten' } },
  { name: 'batch-size -1', names: ['batch-size'], inputs: { 'batch-size': '-1' } },
  { name: 'batch-size 1e2', names: ['batch-size'], inputs: { 'batch-size': '1e2' } },
  { name: 'wait-timeout 0', names: ['wait-timeout'], inputs: { 'wait-timeout': '0' } },
  { name: 'wait-timeout 21601', names: ['wait-timeout'], inputs: { 'wait-timeout': '21601' } },
  { name: "wait-timeout '10s'", names: ['wait-timeout'], inputs: { 'wait-timeout': '10s' } },
  { name: 'poll-interval 0', names: ['poll-interval'], inputs: { 'poll-interval': '0' } },
  { name: 'poll-interval 301', names: ['poll-interval'], inputs: { 'poll-interval': '301' } },
  { name: 'poll-interval 0x10', names: ['poll-interval'], inputs: { 'poll-interval': '0x10' } },
  // booleans
  { name: "wait 'yes'", names: ['wait'], inputs: { wait: 'yes' } },
  { name: "wait '1'", names: ['wait'], inputs: { wait: '1' } },
  {
    name: "strict-layout 'on' (without file: still validated)",
    names: ['strict-layout'],
    inputs: { 'strict-layout': 'on' },
  },
  {
    name: "skip-unchanged 'no' (without file: still validated)",
    names: ['skip-unchanged'],
    inputs: { 'skip-unchanged': 'no' },
  },
  { name: "dry-run 'tRue'", names: ['dry-run'], inputs: { 'dry-run': 'tRue' } },
  { name: "summary 'off'", names: ['summary'], inputs: { summary: 'off' } },
  // endpoints
  {
    name: 'cph-endpoint with ftp://',
    names: ['cph-endpoint'],
    inputs: { 'cph-endpoint': 'ftp://127.0.0.1:21' },
  },
  {
    name: 'cph-endpoint with a path',
    names: ['cph-endpoint'],
    inputs: { 'cph-endpoint': 'https://cph.example.com/v1' },
  },
  {
    name: 'cph-endpoint with a password in it (not shown)',
    names: ['cph-endpoint'],
    inputs: { 'cph-endpoint': 'https://user:url-password-do-not-log@cph.example.com' },
    hidden: ['url-password-do-not-log'],
  },
  { name: 'cph-endpoint that is no URL', names: ['cph-endpoint'], inputs: { 'cph-endpoint': 'not a url' } },
  {
    name: 'cph-endpoint http:// to a LAN address',
    names: ['cph-endpoint'],
    inputs: { 'cph-endpoint': 'http://192.168.0.10:8080' },
  },
  {
    name: 'obs-endpoint http:// to a private address',
    names: ['obs-endpoint'],
    inputs: { 'obs-endpoint': 'http://10.0.0.1:9000' },
  },
  {
    name: 'obs-endpoint with a query',
    names: ['obs-endpoint'],
    inputs: { 'obs-endpoint': 'https://obs.example.com?x=1' },
  },
  {
    name: 'obs-endpoint with a fragment',
    names: ['obs-endpoint'],
    inputs: { 'obs-endpoint': 'https://obs.example.com#top' },
  },
  {
    name: 'iam-endpoint http:// to a public host',
    names: ['iam-endpoint'],
    inputs: { 'iam-endpoint': 'http://iam.example.com' },
  },
  {
    name: 'iam-endpoint without a scheme',
    names: ['iam-endpoint'],
    inputs: { 'iam-endpoint': '//iam.example.com' },
  },
  {
    name: 'iam-endpoint http:// to 127.0.0.1 spelled as a host name',
    names: ['iam-endpoint'],
    inputs: { 'iam-endpoint': 'http://127.0.0.1.nip.io' },
  },
  // several at once, and with dry-run
  {
    name: 'bucket, batch-size and cph-endpoint bad at once: all three named in one line',
    names: ['bucket', 'batch-size', 'cph-endpoint'],
    inputs: { bucket: 'A', 'batch-size': '500', 'cph-endpoint': 'http://example.com' },
  },
  {
    name: 'a bad bucket with dry-run: true (a dry run validates too)',
    names: ['bucket'],
    inputs: { bucket: 'Bad_Bucket', 'dry-run': 'true', file: TAR },
  },
  // tuning knobs in the environment
  {
    name: "env CPH_PUBLISH_REQUEST_TIMEOUT_MS 'abc'",
    names: ['env CPH_PUBLISH_REQUEST_TIMEOUT_MS'],
    env: { CPH_PUBLISH_REQUEST_TIMEOUT_MS: 'abc' },
  },
  {
    name: 'env CPH_PUBLISH_MAX_ATTEMPTS 0',
    names: ['env CPH_PUBLISH_MAX_ATTEMPTS'],
    env: { CPH_PUBLISH_MAX_ATTEMPTS: '0' },
  },
  {
    name: 'a bad knob and a bad input at once: both named in one line',
    names: ['batch-size', 'env CPH_PUBLISH_RETRY_BASE_MS'],
    inputs: { 'batch-size': '0' },
    env: { CPH_PUBLISH_RETRY_BASE_MS: '60001' },
  },
];

let emu: Emulator;
let results: ActionRun[] = [];

beforeAll(async () => {
  emu = await startEmulator();
  results = await mapPool(ROWS, 4, (row) =>
    run({ inputs: baseInputs(emu, row.inputs ?? {}), ...(row.env ? { env: row.env } : {}) }),
  );
}, 180_000);
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('every input refuses malformed values before any request', () => {
  it('the table covers every input of action.yml', () => {
    const inputsSection =
      readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8').split(/^outputs:/m)[0] ?? '';
    const inputs = [...inputsSection.matchAll(/^ {2}([a-z-]+):\r?$/gm)].map((m) => m[1] as string);
    expect(inputs).toHaveLength(31);
    const covered = new Set(ROWS.flatMap((r) => r.names));
    expect(inputs.filter((name) => !covered.has(name))).toEqual([]);
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(ROWS.map((row, index) => [row.name, index] as const))('%s', (_name, index) => {
    const row = ROWS[index] as Row;
    const result = results[index] as ActionRun;
    expect(result.code, result.stdout).not.toBe(0);
    const line = failureLine(result);
    expect(line).toMatch(/^::error::cph-publish: invalid input — /);
    for (const name of row.names) expect(line).toContain(`input '${name}'`);
    for (const value of row.hidden ?? []) {
      expect(result.everything).not.toContain(value);
      expect(result.everything).not.toContain(encodeURIComponent(value));
    }
    // The step still reports: every output is set (empty), no job was started.
    expect(JSON.parse(result.outputs.jobs ?? 'null')).toEqual([]);
  });

  it('the emulator saw no request from any of the rows', () => {
    expect(results).toHaveLength(ROWS.length);
    expect(emu.requests).toEqual([]);
  });

  it('control: the same inputs without the fault do reach the emulator', async () => {
    emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
    const result = await run({ inputs: baseInputs(emu, { wait: 'false' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests.map((r) => r.op)).toEqual(['HeadObject', 'PushShareFiles']);
  });
});
