/**
 * GitHub's side of keyless sign-in: the ID-token endpoint a job reaches through
 * `ACTIONS_ID_TOKEN_REQUEST_URL` with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`,
 * answering `{"value": <JWT>}` signed RS256 by the current key of GitHub's JWKS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Jwks, newSigningKey, type SigningKey, signJwt } from './jwt.js';
import type { HandlerResponse } from './types.js';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** Path of the emulated ID-token endpoint; the request URL carries `?api-version=2.0` like GitHub's. */
export const ID_TOKEN_PATH = '/_github/idtoken';

/** The job the token describes. `sub` and the default audience are derived from it. */
export interface GitHubJob {
  repository: string;
  ref: string;
  sha: string;
  workflow: string;
  eventName: string;
  environment?: string;
  actor: string;
  runId: string;
}

export const DEFAULT_GITHUB_JOB: GitHubJob = {
  repository: 'example/game',
  ref: 'refs/tags/v1.2.3',
  sha: '0123456789abcdef0123456789abcdef01234567',
  workflow: 'release',
  eventName: 'push',
  actor: 'octocat',
  runId: '4242',
};

/** GitHub's `sub`: the environment when there is one, else the ref. */
export function subjectOf(job: GitHubJob): string {
  return job.environment
    ? `repo:${job.repository}:environment:${job.environment}`
    : `repo:${job.repository}:ref:${job.ref}`;
}

export class GitHubOidc {
  /** Keys in GitHub's JWKS; tokens are signed with the last one. */
  readonly keys: SigningKey[] = [newSigningKey()];
  /** Every ID token handed out, so tests can scan for it. */
  readonly issued: string[] = [];
  /** The value of ACTIONS_ID_TOKEN_REQUEST_TOKEN the endpoint accepts. */
  readonly requestToken = `ghs_${randomBytes(24).toString('base64url')}`;
  job: GitHubJob = { ...DEFAULT_GITHUB_JOB };
  /** Extra or replaced claims for the next tokens (e.g. `{ sub: '…' }`). */
  claimOverrides: Record<string, unknown> = {};

  constructor(private readonly clock: () => number) {}

  /** GitHub's published JWKS, as an admin would paste it into IAM. */
  jwks(): Jwks {
    return { keys: this.keys.map((k) => ({ ...k.jwk })) };
  }

  /** GitHub starts signing with a new key (the old one stays published for a while). */
  rotateKey(): void {
    this.keys.push(newSigningKey());
  }

  reset(): void {
    this.issued.length = 0;
    this.job = { ...DEFAULT_GITHUB_JOB };
    this.claimOverrides = {};
    this.keys.splice(1);
  }

  issue(audience: string | undefined, lifetimeMs: number): string {
    const now = Math.floor(this.clock() / 1000);
    const { job } = this;
    const owner = job.repository.split('/')[0] ?? '';
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      sub: subjectOf(job),
      aud: audience ?? `https://github.com/${owner}`,
      ref: job.ref,
      sha: job.sha,
      repository: job.repository,
      repository_owner: owner,
      run_id: job.runId,
      run_number: '7',
      run_attempt: '1',
      repository_visibility: 'private',
      actor: job.actor,
      workflow: job.workflow,
      event_name: job.eventName,
      ref_type: job.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      job_workflow_ref: `${job.repository}/.github/workflows/${job.workflow}.yml@${job.ref}`,
      runner_environment: 'github-hosted',
      ...(job.environment ? { environment: job.environment } : {}),
      iss: GITHUB_ISSUER,
      nbf: now - 5,
      iat: now - 5,
      exp: now + Math.round(lifetimeMs / 1000),
      ...this.claimOverrides,
    };
    const token = signJwt(claims, this.keys.at(-1) as SigningKey);
    this.issued.push(token);
    return token;
  }

  handle(
    method: string,
    query: Record<string, string>,
    authorization: string | undefined,
    lifetimeMs: number,
  ): HandlerResponse {
    const json = (status: number, value: unknown): HandlerResponse => ({
      status,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(value),
    });
    if (method !== 'GET') return json(405, { message: 'Method not allowed' });
    if (authorization !== `Bearer ${this.requestToken}`) {
      return json(401, { message: 'Bad credentials: the request token is missing or wrong' });
    }
    if (query['api-version'] !== '2.0') return json(400, { message: 'api-version 2.0 is required' });
    const audience = query['audience'];
    if (audience === '') return json(400, { message: 'audience must not be empty' });
    return json(200, { count: this.issued.length + 1, value: this.issue(audience, lifetimeMs) });
  }
}
