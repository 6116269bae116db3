/**
 * Shared set-up for end-to-end tests: an emulator, inputs pointing at it, and a
 * run wrapper that checks, on every run, that no secret reached anything the
 * action wrote.
 */
import { expect } from 'vitest';
import {
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  TEMP_CREDENTIALS,
} from '../emulator/index.js';
import { type ActionRun, type RunOptions, runAction } from './run-action.js';

export { DEFAULT_CREDENTIALS, DEFAULT_PROJECT_ID, TEMP_CREDENTIALS };

export const BUCKET = 'cph-bucket';
export const OBJECT = 'releases/game-1.2.3.tar';

export function serverIds(n: number, prefix = 'srv'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);
}

/** Inputs for a run against `emu` with the default credentials and no waiting delays beyond 1 s. */
export function baseInputs(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    region: 'cn-east-3',
    'project-id': DEFAULT_PROJECT_ID,
    'access-key-id': DEFAULT_CREDENTIALS.accessKeyId,
    'secret-access-key': DEFAULT_CREDENTIALS.secretAccessKey,
    bucket: BUCKET,
    'object-path': OBJECT,
    'server-ids': 'srv-0001,srv-0002,srv-0003',
    // The emulator has no fleet unless a test gives it one (test/helpers/fleet.ts), so pre-flight
    // would find none of these ids; the fleet tests run with the default (true).
    preflight: 'false',
    'poll-interval': '1',
    'wait-timeout': '60',
    'cph-endpoint': emu.url,
    'obs-endpoint': emu.url,
    'iam-endpoint': emu.url,
    ...extra,
  };
}

const SECRETS = [
  DEFAULT_CREDENTIALS.secretAccessKey,
  TEMP_CREDENTIALS.secretAccessKey,
  TEMP_CREDENTIALS.securityToken,
].filter((s): s is string => !!s);

/** Where a run can get an SK or a token from: its inputs, then these environment variables. */
const SECRET_INPUTS = ['secret-access-key', 'security-token'];
const SECRET_ENV = [
  'HUAWEI_CLOUD_SECRET_ACCESS_KEY',
  'HUAWEICLOUD_SDK_SK',
  'HUAWEI_CLOUD_SECURITY_TOKEN',
  'HUAWEICLOUD_SDK_SECURITY_TOKEN',
];

/**
 * The secrets to look for after a run: the emulator's, and whatever SK or token this run was given
 * (each line of a multi-line value too), raw and percent-encoded (a service may echo a canonical
 * query or URI). Values under 8 characters are left out: they would match ordinary text.
 */
export function secretsOf(options: RunOptions): string[] {
  const given = [
    ...SECRET_INPUTS.map((name) => options.inputs[name]),
    ...SECRET_ENV.map((name) => options.env?.[name]),
  ].filter((v): v is string => typeof v === 'string');
  const values = [...SECRETS, ...given, ...given.flatMap((v) => v.split(/\r?\n/).map((line) => line.trim()))];
  const all = values.flatMap((v) => [v, encodeURIComponent(v)]).filter((v) => v.length >= 8);
  return [...new Set(all)];
}

/**
 * Keyless sign-in's secrets, as handed out by `emu` so far: GitHub's request token and ID tokens,
 * IAM's unscoped tokens, and the temporary AK, SK and security token.
 */
export function keylessSecretsOf(emu: Emulator): string[] {
  const values = [emu.github.requestToken, ...emu.github.issued, ...emu.federation.secrets()];
  return [...new Set(values.flatMap((v) => [v, encodeURIComponent(v)]))];
}

/**
 * Every test run goes through here: no SK or token in logs, outputs or summary, whatever the
 * outcome. With `emu`, the keyless sign-in's secrets that emulator handed out are looked for too.
 */
export async function run(options: RunOptions, emu?: Emulator): Promise<ActionRun> {
  const result = await runAction(options);
  const secrets = [...secretsOf(options), ...(emu ? keylessSecretsOf(emu) : [])];
  for (const secret of secrets) {
    expect(result.everything.includes(secret), 'a secret leaked into what the action wrote').toBe(false);
  }
  return result;
}

export function jobsOutput(result: ActionRun): Array<{
  server_id: string;
  job_id: string | null;
  status: string;
  error_code: string | null;
  error_msg: string | null;
}> {
  return JSON.parse(result.outputs.jobs ?? 'null');
}

/** The last `::error::` line: the one the step failed with. */
export function failureLine(result: ActionRun): string {
  return (
    result.stdout
      .split(/\r?\n/)
      .filter((l) => l.startsWith('::error::'))
      .pop() ?? ''
  );
}
