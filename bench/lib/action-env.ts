/**
 * The environment the runner gives `node dist/index.js`, as test/helpers/run-action.ts builds it
 * (inputs as INPUT_*, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, a RUNNER_TEMP), for benches that spawn the
 * action themselves to pick the Node binary and measure the process.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CREDENTIALS, DEFAULT_PROJECT_ID, type Emulator } from '../../test/emulator/index.js';
import { DIST_ENTRY, inputEnv, REPO_ROOT } from '../../test/helpers/run-action.js';

export { DIST_ENTRY, REPO_ROOT };

export interface ActionEnv {
  env: NodeJS.ProcessEnv;
  outputFile: string;
  summaryFile: string;
  dispose(): void;
}

export function actionEnv(inputs: Record<string, string>, extra: Record<string, string> = {}): ActionEnv {
  const dir = mkdtempSync(path.join(tmpdir(), 'cph-bench-action-'));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  // RUNNER_TEMP as on a runner, so the report file goes with the rest and not into the temp dir.
  const runnerTemp = path.join(dir, 'runner-temp');
  mkdirSync(runnerTemp);
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT'])
    if (process.env[name]) env[name] = process.env[name];
  Object.assign(env, {
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: runnerTemp,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: REPO_ROOT,
    GITHUB_REF: 'refs/tags/v1.2.3',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'example/game',
    CPH_PUBLISH_RETRY_BASE_MS: '10',
    ...inputEnv(inputs),
    ...extra,
  });
  return { env, outputFile, summaryFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Inputs pointing every endpoint at the emulator, with the default credentials and project id. */
export function emulatorInputs(emu: Emulator, extra: Record<string, string>): Record<string, string> {
  return {
    region: 'cn-east-3',
    'project-id': DEFAULT_PROJECT_ID,
    'access-key-id': DEFAULT_CREDENTIALS.accessKeyId,
    'secret-access-key': DEFAULT_CREDENTIALS.secretAccessKey,
    bucket: 'cph-bucket',
    'object-path': 'releases/bench.tar',
    'cph-endpoint': emu.url,
    'obs-endpoint': emu.url,
    'iam-endpoint': emu.url,
    // The emulator has no fleet unless a bench gives it one: the fleet scenario turns this on.
    preflight: 'false',
    ...extra,
  };
}

export function serverIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `srv-${String(i + 1).padStart(4, '0')}`);
}
