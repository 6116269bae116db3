/**
 * Text from outside the action reaches the log only through `logSafe`: a service message that
 * holds a new line and a workflow command stays on its line, so the runner never runs the command.
 * The pipeline runs in process against the emulator; stdout is what the runner would read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  apigError,
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  startEmulator,
} from '../emulator/index.js';
import { runInProcess as runActionInProcess } from '../helpers/in-process.js';
import { buildTar } from '../helpers/tar-builder.js';

const OBJECT = 'releases/game.tar';
/** A message that, printed raw, would be a new line the runner reads as an error annotation. */
const HOSTILE = 'busy\n::error::x ##[error]y';
let emu: Emulator;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 50 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-escaping-'));
  writeFileSync(
    path.join(dir, 'game.tar'),
    buildTar([
      { path: 'data/', type: 'directory' },
      { path: 'data/game.bin', content: Buffer.alloc(4096, 7) },
    ]),
  );
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(DEFAULT_BUCKET, OBJECT, Buffer.from('an older release'));
});

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    region: 'cn-east-3',
    'project-id': DEFAULT_PROJECT_ID,
    'access-key-id': DEFAULT_CREDENTIALS.accessKeyId,
    'secret-access-key': DEFAULT_CREDENTIALS.secretAccessKey,
    bucket: DEFAULT_BUCKET,
    'object-path': OBJECT,
    'server-ids': 'srv-0001,srv-0002',
    wait: 'false',
    preflight: 'false',
    summary: 'false',
    'cph-endpoint': emu.url,
    'obs-endpoint': emu.url,
    'iam-endpoint': emu.url,
    ...extra,
  };
}

const runInProcess = (given: Record<string, string>) => runActionInProcess(dir, given);

/** Lines the runner would take as a workflow command smuggled in by the message. */
function smuggled(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.trimStart().startsWith('::error::x') || line.includes('##['));
}

describe('outside text in the log', () => {
  it('a service message in the poll-failure warning cannot start a command', async () => {
    // Five answers of 500 use up the retries of one round: the round fails with the message, the next succeeds.
    emu.faults.add({ op: 'ListJobs', times: 5, action: apigError(500, 'CPS.0000', HOSTILE) });
    const { stdout, failed } = await runInProcess(inputs({ wait: 'true', 'poll-interval': '1' }));
    expect(failed).toBe(false);
    const warning = stdout.split(/\r?\n/).find((line) => line.includes('polling the jobs failed this round'));
    expect(warning).toContain('busy\\n');
    expect(smuggled(stdout)).toEqual([]);
  });

  it('a service message in a retry notice cannot start a command', async () => {
    emu.faults.add({ op: 'ListProjects', times: 1, action: apigError(503, 'APIGW.0101', HOSTILE) });
    const { stdout, failed } = await runInProcess(inputs({ 'project-id': '' }));
    expect(failed).toBe(false);
    expect(stdout).toMatch(/^IAM KeystoneListProjects: HTTP 503; retrying in/m);
    expect(smuggled(stdout)).toEqual([]);
  });
});
