/**
 * The pipeline, and the only place that knows its order:
 * inputs → tar check → sign in → project id → choose servers → upload
 *        → for each stage: push → wait → judge → report.
 * `@actions/core` is used here and nowhere below; wording lives in src/report/log.ts.
 */
import * as core from '@actions/core';
import { type CredentialsProvider, staticCredentials } from './auth/credentials.js';
import { CancelledError, InputError } from './errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, sleep } from './http/retry.js';
import { createDispatcher } from './http/transport.js';
import type { ClientContext } from './huawei/context.js';
import { type CphTarget, listJobs, showJob } from './huawei/cph.js';
import { resolveProjectId } from './huawei/iam.js';
import { ObsClient } from './huawei/obs.js';
import { type Config, readConfig } from './inputs.js';
import { type PushTarget, pushInBatches, serverResult } from './jobs/push.js';
import { countOutcomes, type TrackedJob, waitForJobs } from './jobs/wait.js';
import { Redactor } from './redact.js';
import * as text from './report/log.js';
import { boundOutputs, truncationWarning } from './report/output-budget.js';
import { buildOutputs, EMPTY_OUTPUTS, type OutputValues } from './report/outputs.js';
import { buildReportDocument, reportFilePath, writeReportFile } from './report/report-file.js';
import type { RunReport } from './report/results.js';
import { buildSummary } from './report/summary.js';
import { type FileScan, scanFile } from './tar/scan.js';
import { type UploadResult, uploadFile } from './upload/upload.js';
import { VERSION } from './version.js';

/** What `run()` ended with, beyond what it wrote: a cancelled run should exit at once. */
export interface RunOutcome {
  cancelled: boolean;
}

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<RunOutcome> {
  const redactor = new Redactor();
  const cancel = new AbortController();
  const stopOnSignal = onCancelSignal(cancel);
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
    report = newReport(config, env);
    await publish(config, report, { redactor, signal: cancel.signal, ...tuning });
  } catch (error) {
    const cancelled = error instanceof CancelledError || cancel.signal.aborted;
    const line = text.failureLine(cancelled ? cancel.signal.reason : error, redactor);
    if (report) {
      report.failure = line;
      report.cancelled = cancelled || undefined;
    }
    core.setFailed(line);
    if (core.isDebug() && error instanceof Error && error.stack) core.debug(redactor.redact(error.stack));
  } finally {
    stopOnSignal();
    await writeReport(report, { summary: writeSummary, redactor, env });
  }
  return { cancelled: cancel.signal.aborted };
}

/**
 * Outputs, the report file and the summary, whatever happened. Before the inputs were read the
 * outputs are empty but still valid JSON, so `fromJSON` in a later `if: always()` step does not
 * fail too. After that, the complete result goes to the report file and the outputs are fitted
 * into GitHub's limit, the ones that do not fit named in `truncated-outputs` with one warning.
 */
