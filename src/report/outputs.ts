/** Step outputs, as the contract names them; JSON values are compact. */

import { isFailure, type RunReport, type ServerResult } from '../model/results.js';
import type { OutputName } from './output-budget.js';

/** Every output but `truncated-outputs`, which only the budget can fill in. */
export type OutputValues = Record<Exclude<OutputName, 'truncated-outputs'>, string>;

/** The `jobs` entries: every field of a server's result, in the contract's key order. */
export function jobsOf(servers: readonly ServerResult[]) {
  return servers.map(({ server_id, server_name, stage, job_id, status, error_code, error_msg }) => ({
    server_id,
    server_name,
    stage,
    job_id,
    status,
    error_code,
    error_msg,
  }));
}

export function serverIdLists(servers: readonly ServerResult[]) {
  const ids = (keep: (s: ServerResult) => boolean) => servers.filter(keep).map((s) => s.server_id);
  return {
    succeeded: ids((s) => s.status === 'succeeded'),
    failed: ids((s) => isFailure(s.status)),
    skipped: ids((s) => s.status === 'skipped'),
    current: ids((s) => s.status === 'current'),
    jobIds: servers.flatMap((s) => (s.job_id ? [s.job_id] : [])),
  };
}

/** The outputs at full size; `reportFile` is the report file's path, '' when none was written. */
export function buildOutputs(report: RunReport, reportFile: string): OutputValues {
  const lists = serverIdLists(report.servers);
  return {
    'project-id': report.projectId ?? '',
    'object-url': `obs://${report.bucket}/${report.objectPath}`,
    uploaded: String(report.uploaded),
    'request-ids': JSON.stringify(report.requestIds),
    'report-file': reportFile,
    'failed-server-ids': JSON.stringify(lists.failed),
    'skipped-server-ids': JSON.stringify(lists.skipped),
    'current-server-ids': JSON.stringify(lists.current),
    'succeeded-server-ids': JSON.stringify(lists.succeeded),
    'job-ids': JSON.stringify(lists.jobIds),
    jobs: JSON.stringify(jobsOf(report.servers)),
  };
}

/** The outputs after refused inputs: empty but valid, so `fromJSON` in a later step never fails. */
export const EMPTY_OUTPUTS: Record<OutputName, string> = {
  'project-id': '',
  'object-url': '',
  uploaded: 'false',
  'request-ids': '[]',
  'report-file': '',
  'truncated-outputs': '[]',
  'failed-server-ids': '[]',
  'skipped-server-ids': '[]',
  'current-server-ids': '[]',
  'succeeded-server-ids': '[]',
  'job-ids': '[]',
  jobs: '[]',
};
