/** The log's wording: outside text escaped, counts in the right number. */
import { describe, expect, it } from 'vitest';
import { RunFailure, ServiceError } from '../../../src/errors.js';
import type { RunReport, ServerResult } from '../../../src/model/results.js';
import { Redactor } from '../../../src/redact.js';
import {
  batchLine,
  digestLine,
  duplicatesLine,
  failureLine,
  inspectedLine,
  outcomeFailure,
  timeoutMessage,
  uploadDoneLine,
  uploadStartLine,
} from '../../../src/report/log.js';
import { TarError } from '../../../src/tar/inspect.js';
import type { FileScan } from '../../../src/tar/scan.js';
import { server as resultOf, runReport } from '../../helpers/results.js';

const MiB = 1024 * 1024;
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** A file name that would put a fake annotation on a green run if it reached the log raw. */
const HOSTILE = 'a\n::error::x.tar';

function scan(entries: number, topLevel: string[]): FileScan {
  return {
    size: 2 * MiB,
    sha256Hex: SHA,
    parts: [],
    tar: { entries, totalBytes: MiB, topLevel, problems: [], omitted: 0 },
  } as unknown as FileScan;
}

/** Here every server has a job id, also a rejected one. */
function server(id: string, status: ServerResult['status'], extra: Partial<ServerResult> = {}): ServerResult {
  return resultOf(id, status, { job_id: `job-${id}`, ...extra });
}

function report(servers: ServerResult[], requestIds: string[] = ['req-1']): RunReport {
  return runReport(servers, { projectId: 'p', bucket: 'b', objectPath: 'a.tar', requestIds });
}

/** What the runner would read as a workflow command in a line, or as a second line. */
const COMMAND = /^\s*::|##\[|[\r\n]/m;

describe('outside text in log lines is escaped', () => {
  it('uploadStartLine: a file, bucket and key can neither break the line nor start a command', () => {
    const line = uploadStartLine(HOSTILE, 3 * MiB, 'b', '::warning::k.tar');
    expect(line).toBe(
      'Uploading a\\n:\\u{3a}error:\\u{3a}x.tar (3.0 MiB) to obs://b/\\u{3a}\\u{3a}warning:\\u{3a}k.tar',
    );
    expect(line).not.toMatch(COMMAND);
  });

  it('inspectedLine: the file starts the line, so a leading `::` is escaped; tar entry names too', () => {
    const line = inspectedLine('::error::x.tar', scan(2, ['data', 'b\nc']).tar, 1.25);
    expect(line).toBe(
      `\\u{3a}\\u{3a}error:\\u{3a}x.tar: 2 entries, 1.0 MiB of file data, top level: data, b\\nc; checked in 1.3 s`,
    );
    expect(line).not.toMatch(COMMAND);
  });

  it('digestLine: how long the SHA-256 took and how much of it the run waited for; the file escaped', () => {
    const line = digestLine('::error::x.tar', SHA, 2.04, 0.35);
    expect(line).toBe(
      `SHA-256 of \\u{3a}\\u{3a}error:\\u{3a}x.tar: ${SHA} (hashed in 2.0 s, 0.3 s of it waited for)`,
    );
    expect(line).not.toMatch(COMMAND);
  });

  it('uploadDoneLine: the reason an upload was skipped', () => {
    expect(
      uploadDoneLine(MiB, { uploaded: false, seconds: 0, multipart: false, parts: 0, skipped: 'x\ny' }),
    ).toBe('Upload skipped: x\\ny');
  });

  it('batchLine: a request id from the service', () => {
    expect(
      batchLine({ index: 0, of: 1, servers: 2, requestId: 'r\n::error::x', started: 2, rejected: 0 }),
    ).toBe('Batch 1 of 1: 2 servers, request id r\\n:\\u{3a}error:\\u{3a}x, 2 jobs started');
  });

  it('failureLine: a service message with a new line stays one line', () => {
    const error = new ServiceError({
      service: 'CPH',
      operation: 'PushShareFiles',
      status: 400,
      code: 'CPS.0001',
      requestId: 'req-9',
      detail: 'bad\n::error::forged',
      hint: 'check server-ids',
    });
    expect(failureLine(error, new Redactor())).toBe(
      'cph-publish: CPH PushShareFiles failed: bad\\n:\\u{3a}error:\\u{3a}forged ' +
        '(HTTP 400, error code CPS.0001, request id req-9) — check server-ids',
    );
  });

  it('failureLine: a tar problem naming a hostile entry, and a run failure quoting a server', () => {
    const tar = new TarError(
      HOSTILE,
      [{ entry: 'data/x', reason: 'absolute path', code: 'absolute-path' }],
      0,
    );
    expect(failureLine(tar, new Redactor())).not.toMatch(COMMAND);
    expect(failureLine(new RunFailure('x\r\n##[error]y'), new Redactor())).toBe(
      'cph-publish: x\\r\\n##\\u{5b}error]y',
    );
  });

  it('failureLine: an unexpected error keeps its stack a frame a line, each line escaped', () => {
    const error = new Error('boom\n::error::forged');
    error.stack = 'Error: boom\n::error::forged\n    at f (src/main.ts:1:1)';
    expect(failureLine(error, new Redactor())).toBe(
      'cph-publish: unexpected error: Error: boom\n\\u{3a}\\u{3a}error:\\u{3a}forged\n    at f (src/main.ts:1:1)',
    );
    expect(failureLine('a\nb', new Redactor())).toBe('cph-publish: unexpected error: a\\nb');
  });

  it('failureLine: secrets are still redacted after escaping', () => {
    const redactor = new Redactor();
    redactor.add('SECRETKEY123');
    expect(failureLine(new RunFailure('echo SECRETKEY123\n'), redactor)).toBe('cph-publish: echo ***\\n');
  });

  it('outcomeFailure: server ids, codes and messages from the service', () => {
    const line = outcomeFailure(
      report([server('s1', 'failed', { error_code: 'C\n1', error_msg: 'disk\n::error::full' })]),
    );
    expect(line).toMatch(
      /^1 job failed \(s1 C\\n1 "disk :\\u\{3a\}error:\\u\{3a\}full"\) of 1 server \[request ids req-1\] — /,
    );
    expect(line).not.toMatch(COMMAND);
  });

  it('timeoutMessage: the last poll error', () => {
    const line = timeoutMessage(
      ['s1'],
      { succeeded: 0, failed: 0, running: 1, total: 1 },
      60,
      new Error('x\ny'),
    );
    expect(line).toMatch(
      /^1 of 1 job still running after wait-timeout 60 s \(servers s1\); the last poll failed: x\\ny — /,
    );
  });

  it('duplicatesLine: one id, escaped like the rest', () => {
    expect(duplicatesLine(['::x'])).toBe(
      'server id \\u{3a}\\u{3a}x is listed more than once; pushing to it once',
    );
  });
});

