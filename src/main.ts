/**
 * The pipeline, and the only place that knows its order:
 * inputs → plan → (tar check → upload) → push → (wait) → report.
 * The Actions toolkit (src/toolkit.ts) is used here and nowhere below.
 */
import { InputError, ServiceError } from './errors.js';
import { JOB_FAILURE_HINT } from './hints.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './http/retry.js';
import { createDispatcher } from './http/transport.js';
import type { ClientContext } from './huawei/context.js';
import { type CphTarget, listJobs, type PushJobEntry, pushShareFiles, showJob } from './huawei/cph.js';
import { resolveProjectId } from './huawei/iam.js';
import { ObsClient } from './huawei/obs.js';
import { type Config, readConfig } from './inputs.js';
import { countOutcomes, type TrackedJob, waitForJobs } from './jobs/wait.js';
import { Redactor } from './redact.js';
import { buildOutputs } from './report/outputs.js';
import type { RunReport, ServerResult } from './report/results.js';
import { buildSummary } from './report/summary.js';
import { TarError } from './tar/inspect.js';
import { type FileScan, scanFile } from './tar/scan.js';
import * as core from './toolkit.js';
import { type UploadResult, uploadFile } from './upload/upload.js';
import { chunk } from './util/pool.js';
import { VERSION } from './version.js';

const MiB = 1024 * 1024;

