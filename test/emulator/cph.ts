/**
 * Cloud Phone: PushShareFiles, DeleteShareFiles, ListJobs, ShowJob, ListCloudPhoneServers,
 * ListCloudPhoneModels. A job's status is computed from the job clock (real time unless a test
 * froze it) whenever it is asked for, from the behaviour its server had when the job was created.
 * What a job does to the server's shared storage (`storage.ts`) happens when it ends, in the
 * order jobs end: settled before every request is handled and before the storage is read.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JobClock } from './job-clock.js';
import type { ObsStore } from './obs.js';
import { readTarMembers, SharedStorage, type TarMember } from './storage.js';
import type {
  EmulatorSettings,
  HandlerResponse,
  JobFailure,
  PhoneBehaviour,
  PhoneModelDef,
  ProjectDef,
  ServerDef,
} from './types.js';

/** Error codes the emulator answers with where the spec names none (plausible, CPS-style). */
export const CPH_ERRORS = {
  invalidParameter: 'CPS.0001',
  projectNotFound: 'CPS.0002',
  invalidServerId: 'CPS.0097',
  jobNotFound: 'CPS.0015',
  objectMissing: 'CPS.0210',
  pushFailed: 'CPS.0212',
  unpackFailed: 'CPS.0213',
  phoneNotFound: 'CPS.0005',
  serverNotRunning: 'CPS.0214',
  noSharedStorage: 'CPS.0215',
  deleteFailed: 'CPS.0216',
  apiNotFound: 'APIG.0101',
} as const;

const DEFAULT_FAILURE: JobFailure = {
  error_code: CPH_ERRORS.pushFailed,
  error_msg: 'Push share file failed.',
  execute_msg: 'emulated failure',
};

const DEFAULT_DELETE_FAILURE: JobFailure = {
  error_code: CPH_ERRORS.deleteFailed,
  error_msg: 'Delete share file failed.',
  execute_msg: 'emulated failure',
};

export interface EmulatedJob {
  /** Creation order, used for the deterministic ListJobs order. */
  seq: number;
  /** What created it: PushShareFiles (default) or DeleteShareFiles. */
  kind?: 'push' | 'delete';
  jobId: string;
  serverId: string;
  projectId: string;
  /** request_id of the PushShareFiles (or DeleteShareFiles) answer that created the job. */
  requestId: string;
  /** Push: the object pushed. Delete: empty. */
  bucket: string;
  objectPath: string;
  /** Delete: the paths to remove. */
  filePaths?: string[];
  /** Push: the tar's members, read from OBS when the job was created (absent when it is no tar). */
  members?: TarMember[];
  /** Push: why the object could not be read as a tar (the storage model then takes nothing). */
  storageError?: string;
  /** Its effect on the storage model has been applied. */
  applied?: boolean;
  /** Job clock, ms. */
  createdAt: number;
  /** Emulator clock (skew applied) at creation, for begin_time/end_time. */
  reportedStart: number;
  durationMs: number;
  outcome: 'success' | 'failure' | 'stuck';
  failure: JobFailure | undefined;
  hidden: boolean;
  runningStatus: number;
  /** With phonesDir: the tar is unpacked when the job ends; it reports running until then. */
  unpack?: { state: 'pending' | 'done' | 'failed'; error?: string; endedAt?: number };
}

/** A job as the API shows it. */
export interface JobView {
  job_id: string;
  server_id: string;
  phone_id: string | null;
  status: number;
  begin_time: string;
  end_time: string | null;
  error_code: string | null;
  error_msg: string | null;
  execute_msg: string | null;
}

/** What happened when, on the emulator's clock (skew applied): pushes and job ends. */
export type TimelineEvent =
  | { kind: 'push'; at: number; requestId: string; serverIds: string[] }
  | { kind: 'job-end'; at: number; requestId: string; serverId: string; jobId: string; status: 2 | -1 };

/** A DeleteShareFiles call, as handled. */
export interface DeleteRecord {
  at: number;
  requestId: string;
  projectId: string;
  serverIds: string[];
  filePaths: string[];
  jobIds: string[];
}

export interface PushRecord {
  /** Emulator clock when the push was handled. */
  at: number;
  requestId: string;
  projectId: string;
  bucket: string;
  objectPath: string;
  serverIds: string[];
  jobIds: string[];
  time: number;
}

