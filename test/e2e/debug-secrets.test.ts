/**
 * With step debugging on (ACTIONS_STEP_DEBUG becomes RUNNER_DEBUG=1, which core.isDebug() reads)
 * and temporary credentials, neither the SK nor the token — raw or percent-encoded — may reach
 * stdout, stderr, an output or the summary: on success, and on the failure paths where a service
 * echoes what it got (the gateway's canonical request, OBS's string to sign, a job's message).
 * `run()` of action-fixture scans every run of every e2e file for them; this file makes the
 * services try hard, and checks that every e2e file goes through that scan.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.js';
import {
  BUCKET,
  baseInputs,
  failureLine,
  jobsOutput,
  OBJECT,
  run,
  secretsOf,
  TEMP_CREDENTIALS,
} from '../helpers/action-fixture.js';
import { expectNothingLeftBehind } from '../helpers/emulator-checks.js';
import { type ActionRun, REPO_ROOT, type RunOptions } from '../helpers/run-action.js';
import { buildTar } from '../helpers/tar-builder.js';

const SK = TEMP_CREDENTIALS.secretAccessKey;
const TOKEN = TEMP_CREDENTIALS.securityToken;
/** A wrong SK is a secret too: the user's real one, mistyped. */
const WRONG_SK = 'wrong-temp-secret-key-do-not-log';
const DEBUG = { RUNNER_DEBUG: '1' };

let emu: Emulator;
let dir: string;
let tarFile: string;
let tarMd5: string;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 100 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-debug-e2e-'));
  tarFile = path.join(dir, 'app.tar');
  const tar = buildTar([{ path: 'data/app.bin', content: Buffer.alloc(16 * 1024, 1) }]);
  writeFileSync(tarFile, tar);
  tarMd5 = createHash('md5').update(tar).digest('hex');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  emu.settings.echoCanonicalRequest = true;
});

/** Temporary credentials, the token through its input. */
function tempInputs(extra: Record<string, string> = {}): Record<string, string> {
  return baseInputs(emu, {
    'access-key-id': TEMP_CREDENTIALS.accessKeyId,
    'secret-access-key': SK,
    'security-token': TOKEN,
    ...extra,
  });
}

/** Runs with debugging on; `run()` has already scanned for every secret of the run. */
async function debugRun(options: RunOptions): Promise<ActionRun> {
  const result = await run({ ...options, env: { ...DEBUG, ...options.env } });
  // Belt and braces: the scan covered these, by name.
  for (const secret of [SK, TOKEN, encodeURIComponent(TOKEN), WRONG_SK]) {
    expect(result.everything).not.toContain(secret);
  }
  return result;
}