describe('counts in the log are singular or plural as they should be', () => {
  it.each([
    [1, 1, 'Batch 1 of 2: 1 server, request id r, 1 job started'],
    [2, 0, 'Batch 1 of 2: 2 servers, request id r, 0 jobs started, 2 rejected'],
  ])('batchLine with %i servers, %i started', (servers, started, line) => {
    expect(
      batchLine({ index: 0, of: 2, servers, requestId: 'r', started, rejected: servers - started }),
    ).toBe(line);
  });

  it('inspectedLine: 1 entry', () => {
    expect(inspectedLine('app.tar', scan(1, ['data']).tar, 0.5)).toBe(
      `app.tar: 1 entry, 1.0 MiB of file data, top level: data; checked in 0.5 s`,
    );
  });

  it('uploadDoneLine: parts', () => {
    expect(uploadDoneLine(10 * MiB, { uploaded: true, seconds: 2, multipart: true, parts: 1 })).toBe(
      'Uploaded 10.0 MiB in 2.0 s (5.0 MiB/s) in 1 part',
    );
  });

  it('outcomeFailure: 1 server, and 1 server was rejected', () => {
    expect(
      outcomeFailure(report([server('s1', 'rejected', { job_id: null, error_code: 'CPS.0005' })], [])),
    ).toBe(
      '1 server was rejected (s1 CPS.0005) of 1 server — check server-ids: each must be a cloud phone server ' +
        'of this project and region whose flavor supports shared storage',
    );
  });

  it('timeoutMessage: 2 of 3 jobs', () => {
    expect(
      timeoutMessage(['a', 'b'], { succeeded: 1, failed: 0, running: 2, total: 3 }, 5, undefined),
    ).toMatch(/^2 of 3 jobs still running after wait-timeout 5 s \(servers a, b\) — raise wait-timeout/);
  });
});
