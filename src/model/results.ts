/**
 * The run's result model: what happened to each server, and each stage's counts. Plain data and
 * small pure functions; the steps (jobs/, rollout/) fill it and report/ presents it.
 */
import type { SignInInfo } from '../huawei/credentials.js';
import type { LedgerReport } from '../ledger/report.js';

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

/** A server to push, with its stage. */
export interface PushTarget {
  serverId: string;
  serverName: string | null;
  stage: number | null;
}

/** What the summary and the report file keep of each stage that ran. */
export interface StageReport {
  number: number;
  /** Every server of the stage, those a cancel or a failed batch left unpushed (`skipped`) too. */
  servers: number;
  succeeded: number;
  /** `rejected` + `failed` servers of this stage. */
  failed: number;
  /** Still running (at the timeout) or submitted (not waited for). */
  unfinished: number;
  skipped: number;
  /** Set on the stage after which the rollout stopped: why. */
  stopped?: string;
}

export interface RunReport {
  projectId: string | undefined;
  bucket: string;
  objectPath: string;
  uploaded: boolean;
  /** Size and SHA-256 (hex) of the local file, when `file` was given. */
  file?: { size: number; sha256Hex: string; skipped?: string };
  /** Set when the upload ran and failed or was cancelled: why (every chosen server is then `skipped`). */
  uploadFailure?: string;
  requestIds: string[];
  servers: ServerResult[];
  dryRun: boolean;
  /** The rollout: every stage planned (`of`) and those that ran, with where it stopped. */
  rollout?: { of: number; stages: StageReport[] };
  /** How the run signed in; set once the credentials are known. */
  signIn?: SignInInfo;
  /** Set when SIGINT/SIGTERM arrived during the run, whatever it was doing then. */
  cancelled?: boolean;
  git: { ref?: string; sha?: string; commitUrl?: string };
  /** Set when the run failed: the one line the step fails with. */
  failure?: string;
  /** With `ledger`: what the fleet held before, the current servers, what was pruned, the writes. */
  ledger?: LedgerReport;
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

export function countByStatus(servers: readonly ServerResult[]): Map<ServerStatus, number> {
  const counts = new Map<ServerStatus, number>();
  for (const s of servers) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return counts;
}

/** `rejected` and `failed` servers count against max-failures; `skipped` and `current` do not. */
export function isFailure(status: ServerStatus): boolean {
  return status === 'failed' || status === 'rejected';
}

export function serverResult(
  server: PushTarget,
  status: ServerStatus,
  entry?: { job_id?: string | null; error_code?: string | null; error_msg?: string | null },
): ServerResult {
  return {
    server_id: server.serverId,
    server_name: server.serverName,
    stage: server.stage,
    job_id: entry?.job_id ?? null,
    status,
    error_code: entry?.error_code ?? null,
    error_msg: entry?.error_msg ?? null,
  };
}

/** The servers of each stage, by stage number in order; servers without a stage are left out. */
export function serversByStage(servers: readonly ServerResult[]): Map<number, ServerResult[]> {
  const byStage = new Map<number, ServerResult[]>();
  for (const server of servers) {
    if (server.stage === null) continue;
    const list = byStage.get(server.stage);
    if (list) list.push(server);
    else byStage.set(server.stage, [server]);
  }
  return new Map([...byStage.entries()].sort(([a], [b]) => a - b));
}

/**
 * One stage's counts, from the servers of that stage: the one place they are computed, for the
 * rollout's stage lines, the summary and the report file alike.
 */
export function countStage(number: number, servers: readonly ServerResult[]): StageReport {
  const counts = countByStatus(servers.filter((s) => s.stage === number));
  const n = (...statuses: ServerStatus[]) => statuses.reduce((sum, s) => sum + (counts.get(s) ?? 0), 0);
  return {
    number,
    servers: [...counts.values()].reduce((a, b) => a + b, 0),
    succeeded: n('succeeded'),
    failed: n('failed', 'rejected'),
    unfinished: n('running', 'submitted'),
    skipped: n('skipped'),
  };
}

/** The results in the order of `ids` (the servers as chosen); a server not in `ids` goes last. */
export function sortByOrder(servers: readonly ServerResult[], ids: readonly string[]): ServerResult[] {
  const index = new Map(ids.map((id, i) => [id, i]));
  const at = (s: ServerResult) => index.get(s.server_id) ?? ids.length;
  return [...servers].sort((a, b) => at(a) - at(b));
}
