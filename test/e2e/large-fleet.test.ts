/**
 * GitHub's limits at fleet size, black-box: `dist/index.js` against the emulator with 5,000 and
 * 20,000 servers. Outputs together under 900,000 bytes as GitHub counts them, what did not fit
 * named in `truncated-outputs` with one warning, a complete report file, a summary under 900 KiB
 * whatever the error messages hold, and no log line naming more than 20 server ids.
 * The figures (output bytes, summary bytes, longest log line) are printed for the record.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apigError, type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, OBJECT, run } from '../helpers/action-fixture.js';
import { GITHUB_SUMMARY_LIMIT, logLineFigures, outputsBytes } from '../helpers/github-limits.js';
import type { ActionRun } from '../helpers/run-action.js';

/** Ids shaped like real ones (32 hex digits), with a mark a regex can count in a log line. */
const ID_TAIL = 'b8bab40ffb711234cb80d0';
const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => `f00d${i.toString(16).padStart(6, '0')}${ID_TAIL}`);
const ID_IN_LOG = /f00d[0-9a-f]{6}b8bab40ffb711234cb80d0/g;

const BUDGET = 900_000;
const SUMMARY_BUDGET = 900 * 1024;

interface Job {
  server_id: string;
  job_id: string | null;
  status: string;
  error_code: string | null;
  error_msg: string | null;
}

interface ReportDocument {
  format: number;
  outcome: string;
  failure: string | null;
  cancelled: boolean;
  dry_run: boolean;
  project_id: string | null;
  object: { url: string; bucket: string; path: string; uploaded: boolean };
  request_ids: string[];
  counts: Record<string, number>;
  total: number;
  truncated_outputs: string[];
  succeeded_server_ids: string[];
  failed_server_ids: string[];
  skipped_server_ids: string[];
  job_ids: string[];
  jobs: Job[];
}

let emu: Emulator;
let temp: string;

beforeAll(async () => {
  // Jobs end as soon as they are polled: the limits are about sizes, not time.
  emu = await startEmulator({ defaultJobDurationMs: 0 });
});
afterAll(async () => emu.close());
beforeEach(async () => {
  emu.reset();
  await emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
  temp = mkdtempSync(path.join(tmpdir(), 'cph-large-'));
});
afterEach(() => rmSync(temp, { recursive: true, force: true }));

async function runFleet(ids: string[], extra: Record<string, string> = {}): Promise<ActionRun> {
  const file = path.join(temp, 'servers.txt');
  writeFileSync(file, `${ids.join('\n')}\n`);
  return run({
    inputs: baseInputs(emu, { 'server-ids': '', 'server-ids-file': file, 'wait-timeout': '300', ...extra }),
    env: { RUNNER_TEMP: temp, GITHUB_ACTION: 'publish' },
    timeoutMs: 240_000,
  });
}

function readReport(result: ActionRun): ReportDocument {
  const file = result.outputs['report-file'] ?? '';
  expect(path.isAbsolute(file)).toBe(true);
  expect(path.dirname(file)).toBe(temp);
  expect(path.basename(file)).toMatch(/^cph-publish-publish-[0-9a-f]{16}\.json$/);
  return JSON.parse(readFileSync(file, 'utf8')) as ReportDocument;
}

/** The `::warning::` lines of a run that mention truncated outputs. */
function truncationWarnings(result: ActionRun): string[] {
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning') && l.includes('truncated-outputs'));
}

/** Every figure this file pins down, printed so a reader sees the margins. */
function figures(label: string, result: ActionRun): ReturnType<typeof logLineFigures> {
  const log = logLineFigures(result.stdout, ID_IN_LOG);
  const summaryBytes = Buffer.byteLength(result.summary, 'utf8');
  console.log(
    `${label}: outputs ${outputsBytes(result.outputs)} bytes (UTF-16), truncated ${result.outputs['truncated-outputs']}; ` +
      `summary ${summaryBytes} bytes; longest log line ${log.longest} characters, at most ${log.mostIds} ids a line; ` +
      `${(result.durationMs / 1000).toFixed(1)} s`,
  );
  expect(outputsBytes(result.outputs)).toBeLessThan(BUDGET);
  expect(summaryBytes).toBeLessThan(SUMMARY_BUDGET);
  expect(summaryBytes).toBeLessThan(GITHUB_SUMMARY_LIMIT);
  expect(log.mostIds, log.mostIdsLine).toBeLessThanOrEqual(20);
  return log;
}

