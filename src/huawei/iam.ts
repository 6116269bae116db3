/**
 * The IAM calls: the project id lookup (signed, `GET /v3/projects?name=<region>`, exactly one
 * match), and the two unsigned calls of keyless sign-in (an ID token for an unscoped token, that
 * token for temporary AK/SK), which authenticate with the token they carry instead.
 */
import { ServiceError } from '../errors.js';
import { apigRequest } from './apig.js';
import type { ClientContext } from './context.js';
import { huaweiRequest, readJsonObject } from './request.js';

const PROJECT_ID = /^[0-9a-f]{32}$/;

/** What to check next, from the HTTP status and IAM's error code. */
export type IamHint = (status: number | undefined, code: string | undefined) => string | undefined;

/** An unsigned call's answer: the JSON object, the (lower-case) headers and the request id. */
export interface IamAnswer {
  data: Record<string, unknown>;
  headers: Record<string, string>;
  requestId: string | undefined;
}

export class IamClient {
  private readonly base: string;

  /** `ctx` without credentials serves the unsigned calls only. */
  constructor(
    private readonly ctx: Omit<ClientContext, 'credentials'> & Partial<Pick<ClientContext, 'credentials'>>,
    readonly endpoint: URL,
  ) {
    this.base = endpoint.href.replace(/\/+$/, '');
  }

  /** The id of the one project named `region`. */
  async resolveProjectId(region: string): Promise<string> {
    if (!this.ctx.credentials)
      throw new Error('KeystoneListProjects is signed but no credentials were given');
    const url = new URL('/v3/projects', this.endpoint);
    url.searchParams.set('name', region);
    const { data, requestId } = await apigRequest<{ projects?: unknown }>(this.ctx as ClientContext, {
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

  /** CreateUnscopedTokenWithIdToken: the token comes back in the `X-Subject-Token` header. */
  unscopedToken(identityProvider: string, idToken: string, hint: IamHint): Promise<IamAnswer> {
    return this.unsigned(
      'CreateUnscopedTokenWithIdToken',
      `/v3/OS-FEDERATION/identity_providers/${encodeURIComponent(identityProvider)}/protocols/oidc/auth`,
      { Authorization: `Bearer ${idToken}` },
      {},
      hint,
    );
  }

  /** CreateTemporaryAccessKeyByToken: `{credential: {access, secret, securitytoken, expires_at}}`. */
  temporaryCredentials(unscopedToken: string, durationSeconds: number, hint: IamHint): Promise<IamAnswer> {
    return this.unsigned(
      'CreateTemporaryAccessKeyByToken',
      '/v3.0/OS-CREDENTIAL/securitytokens',
      { 'X-Auth-Token': unscopedToken },
      { auth: { identity: { methods: ['token'], token: { duration_seconds: durationSeconds } } } },
      hint,
    );
  }

  /** Safe to repeat, so retried like reads. `headers` hold secrets, never logged. */
  private async unsigned(
    operation: string,
    path: string,
    headers: Record<string, string>,
    body: unknown,
    hint: IamHint,
  ): Promise<IamAnswer> {
    const response = await huaweiRequest(this.ctx, {
      service: 'IAM',
      operation,
      method: 'POST',
      url: new URL(`${this.base}${path}`),
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
      idempotent: true,
      hint,
    });
    const { data, requestId } = readJsonObject(this.ctx, { service: 'IAM', operation }, response);
    return { data, headers: response.headers, requestId };
  }
}
