/**
 * The CPH calls the action makes: PushShareFiles and DeleteShareFiles, ListJobs and ShowJob; to
 * choose and check the servers, ListCloudPhoneServers and ListCloudPhoneModels (every page, read
 * once, whole or not at all).
 */
import { ServiceError } from '../errors.js';
import { apigRequest } from './apig.js';
import type { ClientContext } from './context.js';
import { readAllPages } from './paging.js';
import { nonEmptyString, unexpectedAnswer } from './request.js';
import type { FleetServer, Job, PhoneModel, PushJobEntry, PushResult } from './types.js';

export interface CphTarget {
  endpoint: URL;
  projectId: string;
}

/** Options of a read made while waiting: no retry wait runs past `deadline` (ms since the epoch). */
export interface ReadOptions {
  deadline?: number;
}

const PAGE = 100;

function text(value: unknown): string | null {
  return nonEmptyString(value) ?? null;
}

export class CphClient {
  constructor(
    private readonly ctx: ClientContext,
    private readonly target: CphTarget,
  ) {}

  private url(path: string): URL {
    return new URL(`/v1/${this.target.projectId}/cloud-phone/${path}`, this.target.endpoint);
  }

  private malformed(operation: string, requestId: string | undefined, what: string): ServiceError {
    return unexpectedAnswer(
      this.ctx,
      { service: 'CPH', operation },
      { requestId },
      `unexpected answer: ${what}`,
    );
  }

  async pushShareFiles(push: {
    bucket: string;
    objectPath: string;
    serverIds: string[];
  }): Promise<PushResult> {
    // Exactly these three keys: DeleteShareFiles shares the method and URI and is
    // told apart only by its body.
    const body = { bucket_name: push.bucket, object_path: push.objectPath, server_ids: push.serverIds };
    return this.shareFiles('PushShareFiles', body);
  }

  /** Deletes `filePaths` (absolute paths on the phone) from every server's shared storage. */
  async deleteShareFiles(serverIds: string[], filePaths: string[]): Promise<PushResult> {
    // Exactly these two keys: with `bucket_name` and `object_path` it would be a push.
    return this.shareFiles('DeleteShareFiles', { server_ids: serverIds, file_paths: filePaths });
  }

  /** Both calls change state: retried only when the service surely did not act (429, 503, unsent). */
  private async shareFiles(operation: string, body: Record<string, string[] | string>): Promise<PushResult> {
    const { data, requestId } = await apigRequest<{ jobs?: unknown }>(this.ctx, {
      service: 'CPH',
      operation,
      method: 'POST',
      url: this.url('phones/share-files'),
      body,
      idempotent: false,
      finishOnCancel: true,
    });
    if (!requestId) throw this.malformed(operation, undefined, 'no request_id');
    if (!Array.isArray(data.jobs)) throw this.malformed(operation, requestId, 'no jobs array');
    const jobs: PushJobEntry[] = [];
    for (const entry of data.jobs as Record<string, unknown>[]) {
      if (!entry || typeof entry !== 'object' || typeof entry.server_id !== 'string') continue;
      jobs.push({
        server_id: entry.server_id,
        job_id: text(entry.job_id),
        error_code: text(entry.error_code),
        error_msg: text(entry.error_msg),
      });
    }
    return { requestId, jobs };
  }

  /** One page of ListJobs for up to 20 PushShareFiles request ids; an entry without job_id fails. */
  async listJobs(
    page: { requestIds: string[]; offset: number; limit: number },
    options: ReadOptions = {},
  ): Promise<Job[]> {
    const url = this.url('jobs');
    url.searchParams.set('request_ids', page.requestIds.join(','));
    url.searchParams.set('offset', String(page.offset));
    url.searchParams.set('limit', String(page.limit));
    const { data, requestId } = await apigRequest<{ jobs?: unknown }>(this.ctx, {
      service: 'CPH',
      operation: 'ListJobs',
      method: 'GET',
      url,
      idempotent: true,
      deadline: options.deadline,
    });
    if (!Array.isArray(data.jobs)) throw this.malformed('ListJobs', requestId, 'no jobs array');
    return data.jobs.map((raw, i) => {
      const job = toJob(raw);
      if (!job) throw this.malformed('ListJobs', requestId, `jobs[${i}] has no job_id`);
      return job;
    });
  }

