// Vitest setup file, once per test file: a RUNNER_TEMP of its own, as a runner gives each job, so
// run() called in process writes its report file there instead of in the temp dir; removed after
// the file's tests. Child runs get theirs from runAction (test/helpers/run-action.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const runnerTemp = mkdtempSync(path.join(tmpdir(), 'cph-runner-temp-'));
process.env.RUNNER_TEMP = runnerTemp;

afterAll(() => {
  if (process.env.RUNNER_TEMP === runnerTemp) delete process.env.RUNNER_TEMP;
  rmSync(runnerTemp, { recursive: true, force: true });
});