export function formatApiTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function apigErrorResponse(
  status: number,
  code: string,
  msg: string,
  requestId: string,
): HandlerResponse {
  return {
    status,
    errorCode: code,
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: JSON.stringify({ error_code: code, error_msg: msg, request_id: requestId }),
  };
}

export function jsonResponse(value: unknown): HandlerResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: JSON.stringify(value),
  };
}

const PUSH_KEYS = ['bucket_name', 'object_path', 'server_ids'];
const DELETE_KEYS = ['server_ids', 'file_paths'];
/** Characters DeleteShareFiles takes in a path (huawei-api.md). */
const DELETE_PATH_CHARS = /^[A-Za-z0-9./\-_= ]+$/;
const MAX_DELETE_PATH_BYTES = 4096;

/**
 * PushShareFiles and DeleteShareFiles share method and URI: a body with `file_paths` and neither
 * `bucket_name` nor `object_path` is a DeleteShareFiles; anything else is handled as a push.
 */
export function shareFilesOperation(body: Buffer): 'PushShareFiles' | 'DeleteShareFiles' {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'PushShareFiles';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'PushShareFiles';
  const keys = Object.keys(value);
  return keys.includes('file_paths') && !keys.includes('bucket_name') && !keys.includes('object_path')
    ? 'DeleteShareFiles'
    : 'PushShareFiles';
}

