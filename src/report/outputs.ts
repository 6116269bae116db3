/** Step outputs, as the contract names them; JSON values are compact. */
import { isFailure, type RunReport } from './results.js';

export function buildOutputs(report: RunReport): Record<string, string> {
  return {
    'project-id': report.projectId ?? '',
    'object-url': `obs://${report.bucket}/${report.objectPath}`,
    uploaded: String(report.uploaded),
    'request-ids': JSON.stringify(report.requestIds),
    'job-ids': JSON.stringify(report.servers.flatMap((s) => (s.job_id ? [s.job_id] : []))),
    jobs: JSON.stringify(
      report.servers.map(({ server_id, server_name, stage, job_id, status, error_code, error_msg }) => ({
        server_id,
        server_name,
        stage,
        job_id,
        status,
        error_code,
        error_msg,
      })),
    ),
    'succeeded-server-ids': JSON.stringify(
      report.servers.filter((s) => s.status === 'succeeded').map((s) => s.server_id),
    ),
    'failed-server-ids': JSON.stringify(
      report.servers.filter((s) => isFailure(s.status)).map((s) => s.server_id),
    ),
    'skipped-server-ids': JSON.stringify(
      report.servers.filter((s) => s.status === 'skipped').map((s) => s.server_id),
    ),
  };
}