  async showJob(jobId: string, options: ReadOptions = {}): Promise<Job> {
    const { data, requestId } = await apigRequest<unknown>(this.ctx, {
      service: 'CPH',
      operation: 'ShowJob',
      method: 'GET',
      url: this.url(`jobs/${encodeURIComponent(jobId)}`),
      idempotent: true,
      deadline: options.deadline,
    });
    const job = toJob(data);
    if (!job) throw this.malformed('ShowJob', requestId, 'no job_id');
    return job;
  }

  /** Every server of the project: until `count` are collected, or a failure. */
  async listServers(): Promise<FleetServer[]> {
    const operation = 'ListCloudPhoneServers';
    return readAllPages(this.ctx, {
      service: 'CPH',
      operation,
      noun: 'servers',
      pageSize: PAGE,
      read: async (offset) => {
        const { data, requestId } = await this.listPage<{ count?: unknown; servers?: unknown }>(
          operation,
          'servers',
          offset,
          'cph:servers:list',
        );
        if (!Array.isArray(data.servers)) throw this.malformed(operation, requestId, 'no servers array');
        if (typeof data.count !== 'number') throw this.malformed(operation, requestId, 'no count');
        const entries = (data.servers as unknown[]).map((raw, i): FleetServer => {
          const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
          if (typeof r.server_id !== 'string' || r.server_id === '') {
            throw this.malformed(operation, requestId, `servers[${offset + i}] has no server_id`);
          }
          return {
            id: r.server_id,
            name: typeof r.server_name === 'string' ? r.server_name : '',
            status: typeof r.status === 'number' ? r.status : Number(r.status),
            phoneModel: typeof r.phone_model_name === 'string' ? r.phone_model_name : '',
          };
        });
        return { entries, count: data.count, requestId };
      },
    });
  }

  /** Every phone model (flavor): pages while they come back full (this list has no count). */
  async listPhoneModels(): Promise<PhoneModel[]> {
    const operation = 'ListCloudPhoneModels';
    return readAllPages(this.ctx, {
      service: 'CPH',
      operation,
      noun: 'phone models',
      pageSize: PAGE,
      read: async (offset) => {
        const { data, requestId } = await this.listPage<{ phone_models?: unknown }>(
          operation,
          'phone-models',
          offset,
          'cph:system:listPhoneSpecifications',
        );
        if (!Array.isArray(data.phone_models)) {
          throw this.malformed(operation, requestId, 'no phone_models array');
        }
        const entries = (data.phone_models as unknown[]).map((raw, i): PhoneModel => {
          const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
          if (typeof r.phone_model_name !== 'string' || r.phone_model_name === '') {
            throw this.malformed(operation, requestId, `phone_models[${offset + i}] has no phone_model_name`);
          }
          return {
            name: r.phone_model_name,
            extendSpec: typeof r.extend_spec === 'string' ? r.extend_spec : null,
          };
        });
        return { entries, requestId };
      },
    });
  }

  private async listPage<T>(operation: string, path: string, offset: number, permission: string) {
    const url = this.url(path);
    url.searchParams.set('offset', String(offset));
    url.searchParams.set('limit', String(PAGE));
    return apigRequest<T>(this.ctx, {
      service: 'CPH',
      operation,
      method: 'GET',
      url,
      idempotent: true,
    }).catch((error: unknown) => {
      throw listForbidden(error, permission);
    });
  }
}

function toJob(raw: unknown): Job | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.job_id !== 'string' || r.job_id === '') return undefined;
  const status = typeof r.status === 'number' ? r.status : Number(r.status);
  return {
    job_id: r.job_id,
    server_id: text(r.server_id),
    status: Number.isFinite(status) ? status : Number.NaN,
    error_code: text(r.error_code),
    error_msg: text(r.error_msg),
    execute_msg: text(r.execute_msg),
  };
}

/** A 403 on a pre-flight list: name the permission, or the way to do without the check. */
function listForbidden(error: unknown, permission: string): unknown {
  if (!(error instanceof ServiceError) || error.status !== 403) return error;
  return new ServiceError({
    service: error.service,
    operation: error.operation,
    status: error.status,
    code: error.code,
    requestId: error.requestId,
    detail: error.detail,
    hint:
      `the credentials may not list this (IAM action ${permission}): grant it, ` +
      'or set preflight: false to push without checking the servers',
    cause: error,
  });
}
