/**
 * Writes the run's result where the runner reads it: the step outputs, the report file and the
 * job summary, whatever happened. The runner's own files missing is one clear error line, never
 * a stack trace.
 */
import * as core from '@actions/core';
import type { RunReport } from '../model/results.js';
import type { Redactor } from '../redact.js';
import { errorMessage, logSafe } from '../util/text.js';
import { boundOutputs, truncationWarning } from './output-budget.js';
import { buildOutputs, EMPTY_OUTPUTS, type OutputValues } from './outputs.js';
import { buildReportDocument, reportFilePath, writeReportFile } from './report-file.js';
import { buildSummary } from './summary.js';

/**
 * Before the inputs were read the outputs are empty but still valid JSON, so `fromJSON` in a later
 * `if: always()` step does not fail too. After that, the complete result goes to the report file
 * and the outputs are fitted into GitHub's limit, the ones that do not fit named in
 * `truncated-outputs` with one warning.
 */
export async function writeReport(
  report: RunReport | undefined,
  options: { summary: boolean; redactor: Redactor; env: NodeJS.ProcessEnv },
): Promise<void> {
  if (!report) {
    setOutputs(EMPTY_OUTPUTS, options.env);
    return;
  }
  const { redactor } = options;
  const fitOutputs = (reportFile: string) => {
    const values = buildOutputs(report, reportFile);
    for (const name of Object.keys(values) as Array<keyof OutputValues>)
      values[name] = redactor.redact(values[name]);
    return boundOutputs(values);
  };
  let reportFile = reportFilePath(options.env);
  let bounded = fitOutputs(reportFile);
  try {
    await writeReportFile(
      reportFile,
      redactor.redact(JSON.stringify(buildReportDocument(report, bounded.truncated))),
    );
  } catch (error) {
    core.warning(
      `could not write the report file ${logSafe(reportFile)}: ${logSafe(redactor.redact(errorMessage(error)))}`,
    );
    reportFile = '';
    bounded = fitOutputs(reportFile);
  }
  if (setOutputs(bounded.outputs, options.env) && bounded.truncated.length)
    core.warning(truncationWarning(bounded.truncated, reportFile));
  if (options.summary) {
    try {
      await core.summary.addRaw(redactor.redact(buildSummary(report, reportFile || undefined))).write();
    } catch (error) {
      core.warning(
        `could not write the job summary: ${logSafe(redactor.redact(errorMessage(error)))} — GITHUB_STEP_SUMMARY must name a file the step can write; ` +
          'the outputs and the report file have the same result',
      );
    }
  }
}

/** Sets every output; false (with one error line, failing the step) when `GITHUB_OUTPUT` cannot be written. */
function setOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv): boolean {
  try {
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
    return true;
  } catch (error) {
    core.setFailed(
      `cph-publish: could not write the step outputs to GITHUB_OUTPUT (${logSafe(env.GITHUB_OUTPUT ?? 'not set')}): ${logSafe(errorMessage(error))} — ` +
        'it must name a file the step can append to, as the runner sets it; the report file still has the result',
    );
    return false;
  }
}
