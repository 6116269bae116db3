/**
 * The CPH calls the action makes: PushShareFiles, ListJobs and ShowJob; to choose and check the
 * servers, ListCloudPhoneServers and ListCloudPhoneModels (every page, read once).
 */
import { ServiceError } from '../errors.js';
import type { FleetServer, PhoneModel } from '../fleet/servers.js';
import { apigRequest } from './apig.js';
import type { ClientContext } from './context.js';

/** One entry of PushShareFiles' `jobs`: a job, or a per-server refusal. */
export interface PushJobEntry {
  server_id: string;
  job_id: string | null;
  error_code: string | null;
  error_msg: string | null;
}

export interface PushResult {
  requestId: string;
  jobs: PushJobEntry[];
}

/** A CPH job as ListJobs and ShowJob return it; the text fields may be null. */
export interface Job {
  job_id: string;
  server_id: string | null;
  status: number;
  error_code: string | null;
  error_msg: string | null;
  execute_msg: string | null;
}

export interface CphTarget {
  endpoint: URL;
  projectId: string;
}

function cphUrl(target: CphTarget, path: string): URL {
  return new URL(`/v1/${target.projectId}/cloud-phone/${path}`, target.endpoint);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function malformed(operation: string, requestId: string | undefined, what: string): ServiceError {
  return new ServiceError({
    service: 'CPH',
    operation,
    requestId,
    detail: `unexpected answer: ${what}`,
    hint: 'check that cph-endpoint points at the CPH API of your region',
  });
}

export async function pushShareFiles(
  ctx: ClientContext,
  target: CphTarget,
  push: { bucket: string; objectPath: string; serverIds: string[] },
): Promise<PushResult> {
  // Exactly these three keys: DeleteShareFiles shares the method and URI and is
  // told apart only by its body.
  const body = { bucket_name: push.bucket, object_path: push.objectPath, server_ids: push.serverIds };
  const { data, requestId } = await apigRequest<{ request_id?: unknown; jobs?: unknown }>(ctx, {
    service: 'CPH',
    operation: 'PushShareFiles',
    method: 'POST',
    url: cphUrl(target, 'phones/share-files'),
    body,
    idempotent: false,
    finishOnCancel: true,
  });
  if (!requestId) throw malformed('PushShareFiles', undefined, 'no request_id');
  if (!Array.isArray(data.jobs)) throw malformed('PushShareFiles', requestId, 'no jobs array');
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

function toJob(raw: unknown): Job | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.job_id !== 'string') return undefined;
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

/** One page of ListJobs for up to 20 PushShareFiles request ids. */
export async function listJobs(
  ctx: ClientContext,
  target: CphTarget,
  page: { requestIds: string[]; offset: number; limit: number },
): Promise<Job[]> {
  const url = cphUrl(target, 'jobs');
  url.searchParams.set('request_ids', page.requestIds.join(','));
  url.searchParams.set('offset', String(page.offset));
  url.searchParams.set('limit', String(page.limit));
  const { data, requestId } = await apigRequest<{ jobs?: unknown }>(ctx, {
    service: 'CPH',
    operation: 'ListJobs',
    method: 'GET',
    url,
    idempotent: true,
  });
  if (!Array.isArray(data.jobs)) throw malformed('ListJobs', requestId, 'no jobs array');
  return data.jobs.map(toJob).filter((job): job is Job => job !== undefined);
}

export async function showJob(ctx: ClientContext, target: CphTarget, jobId: string): Promise<Job> {
  const { data, requestId } = await apigRequest<unknown>(ctx, {
    service: 'CPH',
    operation: 'ShowJob',
    method: 'GET',
    url: cphUrl(target, `jobs/${encodeURIComponent(jobId)}`),
    idempotent: true,
  });
  const job = toJob(data);
  if (!job) throw malformed('ShowJob', requestId, 'no job_id');
  return job;
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

const PAGE = 100;

/** Every server of the project, every page read once (limit 100, `count` is the total). */
export async function listCloudPhoneServers(ctx: ClientContext, target: CphTarget): Promise<FleetServer[]> {
  const servers: FleetServer[] = [];
  for (let offset = 0; ; ) {
    const url = cphUrl(target, 'servers');
    url.searchParams.set('offset', String(offset));
    url.searchParams.set('limit', String(PAGE));
    const { data, requestId } = await apigRequest<{ count?: unknown; servers?: unknown }>(ctx, {
      service: 'CPH',
      operation: 'ListCloudPhoneServers',
      method: 'GET',
      url,
      idempotent: true,
    }).catch((error: unknown) => {
      throw listForbidden(error, 'cph:servers:list');
    });
    if (!Array.isArray(data.servers)) throw malformed('ListCloudPhoneServers', requestId, 'no servers array');
    for (const raw of data.servers as Record<string, unknown>[]) {
      if (!raw || typeof raw !== 'object' || typeof raw.server_id !== 'string') continue;
      servers.push({
        id: raw.server_id,
        name: typeof raw.server_name === 'string' ? raw.server_name : '',
        status: typeof raw.status === 'number' ? raw.status : Number(raw.status),
        phoneModel: typeof raw.phone_model_name === 'string' ? raw.phone_model_name : '',
      });
    }
    offset += data.servers.length;
    const count = typeof data.count === 'number' ? data.count : undefined;
    // `count` says when to stop; without it, a short page does.
    if (data.servers.length === 0 || (count !== undefined ? offset >= count : data.servers.length < PAGE)) {
      return servers;
    }
  }
}

/** Every phone model (flavor), every page: one call unless a project has more than 100. */
export async function listCloudPhoneModels(ctx: ClientContext, target: CphTarget): Promise<PhoneModel[]> {
  const models: PhoneModel[] = [];
  for (let offset = 0; ; ) {
    const url = cphUrl(target, 'phone-models');
    url.searchParams.set('offset', String(offset));
    url.searchParams.set('limit', String(PAGE));
    const { data, requestId } = await apigRequest<{ phone_models?: unknown }>(ctx, {
      service: 'CPH',
      operation: 'ListCloudPhoneModels',
      method: 'GET',
      url,
      idempotent: true,
    }).catch((error: unknown) => {
      throw listForbidden(error, 'cph:system:listPhoneSpecifications');
    });
    if (!Array.isArray(data.phone_models)) {
      throw malformed('ListCloudPhoneModels', requestId, 'no phone_models array');
    }
    for (const raw of data.phone_models as Record<string, unknown>[]) {
      if (!raw || typeof raw !== 'object' || typeof raw.phone_model_name !== 'string') continue;
      models.push({
        name: raw.phone_model_name,
        extendSpec: typeof raw.extend_spec === 'string' ? raw.extend_spec : null,
      });
    }
    offset += data.phone_models.length;
    if (data.phone_models.length < PAGE) return models;
  }
}
