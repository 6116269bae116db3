/** The per-server result every output and the summary are made from. */
import type { SignInInfo } from '../auth/credentials.js';
import type { StageReport } from './fleet.js';

export type ServerStatus =
  | 'planned'
  | 'submitted'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'skipped'
  /** Not pushed: the ledger says the server already holds this bundle. */
  | 'current';

export interface ServerResult {
  server_id: string;
  /** From ListCloudPhoneServers when it was read, else null. */
  server_name: string | null;
  /** The 1-based rollout stage the server was (or would have been) pushed in; null when refused by pre-flight. */
  stage: number | null;
  job_id: string | null;
  status: ServerStatus;
  error_code: string | null;
  error_msg: string | null;
}

export interface RunReport {
  projectId: string | undefined;
  bucket: string;
  objectPath: string;
  uploaded: boolean;
  /** Size and SHA-256 (hex) of the local file, when `file` was given. */
  file?: { size: number; sha256Hex: string; skipped?: string };
  requestIds: string[];
  servers: ServerResult[];
  dryRun: boolean;
  /** The rollout: every stage planned (`of`) and those that ran, with where it stopped. */
  rollout?: { of: number; stages: StageReport[] };
  /** How the run signed in; set once the credentials are known. */
  signIn?: SignInInfo;
  /** Set when SIGINT/SIGTERM ended the run. */
  cancelled?: boolean;
  git: { ref?: string; sha?: string; commitUrl?: string };
  /** Set when the run failed: the one line the step fails with. */
  failure?: string;
}

export const STATUS_ORDER: ServerStatus[] = [
  'succeeded',
  'current',
  'failed',
  'rejected',
  'skipped',
  'running',
  'submitted',
  'planned',
];

export function countByStatus(servers: ServerResult[]): Map<ServerStatus, number> {
  const counts = new Map<ServerStatus, number>();
  for (const s of servers) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return counts;
}

export function isFailure(status: ServerStatus): boolean {
  return status === 'failed' || status === 'rejected';
}
