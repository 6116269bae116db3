/**
 * The pipeline in main.ts, in process, against the emulator: inputs as INPUT_* variables,
 * outputs and the summary in files, stdout captured, exactly the toolkit calls the runner sees.
 * test/e2e/ runs the same through dist/index.js; these reach main.ts for coverage and pin
 * the edges a bundle test is slow to reach (the summary switch, a summary that cannot be written),
 * and that text from outside the action reaches the log only through `logSafe`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  apigError,
  DEFAULT_BUCKET,
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  obsError,
  startEmulator,
} from '../emulator/index.js';
import { runInProcess as runActionInProcess } from '../helpers/in-process.js';
import { buildTar } from '../helpers/tar-builder.js';

const OBJECT = 'releases/game.tar';
/** A message that, printed raw, would be a new line the runner reads as an error annotation. */
const HOSTILE = 'busy\n::error::x ##[error]y';
let emu: Emulator;
let dir: string;
let tarPath: string;
let tarMd5: string;
/** One path for the whole file: the toolkit remembers the summary file it first wrote. */
let summaryPath: string;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 50 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-main-inproc-'));
  const tar = buildTar([
    { path: 'data/', type: 'directory' },
    { path: 'data/game.bin', content: Buffer.alloc(4096, 7) },
  ]);
  tarPath = path.join(dir, 'game.tar');
  writeFileSync(tarPath, tar);
  tarMd5 = createHash('md5').update(tar).digest('hex');
  summaryPath = path.join(dir, 'summary.md');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  // An older release at the key: pushes find an object, an upload replaces it.
  emu.obs.putObject(DEFAULT_BUCKET, OBJECT, Buffer.from('an older release'));
  rmSync(summaryPath, { recursive: true, force: true });
  writeFileSync(summaryPath, '');
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
    // Pre-flight asks the fleet (ListCloudPhoneServers); these tests push to ids the emulator takes.
    preflight: 'false',
    'cph-endpoint': emu.url,
    'obs-endpoint': emu.url,
    'iam-endpoint': emu.url,
    ...extra,
  };
}

const runInProcess = (given: Record<string, string>) => runActionInProcess(dir, given, summaryPath);

const errorLines = (stdout: string) => stdout.split(/\r?\n/).filter((l) => l.startsWith('::error::'));
const warningLines = (stdout: string) => stdout.split(/\r?\n/).filter((l) => l.startsWith('::warning::'));

