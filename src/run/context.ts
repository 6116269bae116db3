/**
 * The run's plumbing: the tuning knobs, the context every client call is made with, the empty
 * report, log groups. `@actions/core` is fine here: this is the edge the pipeline runs at.
 */
import * as core from '@actions/core';
import type { RetryPolicy } from '../http/retry.js';
import { createDispatcher } from '../http/transport.js';
import type { UnsignedContext } from '../huawei/unsigned.js';
import type { Config } from '../inputs/index.js';
import type { RunReport } from '../model/results.js';
import type { Redactor } from '../redact.js';
import { logSafe } from '../util/text.js';
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
    log: (message) => core.info(logSafe(message)),
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
