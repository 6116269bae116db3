/**
 * Vitest globalSetup: the suite gets a temp dir of its own, and leaves no report file behind.
 *
 * TMPDIR (TEMP and TMP for Windows) points at a fresh directory for the test workers and every
 * process they start, so whatever a test or the action writes through `os.tmpdir()` lands there
 * and goes with it at the end. The action writes its report to `RUNNER_TEMP`, and to `os.tmpdir()`
 * only when that is unset: every run in the suite has its own RUNNER_TEMP (runAction for child
 * runs, runner-temp.ts for run() in process), so a `cph-publish-*.json` found here at the end is a
 * run that would have left its report in the machine's temp dir, and fails the suite.
 *
 * The machine's own temp dir is not what is watched: other people's processes write there too,
 * and a check of it would fail on their files.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const TEMP_VARIABLES = ['TMPDIR', 'TEMP', 'TMP'] as const;

/** The action's report files (`cph-publish-<step>-<random>.json`) among a directory's entries. */
export function reportFilesIn(names: string[]): string[] {
  return names.filter((name) => /^cph-publish-.*\.json$/.test(name)).sort();
}

/** What to say when a run left reports in the suite's temp dir, or undefined when none did. */
export function leftBehindMessage(dir: string, reports: string[]): string | undefined {
  if (reports.length === 0) return undefined;
  const noun = reports.length === 1 ? '1 report file' : `${reports.length} report files`;
  return (
    `${noun} landed in the temp dir instead of a RUNNER_TEMP (${reports.join(', ')} in ${dir}): ` +
    'a test ran the action without RUNNER_TEMP. Give child runs runAction (test/helpers/run-action.ts), ' +
    'which sets one, and leave the RUNNER_TEMP of test/helpers/runner-temp.ts in place for run() in process.'
  );
}

export default function setup(): () => void {
  const saved = Object.fromEntries(TEMP_VARIABLES.map((name) => [name, process.env[name]]));
  const dir = mkdtempSync(path.join(tmpdir(), 'cph-publish-suite-'));
  for (const name of TEMP_VARIABLES) process.env[name] = dir;
  return () => {
    const message = leftBehindMessage(dir, reportFilesIn(readdirSync(dir)));
    if (message) {
      // A throw here is only logged by Vitest; the exit code is what CI sees.
      console.error(`\n${message}\n`);
      process.exitCode = 1;
    }
    rmSync(dir, { recursive: true, force: true });
    for (const name of TEMP_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}
