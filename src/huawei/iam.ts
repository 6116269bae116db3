/** Project id lookup: IAM `GET /v3/projects?name=<region>`, exactly one match. */
import { ServiceError } from '../errors.js';
import { apigRequest } from './apig.js';
import type { ClientContext } from './context.js';

const PROJECT_ID = /^[0-9a-f]{32}$/;

export async function resolveProjectId(
  ctx: ClientContext,
  iamEndpoint: URL,
  region: string,
): Promise<string> {
  const url = new URL('/v3/projects', iamEndpoint);
  url.searchParams.set('name', region);
  const { data, requestId } = await apigRequest<{ projects?: unknown }>(ctx, {
    service: 'IAM',
    operation: 'KeystoneListProjects',
    method: 'GET',
    url,
    idempotent: true,
  });
  const projects = Array.isArray(data.projects)
    ? (data.projects as Record<string, unknown>[]).filter((p) => p && p.name === region)
    : [];
  const fail = (detail: string) =>
    new ServiceError({
      service: 'IAM',
      operation: 'KeystoneListProjects',
      requestId,
      detail,
      hint: `set the project-id input (or HUAWEI_CLOUD_PROJECT_ID) to the project of region ${region}, or check region`,
    });
  if (projects.length === 0) throw fail(`no project named '${region}' is visible to these credentials`);
  if (projects.length > 1)
    throw fail(`${projects.length} projects are named '${region}'; cannot tell which to use`);
  const id = projects[0]?.id;
  if (typeof id !== 'string' || !PROJECT_ID.test(id))
    throw fail(`the project id IAM returned is not 32 hex digits`);
  return id;
}
