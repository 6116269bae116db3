/**
 * The run's result model for report tests: one server's result and a run report, each with
 * plain defaults a test overrides field by field.
 */
import type { RunReport, ServerResult } from '../../src/model/results.js';

/** A server of stage 1 without a name; its job id `job-<id>`, none when it was rejected or skipped. */
export function server(
  id: string,
  status: ServerResult['status'],
  extra: Partial<ServerResult> = {},
): ServerResult {
  return {
    server_id: id,
    server_name: null,
    stage: 1,
    job_id: status === 'rejected' || status === 'skipped' ? null : `job-${id}`,
    status,
    error_code: null,
    error_msg: null,
    ...extra,
  };
}

/** A run that uploaded `dir/app.tar` to `b-1` and made one request (`req-1`). */
export function runReport(servers: ServerResult[], extra: Partial<RunReport> = {}): RunReport {
  return {
    projectId: '0123456789abcdef0123456789abcdef',
    bucket: 'b-1',
    objectPath: 'dir/app.tar',
    uploaded: true,
    requestIds: ['req-1'],
    servers,
    dryRun: false,
    git: {},
    ...extra,
  };
}