describe('with RUNNER_DEBUG=1 and temporary credentials', () => {
  it('a full run (project lookup, upload, push, wait) shows no SK or token', async () => {
    const result = await debugRun({ inputs: tempInputs({ 'project-id': '', file: tarFile }) });
    expect(result.code, result.stdout).toBe(0);
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(tarMd5);
    // Every request carried the token, signed: it was there to leak.
    for (const r of emu.requests) {
      expect(r.authOk).toBe(true);
      expect(r.headers['x-security-token'] ?? r.headers['x-obs-security-token']).toBe(TOKEN);
    }
    // Both values were masked for the runner at once.
    expect(result.stdout).toContain(`::add-mask::${SK}`);
    expect(result.stdout).toContain(`::add-mask::${TOKEN}`);
  });

  it.each([
    ['IAM', { 'project-id': '' }, 'ListProjects'],
    ['CPH', {}, 'PushShareFiles'],
  ] as const)(
    '%s echoing its canonical request (token included) on a bad signature: redacted',
    async (_service, extra, op) => {
      const result = await debugRun({ inputs: tempInputs({ 'secret-access-key': WRONG_SK, ...extra }) });
      expect(result.code).not.toBe(0);
      const [request] = emu.requestsFor(op);
      expect(request).toMatchObject({ status: 401, errorCode: 'APIG.0301', authOk: false });
      // Besides the HEAD of the object before a push (refused too: a warning, and the run goes on).
      expect(emu.requests.filter((r) => r.op !== 'HeadObject')).toHaveLength(1);
      const line = failureLine(result);
      // The echo reached the action, which showed it with the token blanked out.
      expect(line).toMatch(/CanonicalRequest: /);
      expect(line).toMatch(/x-security-token:\*\*\*/);
      expect(line).toContain('APIG.0301');
      // In debug mode the stack is printed too — redacted.
      expect(result.stdout).toMatch(/^::debug::/m);
    },
  );

  it('OBS echoing its string to sign (token included) on SignatureDoesNotMatch: redacted', async () => {
    const result = await debugRun({
      inputs: tempInputs({ 'secret-access-key': WRONG_SK, file: tarFile, 'skip-unchanged': 'false' }),
    });
    expect(result.code).not.toBe(0);
    const puts = emu.requestsFor('PutObject');
    expect(puts.length).toBeGreaterThan(0);
    expect(puts.every((r) => r.status === 403 && r.errorCode === 'SignatureDoesNotMatch')).toBe(true);
    const line = failureLine(result);
    expect(line).toContain('SignatureDoesNotMatch');
    // The echo reached the action, which showed it with the token blanked out.
    expect(line).toMatch(/StringToSign: PUT/);
    expect(line).toMatch(/x-obs-security-token:\*\*\*/);
    expect(emu.requestsFor('PushShareFiles')).toEqual([]);
    expectNothingLeftBehind(emu, { uploadFailed: true });
  });

  it('a failed job whose messages quote the token and the encoded token: redacted in outputs and summary', async () => {
    emu.phones.set('srv-0002', {
      outcome: 'failure',
      failure: {
        error_code: 'CPS.0212',
        error_msg: `Push failed with token ${TOKEN}`,
        execute_msg: `curl -H 'X-Security-Token: ${encodeURIComponent(TOKEN)}' refused`,
      },
    });
    emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded'));
    const result = await debugRun({ inputs: tempInputs() });
    expect(result.code).not.toBe(0);
    const failed = jobsOutput(result).find((j) => j.server_id === 'srv-0002');
    expect(failed).toMatchObject({ status: 'failed', error_code: 'CPS.0212' });
    expect(failed?.error_msg).toContain('Push failed with token ***');
    expect(failed?.error_msg).toContain("X-Security-Token: ***'");
    expect(failureLine(result)).toContain('CPS.0212');
    expect(result.summary).toContain('Push failed with token ***');
  });

  it('a malformed SK (with a space) is refused without showing it, and nothing is sent', async () => {
    const badSk = 'temp secret with a space do-not-log';
    const result = await debugRun({ inputs: tempInputs({ 'secret-access-key': badSk }) });
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toContain("input 'secret-access-key'");
    expect(result.everything).not.toContain(badSk);
    expect(result.everything).not.toContain(encodeURIComponent(badSk));
    expect(emu.requests).toEqual([]);
  });

  it('the token from HUAWEI_CLOUD_SECURITY_TOKEN is treated like the input: masked and redacted', async () => {
    const inputs = tempInputs({ 'secret-access-key': WRONG_SK });
    delete inputs['security-token'];
    const result = await debugRun({ inputs, env: { HUAWEI_CLOUD_SECURITY_TOKEN: TOKEN } });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(`::add-mask::${TOKEN}`);
    expect(failureLine(result)).toMatch(/x-security-token:\*\*\*/);
  });
});

describe('the secret scan', () => {
  it('looks for the run’s own SK and token, raw and percent-encoded', () => {
    const secrets = secretsOf({ inputs: tempInputs({ 'secret-access-key': WRONG_SK }) });
    expect(secrets).toEqual(expect.arrayContaining([WRONG_SK, TOKEN, encodeURIComponent(TOKEN), SK]));
  });

  it('covers every e2e test file: all run the action through action-fixture’s run()', () => {
    const e2e = path.join(REPO_ROOT, 'test/e2e');
    const files = readdirSync(e2e).filter((f) => f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    const forbidden = /\brunAction\b|\bDIST_ENTRY\b|child_process|\bspawn(Sync)?\(/; // scan-guard
    for (const file of files) {
      const source = readFileSync(path.join(e2e, file), 'utf8')
        .split(/\r?\n/)
        .filter((line) => !line.includes('scan-guard'))
        .join('\n');
      expect(source, `${file} must import run from action-fixture`).toMatch(
        /import \{[^}]*\brun\b[^}]*\} from '\.\.\/helpers\/action-fixture\.js'/,
      );
      // No way around the scan: no direct run of the bundle, no child process of its own.
      expect(source, `${file} bypasses the secret scan`).not.toMatch(forbidden);
    }
  });
});
