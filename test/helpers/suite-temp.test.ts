/**
 * The suite's temp dirs (test/helpers/suite-temp.ts, test/helpers/runner-temp.ts): a run of the
 * action that has no RUNNER_TEMP would leave its report file in the temp dir, and the suite
 * fails when one is there at the end.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportFilePath } from '../../src/report/report-file.js';
import { leftBehindMessage, reportFilesIn } from './suite-temp.js';

describe("the suite's temp dirs", () => {
  it('gives this worker a temp dir of the suite, not the machine one', () => {
    expect(path.basename(tmpdir())).toMatch(/^cph-publish-suite-/);
    expect(existsSync(tmpdir())).toBe(true);
  });

  it('gives run() in process a RUNNER_TEMP, so its report does not land in the temp dir', () => {
    const runnerTemp = process.env.RUNNER_TEMP as string;
    expect(path.basename(runnerTemp)).toMatch(/^cph-runner-temp-/);
    expect(existsSync(runnerTemp)).toBe(true);
    expect(path.dirname(reportFilePath(process.env))).toBe(path.resolve(runnerTemp));
  });

  it("picks out the action's report files among a directory's entries", () => {
    expect(
      reportFilesIn([
        'cph-publish-run-00ff.json',
        'cph-action-abc',
        'cph-publish-publish_2-1a2b.json',
        'cph-publish-run-00ff.json.tmp',
        'other.json',
      ]),
    ).toEqual(['cph-publish-publish_2-1a2b.json', 'cph-publish-run-00ff.json']);
  });

  it('says how many reports were left, where, and what to change', () => {
    expect(leftBehindMessage('/t', [])).toBeUndefined();
    expect(leftBehindMessage('/t', ['cph-publish-run-1.json'])).toMatch(
      /^1 report file landed in the temp dir instead of a RUNNER_TEMP \(cph-publish-run-1\.json in \/t\): .*runAction/,
    );
    expect(leftBehindMessage('/t', ['a.json', 'b.json'])).toMatch(
      /^2 report files landed .*\(a\.json, b\.json in \/t\)/,
    );
  });
});
