/**
 * The run's plumbing: the tuning knobs, the context every client call is made with, the empty
 * report, log groups. `@actions/core` is fine here: this is the edge the pipeline runs at.
 */
import * as core from '@actions/core';
import { InputError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../http/retry.js';
import { createDispatcher } from '../http/transport.js';
import type { UnsignedContext } from '../huawei/unsigned.js';
import type { Config } from '../inputs.js';
import type { RunReport } from '../model/results.js';
import type { Redactor } from '../redact.js';
import { VERSION } from '../version.js';

export interface Tuning {
  redactor: Redactor;
  signal: AbortSignal;
  timeoutMs: number;
  retry: RetryPolicy;
}

export function clientContext(tuning: Tuning): UnsignedContext {
  return {
    dispatcher: createDispatcher(),
    signal: tuning.signal,
    redactor: tuning.redactor,
    timeoutMs: tuning.timeoutMs,
    retry: tuning.retry,
    log: (message) => core.info(message),
    userAgent: `cph-publish/${VERSION}`,
  };
}

export function newReport(config: Config, env: NodeJS.ProcessEnv): RunReport {
  const { GITHUB_REF: ref, GITHUB_SHA: sha, GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = env;
  return {
    projectId: config.projectId,
    bucket: config.bucket,
    objectPath: config.objectPath,
    uploaded: false,
    requestIds: [],
    servers: [],
    dryRun: config.dryRun,
    git: { ref, sha, commitUrl: sha && server && repo ? `${server}/${repo}/commit/${sha}` : undefined },
  };
}

export async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  core.startGroup(name);
  try {
    return await fn();
  } finally {
    core.endGroup();
  }
}

/** Tuning knobs for tests and unusual networks; not inputs, since the contract fixes those. */
export function knobs(env: NodeJS.ProcessEnv): { timeoutMs: number; retry: RetryPolicy } {
  const num = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InputError([
        {
          input: `env ${name}`,
          message: `must be a whole number from ${min} to ${max}, got '${raw.slice(0, 40)}'`,
        },
      ]);
    }
    return value;
  };
  return {
    timeoutMs: num('CPH_PUBLISH_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    retry: {
      maxAttempts: num('CPH_PUBLISH_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts, 1, 10),
      baseDelayMs: num('CPH_PUBLISH_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseDelayMs, 0, 60_000),
      maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
    },
  };
}