/** Why DeleteShareFiles refuses this path, or undefined. */
function deletePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'is not a string';
  if (!path.startsWith('/')) return 'is not absolute';
  if (Buffer.byteLength(path) > MAX_DELETE_PATH_BYTES) return `is longer than ${MAX_DELETE_PATH_BYTES} bytes`;
  if (!DELETE_PATH_CHARS.test(path)) return 'has a character other than A-Z a-z 0-9 . / - _ = and space';
  if (path.split('/').includes('..')) return 'has a .. segment';
  const inside = (root: string) => path.startsWith(`${root}/`) && path.replace(/\/+$/, '') !== root;
  if (!inside('/data') && !inside('/cache')) return 'is not inside /data or /cache';
  return undefined;
}
const BUCKET_NAME = /^[a-z0-9.-]{3,63}$/;
const OBJECT_PATH = /^[A-Za-z0-9./\-_+#=]{1,1024}$/;
const SERVER_ID = /^[A-Za-z0-9-]{1,64}$/;

export interface CphRequest {
  method: string;
  /** Path segments after `/v1/`. */
  segments: string[];
  query: Record<string, string>;
  contentType: string | undefined;
  body: Buffer;
  requestId: string;
}

export class CphState {
  readonly jobs: EmulatedJob[] = [];
  readonly pushes: PushRecord[] = [];
  readonly deletes: DeleteRecord[] = [];
  /** What each server's shared storage holds; reading it first applies the jobs that have ended. */
  readonly storage = new SharedStorage(() => this.settleStorage());
  /** Jobs whose end has not reached the storage model yet. */
  private unsettled: EmulatedJob[] = [];
  private readonly byId = new Map<string, EmulatedJob>();
  private seq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly children = new Set<ReturnType<typeof spawn>>();

  constructor(
    private readonly settings: EmulatorSettings,
    readonly phones: Map<string, PhoneBehaviour>,
    private readonly projects: () => ProjectDef[],
    private readonly obs: ObsStore,
    private readonly clock: () => number,
    /** The fleet (live): empty means any server id is a phone that takes the push. */
    readonly servers: ServerDef[] = [],
    readonly phoneModels: PhoneModelDef[] = [],
    private readonly jobClock: JobClock = new JobClock(),
  ) {}

  /**
   * When the job ended (emulator clock), or undefined while it runs. A job's status changes only
   * at this instant, so a client that saw it end cannot have seen it before.
   */
  endedAt(job: EmulatedJob): number | undefined {
    if (job.outcome === 'stuck') return undefined;
    if (job.unpack && job.outcome === 'success') return job.unpack.endedAt;
    // Ended by the job clock (which a test may freeze), reported on the emulator clock.
    const ended = this.jobClock.now() - job.createdAt >= job.durationMs;
    return ended ? job.reportedStart + job.durationMs : undefined;
  }

  /** Every push and every job end so far, in time order (pushes first at equal times). */
  timeline(): TimelineEvent[] {
    const events: TimelineEvent[] = this.pushes.map((p) => ({
      kind: 'push',
      at: p.at,
      requestId: p.requestId,
      serverIds: p.serverIds,
    }));
    for (const job of this.jobs) {
      const at = this.endedAt(job);
      if (at === undefined) continue;
      const status = this.view(job).status === 2 ? 2 : -1;
      events.push({
        kind: 'job-end',
        at,
        requestId: job.requestId,
        serverId: job.serverId,
        jobId: job.jobId,
        status,
      });
    }
    return events.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'push' ? -1 : 1));
  }

  /** The fleet server with this id as `projectId` lists it. */
  fleetServer(projectId: string, serverId: string): ServerDef | undefined {
    return this.servers.find(
      (s) => s.server_id === serverId && (s.projectId === undefined || s.projectId === projectId),
    );
  }

  /** Why this server could not take a push, or undefined when it can. */
  /**
   * What PushShareFiles and DeleteShareFiles both check of each server before making its job: a
   * malformed id or one not in the fleet is refused in the answer, a behaviour may refuse or omit it.
   */
  private serverCheck(
    projectId: string,
    serverId: string,
    behaviour: { reject?: { error_code: string; error_msg: string }; omit?: boolean },
  ):
    | { refused: Record<string, string> | 'omit'; inFleet?: undefined }
    | { refused?: undefined; inFleet: ServerDef | undefined } {
    if (!SERVER_ID.test(serverId)) {
      return {
        refused: {
          server_id: serverId,
          error_code: CPH_ERRORS.invalidServerId,
          error_msg: 'Invalid server_id.',
        },
      };
    }
    if (behaviour.omit) return { refused: 'omit' };
    const inFleet = this.servers.length > 0 ? this.fleetServer(projectId, serverId) : undefined;
    if (this.servers.length > 0 && !inFleet) {
      return {
        refused: { server_id: serverId, error_code: CPH_ERRORS.phoneNotFound, error_msg: 'Phone not found.' },
      };
    }
    if (behaviour.reject) {
      const { error_code, error_msg } = behaviour.reject;
      return { refused: { server_id: serverId, error_code, error_msg } };
    }
    return { inFleet };
  }

  private cannotTake(server: ServerDef): JobFailure | undefined {
    if (server.status !== 5) {
      return {
        error_code: CPH_ERRORS.serverNotRunning,
        error_msg: 'The server is not running.',
        execute_msg: `server status ${server.status}`,
      };
    }
    const model = this.phoneModels.find((m) => m.phone_model_name === server.phone_model_name);
    let spec: unknown;
    try {
      spec = JSON.parse(model?.extend_spec ?? 'null');
    } catch {
      return undefined; // the service knows its flavors; only the listing is garbled
    }
    if (spec && typeof spec === 'object' && !('max_share_disk_size_g' in spec)) {
      return {
        error_code: CPH_ERRORS.noSharedStorage,
        error_msg: 'The phone model does not support shared storage.',
        execute_msg: `flavor ${server.phone_model_name}`,
      };
    }
    return undefined;
  }

  /** Jobs of this server that are running now. */
  runningCount(serverId: string, now = this.jobClock.now()): number {
    return this.jobs.filter((j) => j.serverId === serverId && isRunning(this.view(j, now).status)).length;
  }

  jobById(jobId: string): EmulatedJob | undefined {
    return this.byId.get(jobId);
  }

  view(job: EmulatedJob, now = this.jobClock.now()): JobView {
    const base: JobView = {
      job_id: job.jobId,
      server_id: job.serverId,
      phone_id: null,
      status: job.runningStatus,
      begin_time: formatApiTime(job.reportedStart),
      end_time: null,
      error_code: null,
      error_msg: null,
      execute_msg: null,
    };
    const elapsed = now - job.createdAt;
    if (job.outcome === 'stuck' || elapsed < job.durationMs) return base;
    if (job.outcome === 'success' && job.unpack?.state === 'pending') return base;
    const endTime = formatApiTime(job.reportedStart + job.durationMs);
    const failure =
      job.outcome === 'failure'
        ? job.failure
        : job.unpack?.state === 'failed'
          ? {
              error_code: CPH_ERRORS.unpackFailed,
              error_msg: 'Failed to unpack the file on the phone.',
              execute_msg: job.unpack.error ?? null,
            }
          : undefined;
    if (failure) {
      return {
        ...base,
        status: -1,
        end_time: endTime,
        error_code: failure.error_code,
        error_msg: failure.error_msg,
        execute_msg: failure.execute_msg ?? null,
      };
    }
    return { ...base, status: 2, end_time: endTime };
  }

  reset(): void {
    this.close();
    this.jobs.length = 0;
    this.pushes.length = 0;
    this.deletes.length = 0;
    this.unsettled = [];
    this.storage.wipe();
    this.byId.clear();
    this.seq = 0;
  }

  /** Stop timers and unpacking. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
  }

  handle(req: CphRequest): HandlerResponse {
    const [projectId, cloudPhone, resource, jobId, ...rest] = req.segments;
    const get = req.method === 'GET';
    const route =
      cloudPhone !== 'cloud-phone' || rest.length > 0
        ? undefined
        : req.method === 'POST' && resource === 'phones' && jobId === 'share-files'
          ? 'push'
          : get && resource === 'jobs'
            ? jobId === undefined
              ? 'list'
              : jobId
                ? 'show'
                : undefined
            : get && resource === 'servers' && jobId === undefined
              ? 'servers'
              : get && resource === 'phone-models' && jobId === undefined
                ? 'models'
                : undefined;
    if (!route || !projectId) {
      return apigErrorResponse(
        404,
        CPH_ERRORS.apiNotFound,
        'The API does not exist or has not been published in the environment.',
        req.requestId,
      );
    }
    if (!this.projects().some((p) => p.id === projectId)) {
      return apigErrorResponse(
        404,
        CPH_ERRORS.projectNotFound,
        `Project ${projectId} not found.`,
        req.requestId,
      );
    }
    this.settleStorage();
    try {
      if (route === 'push') {
        return shareFilesOperation(req.body) === 'DeleteShareFiles'
          ? this.deleteShareFiles(projectId, req)
          : this.push(projectId, req);
      }
      if (route === 'list') return this.list(projectId, req);
      if (route === 'servers') return this.listServers(projectId, req);
      if (route === 'models') return this.listModels(req);
      return this.show(projectId, jobId!, req);
    } finally {
      // A job this answer shows as ended has reached the storage (and phonesDir) too.
      this.settleStorage();
    }
  }

  private invalid(req: CphRequest, what: string): HandlerResponse {
    return apigErrorResponse(400, CPH_ERRORS.invalidParameter, `Invalid parameter: ${what}`, req.requestId);
  }

  private push(projectId: string, req: CphRequest): HandlerResponse {
    if (!req.contentType || !/^application\/json\b/i.test(req.contentType)) {
      return this.invalid(req, 'Content-Type must be application/json');
    }
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return this.invalid(req, 'the body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.invalid(req, 'the body must be a JSON object');
    }
    const record = body as Record<string, unknown>;
    const extra = Object.keys(record).filter((k) => !PUSH_KEYS.includes(k));
    if (extra.length > 0) return this.invalid(req, `unexpected key(s) ${extra.join(', ')}`);
    const missing = PUSH_KEYS.filter((k) => !(k in record));
    if (missing.length > 0) return this.invalid(req, `missing key(s) ${missing.join(', ')}`);
    const { bucket_name: bucket, object_path: objectPath, server_ids: serverIds } = record;
    if (typeof bucket !== 'string' || !BUCKET_NAME.test(bucket)) {
      return this.invalid(req, 'bucket_name must be 3-63 lowercase letters, digits, - or .');
    }
    if (typeof objectPath !== 'string' || !OBJECT_PATH.test(objectPath) || !/\.tar$/i.test(objectPath)) {
      return this.invalid(
        req,
        'object_path must be at most 1024 of A-Z a-z 0-9 . / - _ + # = and name a .tar',
      );
    }
    if (!Array.isArray(serverIds) || serverIds.length < 1 || serverIds.length > 100) {
      return this.invalid(req, 'server_ids must be an array of 1-100 server ids');
    }
    if (serverIds.some((id) => typeof id !== 'string'))
      return this.invalid(req, 'server_ids must hold strings');

    const now = this.jobClock.now();
    const object = this.obs.storedObject(bucket, objectPath);
    const objectMissing = this.settings.requireObject && !object;
    // The phone downloads and unpacks the object: read its members once for every job of the call.
    const contents: JobContents = {};
    if (object?.segments) {
      try {
        contents.members = readTarMembers(object.segments);
      } catch (error) {
        contents.storageError = (error as Error).message;
      }
    }
    const { jobs, jobIds } = this.startJobs(
      projectId,
      serverIds as string[],
      (serverId) => this.phones.get(serverId) ?? this.settings.defaultPhone,
      { bucket, objectPath, objectMissing, requestId: req.requestId, now, contents },
    );
    this.pushes.push({
      at: this.clock(),
      requestId: req.requestId,
      projectId,
      bucket,
      objectPath,
      serverIds: [...(serverIds as string[])],
      jobIds,
      time: now,
    });
    return jsonResponse({ request_id: req.requestId, jobs });
  }

  /**
   * One job per server a push or a delete call names, in order; a server the check refuses gets
   * its refusal entry (or none) instead. The call's `jobs` answer and the ids of the jobs started.
   */
  private startJobs(
    projectId: string,
    serverIds: string[],
    behaviourOf: (serverId: string) => PhoneBehaviour,
    call: {
      bucket: string;
      objectPath: string;
      objectMissing: boolean;
      requestId: string;
      now: number;
      contents: JobContents;
    },
  ): { jobs: Array<Record<string, string>>; jobIds: string[] } {
    const jobs: Array<Record<string, string>> = [];
    const jobIds: string[] = [];
    for (const serverId of serverIds) {
      const behaviour = behaviourOf(serverId);
      const check = this.serverCheck(projectId, serverId, behaviour);
      if (check.refused) {
        if (check.refused !== 'omit') jobs.push(check.refused);
        continue;
      }
      const { inFleet } = check;
      const cannot = inFleet && this.cannotTake(inFleet);
      const job = this.createJob(
        projectId,
        serverId,
        call.bucket,
        call.objectPath,
        cannot ? { ...behaviour, outcome: 'failure', failure: cannot } : behaviour,
        call.objectMissing,
        call.requestId,
        call.now,
        call.contents,
      );
      jobIds.push(job.jobId);
      jobs.push({ server_id: serverId, job_id: job.jobId });
    }
    return { jobs, jobIds };
  }

  private createJob(
    projectId: string,
    serverId: string,
    bucket: string,
    objectPath: string,
    behaviour: PhoneBehaviour,
    objectMissing: boolean,
    requestId: string,
    now: number,
    contents: JobContents,
  ): EmulatedJob {
    this.seq += 1;
    const kind = contents.filePaths ? 'delete' : 'push';
    const outcome =
      objectMissing && behaviour.outcome !== 'stuck' ? 'failure' : (behaviour.outcome ?? 'success');
    const failure = objectMissing
      ? {
          error_code: CPH_ERRORS.objectMissing,
          error_msg: 'Failed to download the file from OBS.',
          execute_msg: `NoSuchKey: obs://${bucket}/${objectPath} does not exist`,
        }
      : outcome === 'failure'
        ? (behaviour.failure ?? (kind === 'delete' ? DEFAULT_DELETE_FAILURE : DEFAULT_FAILURE))
        : undefined;
    const job: EmulatedJob = {
      kind,
      ...contents,
      seq: this.seq,
      jobId: randomBytes(16).toString('hex'),
      serverId,
      projectId,
      requestId,
      bucket,
      objectPath,
      createdAt: now,
      reportedStart: this.clock(),
      durationMs: behaviour.durationMs ?? this.settings.defaultJobDurationMs,
      outcome,
      failure,
      hidden: behaviour.hiddenFromList === true,
      runningStatus: behaviour.runningStatus ?? 1,
    };
    this.jobs.push(job);
    this.byId.set(job.jobId, job);
    if (job.members || job.filePaths) this.unsettled.push(job);
    if (kind === 'push' && outcome === 'success' && this.settings.phonesDir) {
      this.scheduleUnpack(job, this.settings.phonesDir);
    }
    return job;
  }

  /**
   * DeleteShareFiles: body exactly `{"server_ids", "file_paths"}`, each path absolute, inside
   * `/data` or `/cache` (never those themselves), at most 4096 bytes of `A-Z a-z 0-9 . / - _ =`
   * and space, no `..`; at most 100 servers and 100 paths a call (what the action promises). A bad
   * path refuses the whole call (400 `CPS.0001`); servers are answered like a push's, one job each,
   * with `onDelete` behaviours. A job that succeeds removes the paths (and what lies under them).
   */
  private deleteShareFiles(projectId: string, req: CphRequest): HandlerResponse {
    if (!req.contentType || !/^application\/json\b/i.test(req.contentType)) {
      return this.invalid(req, 'Content-Type must be application/json');
    }
    const record = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
    const extra = Object.keys(record).filter((k) => !DELETE_KEYS.includes(k));
    if (extra.length > 0) return this.invalid(req, `unexpected key(s) ${extra.join(', ')}`);
    const missing = DELETE_KEYS.filter((k) => !(k in record));
    if (missing.length > 0) return this.invalid(req, `missing key(s) ${missing.join(', ')}`);
    const { server_ids: serverIds, file_paths: filePaths } = record;
    if (!Array.isArray(serverIds) || serverIds.length < 1 || serverIds.length > 100) {
      return this.invalid(req, 'server_ids must be an array of 1-100 server ids');
    }
    if (serverIds.some((id) => typeof id !== 'string'))
      return this.invalid(req, 'server_ids must hold strings');
    if (!Array.isArray(filePaths) || filePaths.length < 1 || filePaths.length > 100) {
      return this.invalid(req, 'file_paths must be an array of 1-100 paths');
    }
    for (let i = 0; i < filePaths.length; i++) {
      const problem = deletePathProblem(filePaths[i]);
      if (problem) return this.invalid(req, `file_paths[${i}] ${problem}`);
    }

    const now = this.jobClock.now();
    const { jobs, jobIds } = this.startJobs(
      projectId,
      serverIds as string[],
      (serverId) => (this.phones.get(serverId) ?? this.settings.defaultPhone).onDelete ?? {},
      {
        bucket: '',
        objectPath: '',
        objectMissing: false,
        requestId: req.requestId,
        now,
        contents: { filePaths: [...(filePaths as string[])] },
      },
    );
    this.deletes.push({
      at: this.clock(),
      requestId: req.requestId,
      projectId,
      serverIds: [...(serverIds as string[])],
      filePaths: [...(filePaths as string[])],
      jobIds,
    });
    return jsonResponse({ request_id: req.requestId, jobs });
  }

  /**
   * Apply to the storage model every job that has succeeded since the last call, in the order
   * they ended (creation order at equal times): a push merges its tar, a delete removes its paths
   * (and, with phonesDir, from the unpacked copy too).
   */
  settleStorage(): void {
    if (this.unsettled.length === 0) return;
    const now = this.jobClock.now();
    const done: Array<{ job: EmulatedJob; at: number }> = [];
    const still: EmulatedJob[] = [];
    for (const job of this.unsettled) {
      const status = this.view(job, now).status;
      if (status === 2) done.push({ job, at: this.endedAt(job) ?? 0 });
      else if (status !== -1) still.push(job);
    }
    this.unsettled = still;
    done.sort((a, b) => a.at - b.at || a.job.seq - b.job.seq);
    for (const { job } of done) {
      job.applied = true;
      if (job.kind === 'delete') {
        this.storage.delete(job.serverId, job.filePaths ?? []);
        const phonesDir = this.settings.phonesDir;
        if (phonesDir) {
          for (const path of job.filePaths ?? []) {
            rmSync(join(phonesDir, job.serverId, path), { recursive: true, force: true });
          }
        }
      } else if (job.members) {
        this.storage.merge(job.serverId, job.members, job.objectPath);
      }
    }
  }

  private scheduleUnpack(job: EmulatedJob, phonesDir: string): void {
    const segments = this.obs.storedObject(job.bucket, job.objectPath)?.segments;
    if (!segments) return; // requireObject off and nothing there, or data discarded: nothing to unpack
    job.unpack = { state: 'pending' };
    const unpack = job.unpack;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const dir = join(phonesDir, job.serverId);
      mkdirSync(dir, { recursive: true });
      const child = spawn('tar', ['-xf', '-', '-C', dir, '--no-same-owner'], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      this.children.add(child);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('close', (code) => {
        this.children.delete(child);
        unpack.endedAt = this.clock();
        if (code === 0) unpack.state = 'done';
        else {
          unpack.state = 'failed';
          unpack.error = stderr.trim().slice(0, 1024) || `tar exited with ${code}`;
        }
      });
      child.stdin?.on('error', () => {});
      void (async () => {
        for (const file of segments) {
          for await (const chunk of createReadStream(file)) {
            if (!child.stdin?.write(chunk)) await new Promise((r) => child.stdin?.once('drain', r));
          }
        }
        child.stdin?.end();
      })().catch((err: Error) => {
        unpack.state = 'failed';
        unpack.error = err.message;
        child.kill('SIGKILL');
      });
    }, job.durationMs);
    timer.unref();
    this.timers.add(timer);
  }

  private list(projectId: string, req: CphRequest): HandlerResponse {
    const { query } = req;
    let ids: string[] | undefined;
    if (query['request_ids'] !== undefined) {
      ids = query['request_ids']
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (ids.length > 20) return this.invalid(req, 'request_ids holds more than 20 ids');
    } else if (query['request_id'] !== undefined) {
      ids = [query['request_id']];
    }
    const page = this.paging(req);
    if ('status' in page) return page;
    const { offset, limit } = page;
    const wanted = ids ? new Set(ids) : undefined;
    const now = this.jobClock.now();
    const jobs = this.jobs
      .filter((j) => j.projectId === projectId && !j.hidden && (!wanted || wanted.has(j.requestId)))
      .slice(offset, offset + limit)
      .map((j) => this.view(j, now));
    return jsonResponse({ request_id: req.requestId, jobs });
  }

  /** `offset`/`limit` of a list call, or an error answer. */
  private paging(req: CphRequest): { offset: number; limit: number } | HandlerResponse {
    const { limit: limitText, offset: offsetText } = req.query;
    if (
      limitText !== undefined &&
      !(/^\d{1,3}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= 100)
    ) {
      return this.invalid(req, 'limit must be an integer from 1 to 100');
    }
    if (offsetText !== undefined && !/^\d{1,9}$/.test(offsetText)) {
      return this.invalid(req, 'offset must be an integer >= 0');
    }
    return {
      offset: offsetText === undefined ? 0 : Number(offsetText),
      limit: limitText === undefined ? 100 : Number(limitText),
    };
  }

  /** ListCloudPhoneServers: the fleet in its order, `count` = every match, filters as documented. */
  private listServers(projectId: string, req: CphRequest): HandlerResponse {
    const page = this.paging(req);
    if ('status' in page) return page;
    const { server_name: name, server_id: id, phone_model_name: model, status } = req.query;
    const matching = this.servers.filter(
      (s) =>
        (s.projectId === undefined || s.projectId === projectId) &&
        (name === undefined || s.server_name.includes(name)) &&
        (id === undefined || s.server_id === id) &&
        (model === undefined || s.phone_model_name === model) &&
        (status === undefined || String(s.status) === status),
    );
    const servers = matching.slice(page.offset, page.offset + page.limit).map(({ projectId: _, ...s }) => ({
      server_model_name: 'physical.rx1.xlarge',
      availability_zone: 'cn-east-3a',
      create_time: '2026-01-01T00:00:00Z',
      ...s,
    }));
    return jsonResponse({ request_id: req.requestId, count: matching.length, servers });
  }

  /** ListCloudPhoneModels: every model (or those of one `status`), paged like the server list. */
  private listModels(req: CphRequest): HandlerResponse {
    const page = this.paging(req);
    if ('status' in page) return page;
    const status = req.query['status'];
    const models = this.phoneModels
      .filter((m) => status === undefined || String(m.status ?? 1) === status)
      .slice(page.offset, page.offset + page.limit)
      .map((m) => ({ server_model_name: 'physical.rx1.xlarge', status: 1, ...m }));
    return jsonResponse({ request_id: req.requestId, phone_models: models });
  }

  private show(projectId: string, jobId: string, req: CphRequest): HandlerResponse {
    const job = this.byId.get(jobId);
    if (!job || job.projectId !== projectId) {
      return apigErrorResponse(404, CPH_ERRORS.jobNotFound, `Job ${jobId} not found.`, req.requestId);
    }
    return jsonResponse({ request_id: req.requestId, ...this.view(job) });
  }
}

/** What a job carries besides its behaviour: a push's tar members, or a delete's paths. */
interface JobContents {
  members?: TarMember[];
  storageError?: string;
  filePaths?: string[];
}

function isRunning(status: number): boolean {
  return status !== 2 && status !== -1;
}