function expectCompleteReport(doc: ReportDocument, ids: string[], result: ActionRun): void {
  expect(doc.format).toBe(1);
  expect(doc.total).toBe(ids.length);
  expect(doc.jobs.map((j) => j.server_id)).toEqual(ids);
  for (const job of doc.jobs) {
    expect(Object.keys(job)).toEqual(
      expect.arrayContaining(['server_id', 'job_id', 'status', 'error_code', 'error_msg']),
    );
  }
  expect(doc.request_ids).toEqual(JSON.parse(result.outputs['request-ids'] ?? ''));
  expect(doc.job_ids).toEqual(doc.jobs.flatMap((j) => (j.job_id ? [j.job_id] : [])));
  expect(doc.truncated_outputs).toEqual(JSON.parse(result.outputs['truncated-outputs'] ?? ''));
  expect(doc.object).toMatchObject({ url: `obs://${BUCKET}/${OBJECT}`, bucket: BUCKET, path: OBJECT });
  // Every output that was kept says what the file says.
  for (const [output, key] of [
    ['succeeded-server-ids', 'succeeded_server_ids'],
    ['failed-server-ids', 'failed_server_ids'],
    ['skipped-server-ids', 'skipped_server_ids'],
    ['job-ids', 'job_ids'],
    ['jobs', 'jobs'],
  ] as const) {
    if (doc.truncated_outputs.includes(output)) expect(result.outputs[output]).toBe('[]');
    else expect(JSON.parse(result.outputs[output] ?? ''), output).toEqual(doc[key]);
  }
}

describe('a fleet of 5,000 servers, pushed and waited for', () => {
  it('keeps the outputs under 900,000 bytes, cuts jobs with one warning, and writes every server to the report file', async () => {
    const ids = fleet(5000);
    const result = await runFleet(ids);
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    const log = figures('5,000 servers', result);
    expect(log.longest).toBeLessThan(2000);

    expect(JSON.parse(result.outputs['truncated-outputs'] ?? '')).toEqual(['jobs']);
    expect(result.outputs.jobs).toBe('[]');
    expect(JSON.parse(result.outputs['succeeded-server-ids'] ?? '')).toEqual(ids);
    expect(JSON.parse(result.outputs['job-ids'] ?? '')).toHaveLength(5000);
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toHaveLength(50);

    const warnings = truncationWarnings(result);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('jobs');
    expect(warnings[0]).toContain(result.outputs['report-file']);

    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc.outcome).toBe('succeeded');
    expect(doc.jobs.every((j) => j.status === 'succeeded' && /^[0-9a-f]{32}$/.test(j.job_id ?? ''))).toBe(
      true,
    );
    expect(doc.counts.succeeded).toBe(5000);

    // The summary: 1,000 rows, and the note that points to the report file.
    expect(result.summary.match(/<tr><td>/g)).toHaveLength(1000);
    expect(result.summary).toContain('4000 more servers are not shown');
    expect(result.summary).toContain(result.outputs['report-file']);
    expect(result.summary).toContain('actions/upload-artifact');
  });

  it('with 1,000 job failures of 4 KiB messages: cut cells in the summary, whole messages in the report file', async () => {
    const ids = fleet(5000);
    const message = `Failed to push file: <quota> "exceeded" | ${'disk /data is full; '.repeat(200)}`;
    expect(message.length).toBeGreaterThan(4000);
    for (const id of ids.filter((_, i) => i % 5 === 4)) {
      emu.phones.set(id, { outcome: 'failure', failure: { error_code: 'CPS.0212', error_msg: message } });
    }
    const result = await runFleet(ids);
    expect(result.code).not.toBe(0);
    figures('5,000 servers, 1,000 failed with 4 KiB messages', result);
    expect(failureLine(result)).toMatch(/1000 jobs failed/);

    const failed = ids.filter((_, i) => i % 5 === 4);
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual(failed);
    expect(JSON.parse(result.outputs['truncated-outputs'] ?? '')).toEqual(['jobs']);
    expect(truncationWarnings(result)).toHaveLength(1);

    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc.outcome).toBe('failed');
    expect(doc.failure).toBe(failureLine(result).replace(/^::error::/, ''));
    expect(doc.counts).toMatchObject({ succeeded: 4000, failed: 1000 });
    expect(doc.jobs[4]).toMatchObject({ status: 'failed', error_code: 'CPS.0212' });
    expect(doc.jobs[4]?.error_msg).toContain(message);

    // Failures first, each message cut to 600 bytes, escaped, and the note says so.
    const rows =
      result.summary
        .split('<tbody>')[1]
        ?.split('\n')
        .filter((l) => l.startsWith('<tr>')) ?? [];
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.includes('<td>failed</td>') && r.includes('…</td></tr>'))).toBe(true);
    expect(result.summary).not.toContain('<quota>');
    expect(result.summary).toContain('&#60;quota&#62; &#34;exceeded&#34; &#124;');
    expect(result.summary).toContain(
      '4000 more servers are not shown (failures are listed first); 1000 cells were cut',
    );
  });

  it('writes the report file on a failed push, every server in it', async () => {
    const ids = fleet(5000);
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'delay', ms: 1 }, times: 10 });
    emu.faults.add({ op: 'PushShareFiles', action: apigError(403, 'CPS.0004', 'Forbidden') });
    const result = await runFleet(ids);
    expect(result.code).not.toBe(0);
    figures('5,000 servers, push refused at batch 11', result);
    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc.outcome).toBe('failed');
    expect(doc.failure).toMatch(/CPS\.0004/);
    expect(doc.request_ids).toHaveLength(10);
    // Contract 8a: the refused batch's 100 servers are rejected, the batches never sent skipped.
    expect(doc.counts).toMatchObject({ succeeded: 1000, rejected: 100, skipped: 3900 });
  });
});

