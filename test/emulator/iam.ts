/** IAM: only `GET /v3/projects?name=<region>`, which the action uses to find its project id. */
import { apigErrorResponse, jsonResponse } from './cph.js';
import type { HandlerResponse, ProjectDef } from './types.js';

export const DEFAULT_DOMAIN_ID = 'd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0';

export function handleIam(
  method: string,
  path: string,
  query: Record<string, string>,
  projects: ProjectDef[],
  origin: string,
  requestId: string,
): HandlerResponse {
  if (method !== 'GET' || path.replace(/\/+$/, '') !== '/v3/projects') {
    return apigErrorResponse(
      404,
      'APIG.0101',
      'The API does not exist or has not been published in the environment.',
      requestId,
    );
  }
  const name = query['name'];
  const matches = projects.filter((p) => name === undefined || p.name === name);
  const selfLink = `${origin}/v3/projects${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`;
  return jsonResponse({
    projects: matches.map((p) => ({
      id: p.id,
      name: p.name,
      domain_id: p.domainId ?? DEFAULT_DOMAIN_ID,
      description: '',
      enabled: p.enabled ?? true,
      is_domain: false,
      parent_id: p.domainId ?? DEFAULT_DOMAIN_ID,
      links: { self: `${origin}/v3/projects/${p.id}` },
    })),
    links: { self: selfLink, previous: null, next: null },
  });
}
