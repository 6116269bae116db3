import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunReport, ServerResult } from '../../../src/model/results.js';
import { truncationWarning } from '../../../src/report/output-budget.js';
import { buildOutputs } from '../../../src/report/outputs.js';
import {
  buildReportDocument,
  outcomeOf,
  reportFilePath,
  stagesOf,
  writeReportFile,
} from '../../../src/report/report-file.js';
import { VERSION } from '../../../src/version.js';
import { runReport, server } from '../../helpers/results.js';

function report(servers: ServerResult[], extra: Partial<RunReport> = {}): RunReport {
  return runReport(servers, {
    file: { size: 1024, sha256Hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    requestIds: ['req-1', 'req-2'],
    git: { ref: 'refs/tags/v1', sha: 'abc', commitUrl: 'https://github.com/o/r/commit/abc' },
    ...extra,
  });
}

describe('reportFilePath', () => {
  it.each([
    [
      { RUNNER_TEMP: '/runner/_temp', GITHUB_ACTION: 'publish' },
      '/runner/_temp/cph-publish-publish-00ff.json',
    ],
    [
      { RUNNER_TEMP: '/runner/_temp', GITHUB_ACTION: '__org_cph-publish_2' },
      '/runner/_temp/cph-publish-__org_cph-publish_2-00ff.json',
    ],
    [
      { RUNNER_TEMP: '/runner/_temp', GITHUB_ACTION: 'a/../b c' },
      '/runner/_temp/cph-publish-a_b_c-00ff.json',
    ],
    [{ RUNNER_TEMP: '/runner/_temp' }, '/runner/_temp/cph-publish-run-00ff.json'],
    [{ RUNNER_TEMP: '', GITHUB_ACTION: 'x' }, path.join(tmpdir(), 'cph-publish-x-00ff.json')],
  ])('%j → %s', (env, file) => {
    expect(reportFilePath(env, '00ff')).toBe(file);
  });

  it('is different on every call: 16 random hex digits', () => {
    const a = reportFilePath({ RUNNER_TEMP: '/t' });
    const b = reportFilePath({ RUNNER_TEMP: '/t' });
    expect(a).toMatch(/^\/t\/cph-publish-run-[0-9a-f]{16}\.json$/);
    expect(a).not.toBe(b);
  });
});

describe('outcomeOf', () => {
  it.each<[string, Partial<RunReport>, ServerResult['status'][], string]>([
    ['all succeeded', {}, ['succeeded', 'succeeded'], 'succeeded'],
    ['not waited for', {}, ['submitted'], 'submitted'],
    ['failed', { failure: 'cph-publish: x' }, ['failed'], 'failed'],
    [
      'cancelled wins over failed',
      { failure: 'cph-publish: cancelled', cancelled: true },
      ['running'],
      'cancelled',
    ],
    ['dry run', { dryRun: true }, ['planned'], 'planned'],
    // Green runs that waited are `succeeded` whatever else the servers are: the step is green.
    ['waited, one server skipped by pre-flight', {}, ['succeeded', 'skipped'], 'succeeded'],
    ['waited, one failure within max-failures', {}, ['succeeded', 'failed', 'rejected'], 'succeeded'],
    ['waited, some servers already current', {}, ['current', 'succeeded'], 'succeeded'],
    ['nothing to push: every server current', {}, ['current', 'current'], 'succeeded'],
    ['not waited for, one server skipped', {}, ['submitted', 'skipped'], 'submitted'],
  ])('%s', (_, extra, statuses, outcome) => {
    expect(
      outcomeOf(
        report(
          statuses.map((s, i) => server(`s${i}`, s)),
          extra,
        ),
      ),
    ).toBe(outcome);
  });
});

describe('buildReportDocument', () => {
  it('holds the whole result, every list output under its name with _', () => {
    const servers = [
      server('s1', 'succeeded'),
      server('s2', 'failed', { error_code: 'CPS.0212', error_msg: 'x'.repeat(5000) }),
      server('s3', 'rejected', { error_code: 'CPS.0005', error_msg: 'Phone not found.' }),
      server('s4', 'skipped', { error_msg: 'not pushed: the rollout stopped after stage 1' }),
    ];
    const r = report(servers, { failure: 'cph-publish: 1 job failed' });
    const doc = buildReportDocument(r, ['jobs']) as Record<string, unknown>;
    const outputs = buildOutputs(r, '/t/x.json');
    expect(doc).toMatchObject({
      format: 1,
      action: 'cph-publish',
      action_version: VERSION,
      outcome: 'failed',
      failure: 'cph-publish: 1 job failed',
      cancelled: false,
      dry_run: false,
      project_id: '0123456789abcdef0123456789abcdef',
      object: {
        url: 'obs://b-1/dir/app.tar',
        bucket: 'b-1',
        path: 'dir/app.tar',
        uploaded: true,
        file: {
          size: 1024,
          sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          upload_skipped: null,
        },
      },
      sign_in: null,
      git: { ref: 'refs/tags/v1', sha: 'abc', commit_url: 'https://github.com/o/r/commit/abc' },
      request_ids: ['req-1', 'req-2'],
      total: 4,
      truncated_outputs: ['jobs'],
    });
    expect(doc.counts).toMatchObject({ succeeded: 1, failed: 1, rejected: 1, skipped: 1, running: 0 });
    expect(doc.jobs).toEqual(JSON.parse(outputs.jobs));
    expect(doc.succeeded_server_ids).toEqual(JSON.parse(outputs['succeeded-server-ids']));
    expect(doc.failed_server_ids).toEqual(['s2', 's3']);
    expect(doc.skipped_server_ids).toEqual(['s4']);
    expect(doc.current_server_ids).toEqual([]);
    expect(doc.job_ids).toEqual(JSON.parse(outputs['job-ids']));
    expect((doc.jobs as Array<{ error_msg: string }>)[1]?.error_msg).toHaveLength(5000);
  });
});

describe('stagesOf', () => {
  it('counts the servers of each stage by status, in stage order; pre-flight refusals have no stage', () => {
    const servers = [
      server('s1', 'succeeded', { stage: 1 }),
      server('s2', 'failed', { stage: 2 }),
      server('s3', 'succeeded', { stage: 2 }),
      server('s4', 'skipped', { stage: 3 }),
      server('s5', 'rejected', { stage: null }),
    ];
    expect(stagesOf(report(servers))).toEqual([
      { stage: 1, servers: 1, succeeded: 1 },
      { stage: 2, servers: 2, succeeded: 1, failed: 1 },
      { stage: 3, servers: 1, skipped: 1 },
    ]);
    expect(buildReportDocument(report(servers), [])).toMatchObject({ stages: stagesOf(report(servers)) });
  });
});

describe('writeReportFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cph-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the text and a new line, and never replaces a file already there', async () => {
    const file = path.join(dir, 'r.json');
    await writeReportFile(file, '{"a":1}');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    writeFileSync(path.join(dir, 'other.json'), 'keep');
    await expect(writeReportFile(path.join(dir, 'other.json'), '{}')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(path.join(dir, 'other.json'), 'utf8')).toBe('keep');
  });
});