/** Tuning knobs for tests and unusual networks; not inputs, since the contract fixes those. */
function knobs(env: NodeJS.ProcessEnv): { timeoutMs: number; retry: RetryPolicy } {
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

function gitContext(env: NodeJS.ProcessEnv): RunReport['git'] {
  const { GITHUB_REF: ref, GITHUB_SHA: sha, GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = env;
  return { ref, sha, commitUrl: sha && server && repo ? `${server}/${repo}/commit/${sha}` : undefined };
}

/** Thrown to end the run with one `setFailed` line once the report is complete. */
class RunFailure extends Error {}

function failureLine(error: unknown, redactor: Redactor): string {
  if (error instanceof InputError) {
    return `cph-publish: invalid input — ${error.problems.map((p) => `input '${p.input}': ${p.message}`).join('; ')}`;
  }
  if (error instanceof ServiceError) {
    return redactor.redact(`cph-publish: ${error.message}${error.hint ? ` — ${error.hint}` : ''}`);
  }
  if (error instanceof TarError || error instanceof RunFailure)
    return redactor.redact(`cph-publish: ${error.message}`);
  return redactor.redact(
    `cph-publish: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
}

async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  core.startGroup(name);
  try {
    return await fn();
  } finally {
    core.endGroup();
  }
}

function listSome(ids: string[], max = 5): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

const EMPTY_OUTPUTS: Record<string, string> = {
  'project-id': '',
  'object-url': '',
  uploaded: 'false',
  'request-ids': '[]',
  'job-ids': '[]',
  jobs: '[]',
  'succeeded-server-ids': '[]',
  'failed-server-ids': '[]',
};

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const redactor = new Redactor();
  let report: RunReport | undefined;
  let writeSummary = false;
  try {
    const config = readConfig({
      getInput: (name) => core.getInput(name),
      env,
      onSecret: (value) => {
        core.setSecret(value);
        redactor.add(value);
      },
    });
    writeSummary = config.summary;
    const tuning = knobs(env);
    report = {
      projectId: config.projectId,
      bucket: config.bucket,
      objectPath: config.objectPath,
      uploaded: false,
      requestIds: [],
      servers: [],
      dryRun: config.dryRun,
      git: gitContext(env),
    };
    await publish(config, report, { redactor, ...tuning });
  } catch (error) {
    const line = failureLine(error, redactor);
    if (report) report.failure = line;
    core.setFailed(line);
    if (core.isDebug() && error instanceof Error && error.stack) core.debug(redactor.redact(error.stack));
  } finally {
    // Outputs are written whatever happened, for everything that was submitted; before
    // that (bad input) they are empty but still valid JSON, so `fromJSON` in a later
    // `if: always()` step does not fail too.
    const outputs = report ? buildOutputs(report) : EMPTY_OUTPUTS;
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, redactor.redact(value));
    if (report) {
      if (writeSummary) {
        try {
          await core.summary.addRaw(redactor.redact(buildSummary(report))).write();
        } catch (error) {
          core.warning(
            `could not write the job summary: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
  }
}

/** The pipeline proper; it fills `report` as it goes and throws on the first failure that ends the run. */
async function publish(
  config: Config,
  report: RunReport,
  tuning: { redactor: Redactor; timeoutMs: number; retry: RetryPolicy },
): Promise<void> {
  for (const id of config.duplicateServerIds) {
    core.warning(`server id ${id} is listed more than once; pushing to it once`);
  }
  for (const warning of config.warnings) core.warning(warning);

  const scan = config.file ? await group('Inspect tar', () => inspect(config)) : undefined;
  if (scan) report.file = { size: scan.size, md5Hex: scan.md5Hex };

  if (config.dryRun) {
    printPlan(config, scan);
    report.servers = config.serverIds.map((id) => planned(id, 'planned'));
    return;
  }

  const ctx: ClientContext = {
    dispatcher: createDispatcher(),
    credentials: config.credentials,
    redactor: tuning.redactor,
    timeoutMs: tuning.timeoutMs,
    retry: tuning.retry,
    log: (message) => core.info(message),
    userAgent: `cph-publish/${VERSION}`,
  };

  if (config.file && scan) {
    const file = config.file;
    const result = await group('Upload', () => upload(ctx, config, file, scan));
    report.uploaded = result.uploaded;
    if (report.file && result.skipped) report.file.skipped = result.skipped;
  }

  const projectId = config.projectId ?? (await resolveProjectId(ctx, config.iamEndpoint, config.region));
  if (!config.projectId) core.info(`Project id of ${config.region}: ${projectId}`);
  report.projectId = projectId;
  const target: CphTarget = { endpoint: config.cphEndpoint, projectId };

  const { tracked, pushError } = await group('Push', () => push(ctx, target, config, report));
  let waitError: unknown;
  if (config.wait && tracked.length > 0) {
    // After a failed batch the jobs already started are still followed, so the
    // outputs say how they ended; the push failure stays the headline.
    await group('Wait', () => wait(ctx, target, config, report, tracked)).catch((error: unknown) => {
      waitError = error;
    });
  }
  if (pushError) throw pushError;
  if (waitError) throw waitError;
  judge(report);
}

function planned(
  serverId: string,
  status: ServerResult['status'],
  entry?: Partial<PushJobEntry>,
): ServerResult {
  return {
    server_id: serverId,
    job_id: entry?.job_id ?? null,
    status,
    error_code: entry?.error_code ?? null,
    error_msg: entry?.error_msg ?? null,
  };
}

/** A progress reporter that logs percent and MiB/s at most every 5 s. */
function throttledProgress(verb: string, started: number): (done: number, total: number) => void {
  let lastLog = started;
  return (done, total) => {
    const now = Date.now();
    if (now - lastLog < 5000 || done >= total) return;
    lastLog = now;
    const rate = done / MiB / Math.max(0.001, (now - started) / 1000);
    core.info(
      `${verb} ${Math.floor((done / total) * 100)}% (${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB), ${rate.toFixed(1)} MiB/s`,
    );
  };
}

async function upload(
  ctx: ClientContext,
  config: Config,
  file: string,
  scan: FileScan,
): Promise<UploadResult> {
  const obs = new ObsClient(ctx, { endpoint: config.obsEndpoint, bucket: config.bucket });
  core.info(
    `Uploading ${file} (${(scan.size / MiB).toFixed(1)} MiB) to obs://${config.bucket}/${config.objectPath}`,
  );
  const result = await uploadFile(
    obs,
    { path: file, key: config.objectPath, scan, skipUnchanged: config.skipUnchanged },
    {
      progress: throttledProgress('Uploaded', Date.now()),
      log: (message) => core.info(message),
      warn: (message) => core.warning(ctx.redactor.redact(message)),
    },
  );
  if (result.uploaded) {
    const rate = scan.size / MiB / Math.max(0.001, result.seconds);
    core.info(
      `Uploaded ${(scan.size / MiB).toFixed(1)} MiB in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} MiB/s)` +
        (result.multipart ? ` in ${result.parts} parts` : ' in one PUT'),
    );
  } else {
    core.info(`Upload skipped: ${result.skipped}`);
  }
  return result;
}

async function inspect(config: Config): Promise<FileScan> {
  const started = Date.now();
  const scan = await scanFile(config.file as string, {
    strictLayout: config.strictLayout,
    onProgress: throttledProgress('Read', started),
  });
  const secs = (Date.now() - started) / 1000;
  core.info(
    `${config.file}: ${scan.tar.entries} entries, ${(scan.tar.totalBytes / MiB).toFixed(1)} MiB of file data, ` +
      `top level: ${scan.tar.topLevel.join(', ') || '(none)'}; MD5 ${scan.md5Hex}; read in ${secs.toFixed(1)} s`,
  );
  return scan;
}

function printPlan(config: Config, scan: FileScan | undefined): void {
  const batches = Math.ceil(config.serverIds.length / config.batchSize);
  core.startGroup('Plan (dry run: nothing is sent)');
  if (config.file && scan) {
    core.info(
      `Would upload ${config.file} (${scan.size} bytes, MD5 ${scan.md5Hex}) to obs://${config.bucket}/${config.objectPath} ` +
        `${scan.parts.length ? `in ${scan.parts.length} parts` : 'in one PUT'} via ${config.obsEndpoint.origin}` +
        (config.skipUnchanged ? ', skipped if the object already has this size and MD5' : ''),
    );
  } else {
    core.info(`Would use the existing object obs://${config.bucket}/${config.objectPath}`);
  }
  core.info(
    config.projectId
      ? `Project id: ${config.projectId}`
      : `Project id: looked up through ${config.iamEndpoint.origin} for region ${config.region}`,
  );
  core.info(
    `Would push to ${config.serverIds.length} servers in ${batches} PushShareFiles call${batches === 1 ? '' : 's'} of at most ${config.batchSize} via ${config.cphEndpoint.origin}`,
  );
  core.info(
    config.wait
      ? `Would wait up to ${config.waitTimeoutSeconds} s for the jobs, polling every ${config.pollIntervalSeconds} s`
      : 'Would not wait for the jobs',
  );
  core.info(`Servers: ${config.serverIds.join(', ')}`);
  core.endGroup();
}

async function push(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
): Promise<{ tracked: TrackedJob[]; pushError?: unknown }> {
  const batches = chunk(config.serverIds, config.batchSize);
  const tracked: TrackedJob[] = [];
  const initialStatus = config.wait ? 'running' : 'submitted';
  for (const [index, serverIds] of batches.entries()) {
    let result: Awaited<ReturnType<typeof pushShareFiles>>;
    try {
      result = await pushShareFiles(ctx, target, {
        bucket: config.bucket,
        objectPath: config.objectPath,
        serverIds,
      });
    } catch (error) {
      // Later batches are not pushed: the cause (credentials, throttling,
      // permissions) would most likely fail them too.
      const notPushed = batches.slice(index).flat();
      const code = error instanceof ServiceError ? (error.code ?? null) : null;
      const message = error instanceof Error ? ctx.redactor.redact(error.message) : String(error);
      for (const [i, id] of notPushed.entries()) {
        const inThisBatch = i < serverIds.length;
        report.servers.push(
          planned(id, 'rejected', {
            error_code: inThisBatch ? code : null,
            error_msg: inThisBatch ? message : `not pushed: batch ${index + 1} failed before it`,
          }),
        );
      }
      core.error(
        `Batch ${index + 1} of ${batches.length} failed; ${notPushed.length} servers were not pushed`,
      );
      return { tracked, pushError: error };
    }
    report.requestIds.push(result.requestId);
    const entries = new Map(result.jobs.map((j) => [j.server_id, j]));
    let rejected = 0;
    for (const id of serverIds) {
      const entry = entries.get(id);
      if (!entry) {
        rejected++;
        report.servers.push(
          planned(id, 'rejected', { error_msg: 'PushShareFiles returned no job for this server' }),
        );
      } else if (entry.error_code || !entry.job_id) {
        rejected++;
        report.servers.push(
          planned(id, 'rejected', {
            ...entry,
            error_msg: entry.error_msg ?? (entry.job_id ? null : 'no job id'),
          }),
        );
      } else {
        report.servers.push(planned(id, initialStatus, entry));
        tracked.push({ serverId: id, jobId: entry.job_id, requestId: result.requestId });
      }
    }
    core.info(
      `Batch ${index + 1} of ${batches.length}: ${serverIds.length} servers, request id ${result.requestId}, ` +
        `${serverIds.length - rejected} jobs started${rejected ? `, ${rejected} rejected` : ''}`,
    );
  }
  return { tracked };
}

async function wait(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
  tracked: TrackedJob[],
) {
  let lastLine = '';
  let lastLogAt = 0;
  const started = Date.now();
  core.info(
    `Waiting for ${tracked.length} jobs (every ${config.pollIntervalSeconds} s, at most ${config.waitTimeoutSeconds} s)`,
  );
  const result = await waitForJobs(
    tracked,
    { pollIntervalMs: config.pollIntervalSeconds * 1000, timeoutMs: config.waitTimeoutSeconds * 1000 },
    {
      listJobs: (page) => listJobs(ctx, target, page),
      showJob: (jobId) => showJob(ctx, target, jobId),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => Date.now(),
      warn: (message) => core.warning(ctx.redactor.redact(message)),
      onRound: (counts) => {
        const line = `Jobs: ${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.running} running (of ${counts.total})`;
        const now = Date.now();
        if (line !== lastLine || now - lastLogAt >= 30_000) {
          core.info(`${line} after ${Math.round((now - started) / 1000)} s`);
          lastLine = line;
          lastLogAt = now;
        }
      },
    },
  );
  const byJob = result.outcomes;
  for (const server of report.servers) {
    const outcome = server.job_id ? byJob.get(server.job_id) : undefined;
    if (!outcome) continue;
    server.status = outcome.state;
    if (outcome.state === 'failed') {
      server.error_code = outcome.errorCode;
      server.error_msg = outcome.errorMsg && ctx.redactor.redact(outcome.errorMsg);
    }
  }
  const counts = countOutcomes(byJob);
  if (result.timedOut) {
    const running = report.servers.filter((s) => s.status === 'running').map((s) => s.server_id);
    const cause =
      result.lastPollError instanceof Error ? `; the last poll failed: ${result.lastPollError.message}` : '';
    throw new RunFailure(
      `${counts.running} of ${counts.total} jobs still running after wait-timeout ${config.waitTimeoutSeconds} s ` +
        `(servers ${listSome(running)})${cause} — raise wait-timeout for large bundles, or check the jobs in the CPH console; ` +
        JOB_FAILURE_HINT,
    );
  }
}

function judge(report: RunReport): void {
  const failed = report.servers.filter((s) => s.status === 'failed');
  const rejected = report.servers.filter((s) => s.status === 'rejected');
  if (!failed.length && !rejected.length) return;
  const describe = (s: ServerResult) =>
    `${s.server_id}${s.error_code ? ` ${s.error_code}` : ''}${s.error_msg ? ` "${s.error_msg}"` : ''}`;
  const parts: string[] = [];
  if (failed.length)
    parts.push(
      `${failed.length} job${failed.length === 1 ? '' : 's'} failed (${failed.slice(0, 3).map(describe).join('; ')}${failed.length > 3 ? '; …' : ''})`,
    );
  if (rejected.length)
    parts.push(
      `${rejected.length} server${rejected.length === 1 ? ' was' : 's were'} rejected (${rejected.slice(0, 3).map(describe).join('; ')}${rejected.length > 3 ? '; …' : ''})`,
    );
  const hint = failed.length
    ? JOB_FAILURE_HINT
    : 'check server-ids: each must be a cloud phone server of this project and region whose flavor supports shared storage';
  const requestIds = report.requestIds.length ? ` [request ids ${listSome(report.requestIds, 3)}]` : '';
  throw new RunFailure(`${parts.join(' and ')} of ${report.servers.length} servers${requestIds} — ${hint}`);
}