describe('run() in process', () => {
  it('uploads, pushes once, and writes every output and the summary', async () => {
    const result = await runInProcess(inputs({ file: 'game.tar' }));
    expect(errorLines(result.stdout)).toEqual([]);
    expect(result.failed).toBe(false);
    expect(emu.requests.map((r) => [r.op, r.status])).toEqual([
      ['HeadObject', 200],
      ['PutObject', 200],
      ['PushShareFiles', 200],
    ]);
    expect(emu.obs.getObject(DEFAULT_BUCKET, OBJECT)?.md5Hex).toBe(tarMd5);
    const push = emu.requestsFor('PushShareFiles')[0];
    expect(result.outputs).toMatchObject({
      'project-id': DEFAULT_PROJECT_ID,
      'object-url': `obs://${DEFAULT_BUCKET}/${OBJECT}`,
      uploaded: 'true',
      'request-ids': JSON.stringify([push?.requestId]),
      'failed-server-ids': '[]',
      'skipped-server-ids': '[]',
      'succeeded-server-ids': '[]',
    });
    expect(JSON.parse(result.outputs.jobs ?? '').map((j: { status: string }) => j.status)).toEqual([
      'submitted',
      'submitted',
    ]);
    expect(JSON.parse(result.outputs['job-ids'] ?? '')).toEqual(emu.cph.jobs.map((j) => j.jobId));
    expect(result.summary).toContain('srv-0001');
    expect(result.stdout).toContain(`Uploading ${tarPath}`);
    // `::add-mask::` is how the runner learns what to mask; it never shows that line.
    expect(result.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(
      DEFAULT_CREDENTIALS.secretAccessKey,
    );
  });

  it('waits for the jobs when asked, and reports them succeeded', async () => {
    const result = await runInProcess(inputs({ wait: 'true', 'poll-interval': '1' }));
    expect(errorLines(result.stdout)).toEqual([]);
    expect(result.failed).toBe(false);
    expect(JSON.parse(result.outputs['succeeded-server-ids'] ?? '')).toEqual(['srv-0001', 'srv-0002']);
    expect(result.stdout).toMatch(/^Jobs: 2 succeeded, 0 failed, 0 running \(of 2\) after \d+ s\r?$/m);
  });

  it("summary: 'false' writes no summary, and still every output", async () => {
    const result = await runInProcess(inputs({ summary: 'false' }));
    expect(result.failed).toBe(false);
    expect(result.summary).toBe('');
    expect(result.outputs['request-ids']).toBe(
      JSON.stringify([emu.requestsFor('PushShareFiles')[0]?.requestId]),
    );
    // The switch, not luck: the same run with the default writes one.
    const withSummary = await runInProcess(inputs());
    expect(withSummary.summary).not.toBe('');
  });

  it('a summary that cannot be written is a warning, not a failure; the outputs are still written', async () => {
    rmSync(summaryPath, { force: true });
    mkdirSync(summaryPath);
    const result = await runInProcess(inputs());
    expect(result.failed).toBe(false);
    expect(errorLines(result.stdout)).toEqual([]);
    expect(warningLines(result.stdout)).toEqual([
      expect.stringMatching(/^::warning::could not write the job summary: .*EISDIR/),
    ]);
    expect(JSON.parse(result.outputs.jobs ?? '')).toHaveLength(2);
    rmSync(summaryPath, { recursive: true, force: true });
  });

  it('dry run: inspects the tar, plans, and sends nothing', async () => {
    const result = await runInProcess(inputs({ file: 'game.tar', 'dry-run': 'true' }));
    expect(result.failed).toBe(false);
    expect(emu.requests).toEqual([]);
    expect(result.stdout).toContain('Would sign requests with the AK/SK given');
    expect(result.stdout).toContain('Servers: srv-0001, srv-0002');
    expect(JSON.parse(result.outputs.jobs ?? '').map((j: { status: string }) => j.status)).toEqual([
      'planned',
      'planned',
    ]);
    expect(result.outputs.uploaded).toBe('false');
  });

  it('a rejected server fails the step with its code; the others are still reported', async () => {
    emu.phones.set('srv-0002', { reject: { error_code: 'CPS.0005', error_msg: 'Phone not found.' } });
    const result = await runInProcess(inputs());
    expect(result.failed).toBe(true);
    const jobs = JSON.parse(result.outputs.jobs ?? '') as Array<{ server_id: string; status: string }>;
    expect(jobs.map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'submitted'],
      ['srv-0002', 'rejected'],
    ]);
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual(['srv-0002']);
    expect(errorLines(result.stdout).at(-1)).toContain('CPS.0005');
  });

  it('bad inputs: the step fails naming the input, nothing is sent, and the outputs are empty JSON', async () => {
    const result = await runInProcess(inputs({ 'batch-size': '0' }));
    expect(result.failed).toBe(true);
    expect(emu.requests).toEqual([]);
    expect(errorLines(result.stdout).at(-1)).toContain("input 'batch-size'");
    expect(result.outputs).toMatchObject({ jobs: '[]', 'request-ids': '[]', uploaded: 'false' });
    expect(result.summary).toBe('');
  });

  it('without file, an absent object fails the run before any push, naming it; every server is skipped', async () => {
    emu.obs.deleteObject(DEFAULT_BUCKET, OBJECT);
    const result = await runInProcess(inputs());
    expect(result.failed).toBe(true);
    expect(emu.requests.map((r) => r.op)).toEqual(['HeadObject']);
    expect(errorLines(result.stdout)).toEqual([
      `::error::cph-publish: the object obs://${DEFAULT_BUCKET}/${OBJECT} does not exist (OBS HeadObject: HTTP 404) — check bucket and object-path, or give file to upload it in this step`,
    ]);
    const jobs = JSON.parse(result.outputs.jobs ?? '') as Array<Record<string, unknown>>;
    expect(jobs.map((j) => [j.server_id, j.status, j.stage])).toEqual([
      ['srv-0001', 'skipped', 1],
      ['srv-0002', 'skipped', 1],
    ]);
    expect(jobs[0]?.error_msg).toMatch(/^not pushed: the object obs:\/\/\S+ does not exist/);
  });

  it('without file, a HEAD refused with 403 is one warning naming obs:object:GetObject, and the push goes on', async () => {
    emu.faults.add({ op: 'HeadObject', times: 1, action: obsError(403, 'AccessDenied') });
    const result = await runInProcess(inputs());
    expect(result.failed).toBe(false);
    expect(emu.requests.map((r) => r.op)).toEqual(['HeadObject', 'PushShareFiles']);
    const warnings = warningLines(result.stdout);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^::warning::could not check that obs://${DEFAULT_BUCKET}/${OBJECT} exists: .*HTTP 403.*obs:object:GetObject`,
      ),
    );
  });

  it('a failed upload leaves every chosen server skipped with the reason, and the summary says the upload failed', async () => {
    emu.faults.add({ op: 'PutObject', action: obsError(403, 'AccessDenied') });
    const result = await runInProcess(inputs({ file: 'game.tar' }));
    expect(result.failed).toBe(true);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    const jobs = JSON.parse(result.outputs.jobs ?? '') as Array<Record<string, unknown>>;
    expect(jobs.map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'skipped'],
      ['srv-0002', 'skipped'],
    ]);
    for (const job of jobs)
      expect(job.error_msg).toMatch(/^not pushed: the upload failed: OBS PutObject failed: Access Denied/);
    expect(JSON.parse(result.outputs['skipped-server-ids'] ?? '')).toEqual(['srv-0001', 'srv-0002']);
    expect(result.summary).toContain('not uploaded: the upload failed: OBS PutObject failed');
    expect(result.summary).not.toContain('stopped before the upload');
  });

  it('project id looked up through IAM when not given', async () => {
    const result = await runInProcess(inputs({ 'project-id': '' }));
    expect(result.failed).toBe(false);
    expect(emu.requests.map((r) => r.op)).toEqual(['ListProjects', 'HeadObject', 'PushShareFiles']);
    expect(result.stdout).toContain(`Project id of cn-east-3: ${DEFAULT_PROJECT_ID}`);
    expect(result.outputs['project-id']).toBe(DEFAULT_PROJECT_ID);
  });
});

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
    const { stdout, failed } = await runInProcess(
      inputs({ wait: 'true', 'poll-interval': '1', summary: 'false' }),
    );
    expect(failed).toBe(false);
    const warning = stdout.split(/\r?\n/).find((line) => line.includes('polling the jobs failed this round'));
    expect(warning).toContain('busy\\n');
    expect(smuggled(stdout)).toEqual([]);
  });

  it('a service message in a retry notice cannot start a command', async () => {
    emu.faults.add({ op: 'ListProjects', times: 1, action: apigError(503, 'APIGW.0101', HOSTILE) });
    const { stdout, failed } = await runInProcess(inputs({ 'project-id': '', summary: 'false' }));
    expect(failed).toBe(false);
    expect(stdout).toMatch(/^IAM KeystoneListProjects: HTTP 503; retrying in/m);
    expect(smuggled(stdout)).toEqual([]);
  });
});
