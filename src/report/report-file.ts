/**
 * The report file: the complete result as one JSON document, for a later step to read or upload
 * as an artifact. Outputs and the summary are bounded by GitHub's limits; this file is not, so
 * it is where every server's result stays whole however large the fleet.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { countByStatus, type RunReport, STATUS_ORDER, serversByStage } from '../model/results.js';
import { VERSION } from '../version.js';
import { ledgerReportDocument } from './ledger.js';
import { jobsOf, serverIdLists } from './outputs.js';

/** Bumped when a field changes meaning or goes away; new fields do not bump it. */
const REPORT_FORMAT = 1;

export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'submitted' | 'planned';

/**
 * How the run ended, matching the step's result: `failed` and `cancelled` are red, the rest green.
 * A green run that waited is `succeeded` even when some servers were skipped, current, or failed
 * within max-failures (`counts` tells them apart); one that did not wait has `submitted` servers.
 */
export function outcomeOf(report: RunReport): RunOutcome {
  if (report.cancelled) return 'cancelled';
  if (report.failure) return 'failed';
  if (report.dryRun) return 'planned';
  return report.servers.some((s) => s.status === 'submitted') ? 'submitted' : 'succeeded';
}

/** Per rollout stage (from each server's `stage`): how many servers, and how they ended. */
export function stagesOf(
  report: RunReport,
): Array<{ stage: number; servers: number } & Record<string, number>> {
  return [...serversByStage(report.servers).entries()].map(([stage, servers]) => {
    const counts = countByStatus(servers);
    return {
      stage,
      servers: servers.length,
      ...Object.fromEntries(STATUS_ORDER.filter((s) => counts.has(s)).map((s) => [s, counts.get(s) ?? 0])),
    };
  });
}

/** How many stages were planned, and where and why the rollout stopped (null when it did not). */
function rolloutOf(report: RunReport): object | null {
  if (!report.rollout) return null;
  const stopped = report.rollout.stages.find((s) => s.stopped);
  return {
    stages: report.rollout.of,
    stopped_after_stage: stopped?.number ?? null,
    stop_reason: stopped?.stopped ?? null,
  };
}

/**
 * The document. Keys are snake_case like the fields of `jobs`, so `jq` reads them without
 * quoting; every list output is here under its name with `_` (`failed_server_ids`, …), whole,
 * so a step that found an output cut reads the same value from the file.
 */
export function buildReportDocument(report: RunReport, truncatedOutputs: readonly string[]): object {
  const counts = countByStatus(report.servers);
  const lists = serverIdLists(report.servers);
  return {
    format: REPORT_FORMAT,
    action: 'cph-publish',
    action_version: VERSION,
    outcome: outcomeOf(report),
    failure: report.failure ?? null,
    cancelled: report.cancelled ?? false,
    dry_run: report.dryRun,
    project_id: report.projectId ?? null,
    object: {
      url: `obs://${report.bucket}/${report.objectPath}`,
      bucket: report.bucket,
      path: report.objectPath,
      uploaded: report.uploaded,
      file: report.file
        ? {
            size: report.file.size,
            sha256: report.file.sha256Hex,
            upload_skipped: report.file.skipped ?? null,
          }
        : null,
    },
    sign_in: report.signIn ?? null,
    git: {
      ref: report.git.ref ?? null,
      sha: report.git.sha ?? null,
      commit_url: report.git.commitUrl ?? null,
    },
    request_ids: report.requestIds,
    stages: stagesOf(report),
    rollout: rolloutOf(report),
    ledger: report.ledger ? ledgerReportDocument(report.ledger) : null,
    counts: Object.fromEntries(STATUS_ORDER.map((status) => [status, counts.get(status) ?? 0])),
    total: report.servers.length,
    truncated_outputs: truncatedOutputs,
    succeeded_server_ids: lists.succeeded,
    failed_server_ids: lists.failed,
    skipped_server_ids: lists.skipped,
    current_server_ids: lists.current,
    job_ids: lists.jobIds,
    jobs: jobsOf(report.servers),
  };
}

/**
 * Where this run's report goes: `RUNNER_TEMP` (private to the job, emptied when the next job
 * starts), else the system temp dir. The name carries the step (`GITHUB_ACTION`, so a person
 * looking at the directory or the artifact can tell two reports of one job apart) and 8 random
 * bytes: two steps of a job may both use the action, one step id can repeat (composite actions),
 * and outside a runner the temp dir is shared by every process on the machine. The file is
 * created exclusively, so a report never overwrites another file.
 */
export function reportFilePath(
  env: NodeJS.ProcessEnv,
  random: string = randomBytes(8).toString('hex'),
): string {
  const dir = env.RUNNER_TEMP || tmpdir();
  const step = (env.GITHUB_ACTION ?? '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'run';
  return path.resolve(dir, `cph-publish-${step}-${random}.json`);
}

/** Writes the document (compact JSON and a final new line); never replaces an existing file. */
export async function writeReportFile(file: string, text: string): Promise<void> {
  await writeFile(file, `${text}\n`, { encoding: 'utf8', flag: 'wx', mode: 0o644 });
}