async function writeReport(
  report: RunReport | undefined,
  options: { summary: boolean; redactor: Redactor; env: NodeJS.ProcessEnv },
): Promise<void> {
  if (!report) {
    for (const [name, value] of Object.entries(EMPTY_OUTPUTS)) core.setOutput(name, value);
    return;
  }
  const { redactor } = options;
  const fitOutputs = (reportFile: string) => {
    const values = buildOutputs(report, reportFile);
    for (const name of Object.keys(values) as Array<keyof OutputValues>)
      values[name] = redactor.redact(values[name]);
    return boundOutputs(values);
  };
  let reportFile = reportFilePath(options.env);
  let bounded = fitOutputs(reportFile);
  try {
    await writeReportFile(
      reportFile,
      redactor.redact(JSON.stringify(buildReportDocument(report, bounded.truncated))),
    );
  } catch (error) {
    core.warning(
      `could not write the report file ${reportFile}: ${error instanceof Error ? error.message : String(error)}`,
    );
    reportFile = '';
    bounded = fitOutputs(reportFile);
  }
  for (const [name, value] of Object.entries(bounded.outputs)) core.setOutput(name, value);
  if (bounded.truncated.length) core.warning(truncationWarning(bounded.truncated, reportFile));
  if (options.summary) {
    try {
      await core.summary.addRaw(redactor.redact(buildSummary(report, reportFile || undefined))).write();
    } catch (error) {
      core.warning(
        `could not write the job summary: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/** The pipeline proper; it fills `report` as it goes and throws on the first failure that ends the run. */
async function publish(config: Config, report: RunReport, tuning: Tuning): Promise<void> {
  if (config.duplicateServerIds.length) core.warning(text.duplicatesLine(config.duplicateServerIds));
  for (const warning of config.warnings) core.warning(warning);

  const scan = config.file ? await group('Inspect tar', () => inspectTar(config)) : undefined;
  if (scan) report.file = { size: scan.size, md5Hex: scan.md5Hex };
  if (config.dryRun) {
    await group('Plan (dry run: nothing is sent)', async () => {
      for (const line of text.planLines(config, scan)) core.info(line);
    });
    report.servers = config.serverIds.map((id) =>
      serverResult({ serverId: id, serverName: null, stage: 1 }, 'planned'),
    );
    return;
  }

  const ctx = clientContext(tuning, signIn(config));
  report.signIn = ctx.credentials.info;
  const projectId = config.projectId ?? (await resolveProjectId(ctx, config.iamEndpoint, config.region));
  if (!config.projectId) core.info(`Project id of ${config.region}: ${projectId}`);
  report.projectId = projectId;
  const target: CphTarget = { endpoint: config.cphEndpoint, projectId };

  const servers = chooseServers(config);
  if (config.file && scan) {
    const result = await group('Upload', () => upload(ctx, config, config.file as string, scan));
    report.uploaded = result.uploaded;
    if (report.file && result.skipped) report.file.skipped = result.skipped;
  }
  await runStage(ctx, target, config, report, servers);
  const failure = text.outcomeFailure(report);
  if (failure) throw new text.RunFailure(failure);
}

function signIn(config: Config): CredentialsProvider {
  if (config.signIn.method === 'keys') return staticCredentials(config.signIn.credentials);
  throw new InputError([{ input: 'identity-provider', message: 'keyless sign-in is not available yet' }]);
}

/** The servers to push, in order: the ids given (server names and pre-flight come with the fleet step). */
function chooseServers(config: Config): PushTarget[] {
  return config.serverIds.map((serverId) => ({ serverId, serverName: null, stage: 1 }));
}

/** Push one stage's servers, then follow their jobs; a failed batch still lets started jobs be followed. */
async function runStage(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
  servers: PushTarget[],
): Promise<void> {
  const pushed = await group('Push', () =>
    pushInBatches(
      ctx,
      target,
      servers,
      {
        bucket: config.bucket,
        objectPath: config.objectPath,
        batchSize: config.batchSize,
        startedStatus: config.wait ? 'running' : 'submitted',
      },
      (event) => (event.requestId ? core.info(text.batchLine(event)) : core.error(text.batchLine(event))),
    ),
  );
  report.servers.push(...pushed.results);
  report.requestIds.push(...pushed.requestIds);
  let waitError: unknown;
  if (config.wait && pushed.tracked.length > 0 && !ctx.signal?.aborted) {
    await group('Wait', () => follow(ctx, target, config, report, pushed.tracked)).catch((error: unknown) => {
      waitError = error;
    });
  }
  if (pushed.error) throw pushed.error;
  if (waitError) throw waitError;
}

async function follow(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
  tracked: TrackedJob[],
): Promise<void> {
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
      sleep: (ms) => sleep(ms, ctx.signal),
      now: () => Date.now(),
      warn: (message) => core.warning(ctx.redactor.redact(message)),
      onRound: (counts) => {
        const line = text.waitCountsLine(counts);
        const now = Date.now();
        if (line !== lastLine || now - lastLogAt >= 30_000) {
          core.info(`${line} after ${Math.round((now - started) / 1000)} s`);
          lastLine = line;
          lastLogAt = now;
        }
      },
    },
  );
  for (const server of report.servers) {
    const outcome = server.job_id ? result.outcomes.get(server.job_id) : undefined;
    if (!outcome) continue;
    server.status = outcome.state;
    if (outcome.state === 'failed') {
      server.error_code = outcome.errorCode;
      server.error_msg = outcome.errorMsg && ctx.redactor.redact(outcome.errorMsg);
    }
  }
  if (result.timedOut) {
    const running = report.servers.filter((s) => s.status === 'running').map((s) => s.server_id);
    throw new text.RunFailure(
      text.timeoutMessage(
        running,
        countOutcomes(result.outcomes),
        config.waitTimeoutSeconds,
        result.lastPollError,
      ),
    );
  }
}

async function upload(
  ctx: ClientContext,
  config: Config,
  file: string,
  scan: FileScan,
): Promise<UploadResult> {
  const obs = new ObsClient(ctx, { endpoint: config.obsEndpoint, bucket: config.bucket });
  core.info(text.uploadStartLine(file, scan.size, config.bucket, config.objectPath));
  const result = await uploadFile(
    obs,
    { path: file, key: config.objectPath, scan, skipUnchanged: config.skipUnchanged },
    {
      progress: text.throttledProgress('Uploaded', (line) => core.info(line)),
      log: (message) => core.info(message),
      warn: (message) => core.warning(ctx.redactor.redact(message)),
    },
  );
  core.info(text.uploadDoneLine(scan.size, result));
  return result;
}

async function inspectTar(config: Config): Promise<FileScan> {
  const started = Date.now();
  const file = config.file as string;
  const scan = await scanFile(file, {
    strictLayout: config.strictLayout,
    onProgress: text.throttledProgress('Read', (line) => core.info(line)),
  });
  core.info(text.inspectedLine(file, scan, (Date.now() - started) / 1000));
  return scan;
}

// ---- plumbing: the run's context, signals, knobs --------------------------------------------

interface Tuning {
  redactor: Redactor;
  signal: AbortSignal;
  timeoutMs: number;
  retry: RetryPolicy;
}

function clientContext(tuning: Tuning, credentials: CredentialsProvider): ClientContext {
  return {
    dispatcher: createDispatcher(),
    credentials,
    signal: tuning.signal,
    redactor: tuning.redactor,
    timeoutMs: tuning.timeoutMs,
    retry: tuning.retry,
    log: (message) => core.info(message),
    userAgent: `cph-publish/${VERSION}`,
  };
}

function newReport(config: Config, env: NodeJS.ProcessEnv): RunReport {
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

/**
 * The runner cancels a job with SIGINT, then SIGTERM, then a kill a few seconds later. The first
 * signal aborts the run's AbortSignal: nothing new starts, requests and waits end at once, and
 * `run()` still writes the outputs and the summary. Returns the function that removes the handlers.
 */
function onCancelSignal(cancel: AbortController): () => void {
  const handler = (name: NodeJS.Signals) => {
    if (cancel.signal.aborted) return;
    core.warning(`Received ${name}: cancelling — starting nothing new, writing what is known`);
    cancel.abort(new CancelledError(name));
    // A last resort should anything not honour the signal: the runner kills us soon anyway.
    setTimeout(() => process.exit(1), 4500).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  core.startGroup(name);
  try {
    return await fn();
  } finally {
    core.endGroup();
  }
}

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