describe('a fleet of 20,000 servers', () => {
  it('pushed and waited for, 500 failing: the failed list whole, the larger lists cut, all in the report file', async () => {
    const ids = fleet(20_000);
    const failed = ids.filter((_, i) => i % 40 === 39);
    const message = `Failed to push file: ${'the shared storage of this flavor is full; '.repeat(100)}`;
    for (const id of failed) {
      emu.phones.set(id, { outcome: 'failure', failure: { error_code: 'CPS.0212', error_msg: message } });
    }
    const result = await runFleet(ids);
    expect(result.code).not.toBe(0);
    const log = figures('20,000 servers, 500 failed', result);
    expect(log.longest).toBeLessThan(2000);
    // 19,500 succeeded ids take 1.37 MB: that list and the two after it cannot fit; the failed
    // list, earlier in the fill order, stays whole.
    expect(JSON.parse(result.outputs['truncated-outputs'] ?? '')).toEqual([
      'succeeded-server-ids',
      'job-ids',
      'jobs',
    ]);
    expect(JSON.parse(result.outputs['failed-server-ids'] ?? '')).toEqual(failed);
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toHaveLength(200);
    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc.counts).toMatchObject({ succeeded: 19_500, failed: 500 });
    expect(doc.succeeded_server_ids).toHaveLength(19_500);
    const warnings = truncationWarnings(result);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("outputs 'succeeded-server-ids', 'job-ids', 'jobs' set to []");
    expect(result.summary).toContain(
      '19000 more servers are not shown (failures are listed first); 500 cells were cut',
    );
  });

  it('in a dry run, names at most 20 ids in the plan and writes the report file', async () => {
    const ids = fleet(20_000);
    const result = await runFleet(ids, { 'dry-run': 'true' });
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    const log = figures('20,000 servers, dry run', result);
    expect(log.longest).toBeLessThan(2000);
    expect(emu.requests).toHaveLength(0);
    expect(result.stdout).toContain('… and 19980 more');
    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc.outcome).toBe('planned');
    expect(doc.jobs.every((j) => j.status === 'planned')).toBe(true);
  });
});

describe('a cancelled run of 5,000 servers', () => {
  it('writes the report file with what is known: every server, cancelled, the jobs still running', async () => {
    const ids = fleet(5000);
    emu.settings.defaultPhone = { outcome: 'stuck' };
    const file = path.join(temp, 'servers.txt');
    writeFileSync(file, ids.join('\n'));
    const result = await run({
      inputs: baseInputs(emu, { 'server-ids': '', 'server-ids-file': file, 'wait-timeout': '600' }),
      env: { RUNNER_TEMP: temp, GITHUB_ACTION: 'publish' },
      // The jobs never end: only the signal can end this run before the test's time-out.
      onSpawn: (child) => {
        // Keep the last characters too: the line may arrive split over two chunks.
        let tail = '';
        let sent = false;
        child.stdout?.on('data', (chunk) => {
          const text = tail + String(chunk);
          if (!sent && text.includes('Waiting for 5000 jobs')) {
            sent = true;
            child.kill('SIGINT');
          }
          tail = text.slice(-100);
        });
      },
      timeoutMs: 120_000,
    });
    expect(result.code).toBe(1);
    figures('5,000 servers, cancelled while waiting', result);
    const doc = readReport(result);
    expectCompleteReport(doc, ids, result);
    expect(doc).toMatchObject({ outcome: 'cancelled', cancelled: true });
    expect(doc.failure).toMatch(/cancelled \(SIGINT\)/);
    expect(doc.counts.running).toBe(5000);
    expect(doc.request_ids).toHaveLength(50);
    expect(result.summary).toMatch(/^## cph-publish cancelled/);
  });
});

describe('the report outputs around the edges', () => {
  it('are empty but valid when the inputs are refused: report-file empty, truncated-outputs []', async () => {
    const result = await run({ inputs: baseInputs(emu, { 'batch-size': '0' }), env: { RUNNER_TEMP: temp } });
    expect(result.code).not.toBe(0);
    expect(result.outputs['report-file']).toBe('');
    expect(result.outputs['truncated-outputs']).toBe('[]');
    expect(readdirSync(temp)).toEqual([]);
  });

  it('are whole for a small fleet: truncated-outputs [] and no warning, the report file still written', async () => {
    const result = await run({
      inputs: baseInputs(emu),
      env: { RUNNER_TEMP: temp, GITHUB_ACTION: 'publish' },
    });
    expect(result.code, result.stdout).toBe(0);
    expect(result.outputs['truncated-outputs']).toBe('[]');
    expect(truncationWarnings(result)).toEqual([]);
    const doc = readReport(result);
    expect(doc.jobs).toEqual(JSON.parse(result.outputs.jobs ?? ''));
    expect(doc.outcome).toBe('succeeded');
  });
});