describe('truncationWarning', () => {
  it.each([
    [
      ['jobs'],
      '/t/r.json',
      "output 'jobs' set to [] and listed in 'truncated-outputs': whole, the outputs would pass GitHub's limit of 1 MB " +
        "for a job's outputs; every server's result is in the report file /t/r.json (the 'report-file' output): " +
        'read it with jq, or keep it with actions/upload-artifact',
    ],
    [
      ['job-ids', 'jobs'],
      '',
      "outputs 'job-ids', 'jobs' set to [] and listed in 'truncated-outputs': whole, the outputs would pass GitHub's " +
        "limit of 1 MB for a job's outputs; the report file could not be written either, see the warning above",
    ],
  ] as const)('%j', (names, file, text) => {
    expect(truncationWarning(names, file)).toBe(text);
  });
});

describe('current servers in the report file', () => {
  it('counts them and lists them under current_server_ids; the run still succeeded', () => {
    const r = report([server('s1', 'succeeded'), server('s2', 'current', { job_id: null })]);
    const doc = buildReportDocument(r, []) as Record<string, unknown>;
    expect(doc.outcome).toBe('succeeded');
    expect(doc.counts).toEqual({
      succeeded: 1,
      current: 1,
      failed: 0,
      rejected: 0,
      skipped: 0,
      running: 0,
      submitted: 0,
      planned: 0,
    });
    expect(doc.current_server_ids).toEqual(['s2']);
    expect(doc.succeeded_server_ids).toEqual(['s1']);
  });
});
