/**
 * The pipeline, and the only place that knows its order:
 * inputs → tar check → sign in → project id → choose servers → upload
 *        → for each stage: push → wait → judge → report.
 * `@actions/core` is used here and nowhere below; wording lives in src/report/log.ts.
 */

import * as core from '@actions/core';
import { staticCredentials } from './auth/credentials.js';
import { checkIdTokenEnvironment, keylessCredentials } from './auth/keyless.js';
import { CancelledError } from './errors.js';
import { chooseServers as pickServers } from './fleet/choose.js';
import { preflight } from './fleet/preflight.js';
import { allowedFailures, overBudget, planStages } from './fleet/stages.js';
import { type RetryPolicy, sleep } from './http/retry.js';
import { createDispatcher } from './http/transport.js';
import type { ClientContext } from './huawei/context.js';
import {
  type CphTarget,
  listCloudPhoneModels,
  listCloudPhoneServers,
  listJobs,
  showJob,
} from './huawei/cph.js';
import { resolveProjectId } from './huawei/iam.js';
import { ObsClient } from './huawei/obs.js';
import type { UnsignedContext } from './huawei/unsigned.js';
import { type Config, readConfig } from './inputs/index.js';
import { type PushTarget, pushInBatches, serverResult } from './jobs/push.js';
import { countOutcomes, type TrackedJob, waitForJobs } from './jobs/wait.js';
import { Redactor } from './redact.js';
import * as fleetText from './report/fleet.js';
import * as text from './report/log.js';
import { boundOutputs, truncationWarning } from './report/output-budget.js';
import { buildOutputs, EMPTY_OUTPUTS, type OutputValues } from './report/outputs.js';
import { buildReportDocument, reportFilePath, writeReportFile } from './report/report-file.js';
import { isFailure, type RunReport } from './report/results.js';
import { buildSummary } from './report/summary.js';
import { type FileScan, scanFile } from './tar/scan.js';
import { type UploadResult, uploadFile } from './upload/upload.js';
import { sourceMappedStack } from './util/stack.js';
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
    report = newReport(config, env);
    // Keyless sign-in cannot work without the job's ID token: say so before anything else (dry run too).
    if (config.signIn.method === 'keyless') checkIdTokenEnvironment(env);
    await publish(config, report, { redactor, signal: cancel.signal, ...config.tuning });
  } catch (error) {
    const cancelled = error instanceof CancelledError || cancel.signal.aborted;
    const line = text.failureLine(cancelled ? cancel.signal.reason : error, redactor);
    if (report) {
      report.failure = line;
      report.cancelled = cancelled || undefined;
    }
    core.setFailed(line);
    if (core.isDebug() && error instanceof Error && error.stack)
      core.debug(redactor.redact(sourceMappedStack(error.stack)));
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
  if (scan) report.file = { size: scan.size, sha256Hex: scan.sha256Hex };
  if (config.dryRun) {
    await scan?.partDigests.close();
    return plan(config, scan, report);
  }

  // Until the upload owns them, the part digests are ours to stop on any failure.
  const { ctx, target, servers } = await prepare(config, report, tuning).catch(async (error: unknown) => {
    await scan?.partDigests.close();
    throw error;
  });
  if (config.file && scan) {
    const result = await group('Upload', () => upload(ctx, config, config.file as string, scan));
    report.uploaded = result.uploaded;
    if (report.file && result.skipped) report.file.skipped = result.skipped;
  }
  await rollout(ctx, target, config, report, servers);
}

/** Dry run: print the plan, with the stages of the ids given (names are resolved at run time). */
/** Sign in, the project id, and the servers to push: everything the upload must wait for. */
async function prepare(
  config: Config,
  report: RunReport,
  tuning: Tuning,
): Promise<{ ctx: ClientContext; target: CphTarget; servers: ChosenServers }> {
  const ctx = await signIn(config, tuning);
  report.signIn = ctx.credentials.info;
  const projectId = config.projectId ?? (await resolveProjectId(ctx, config.iamEndpoint, config.region));
  if (!config.projectId) core.info(`Project id of ${config.region}: ${projectId}`);
  report.projectId = projectId;
  const target: CphTarget = { endpoint: config.cphEndpoint, projectId };
  const servers = await group('Choose servers', () => chooseServers(ctx, target, config, report));
  return { ctx, target, servers };
}

async function plan(config: Config, scan: FileScan | undefined, report: RunReport): Promise<void> {
  const stages = planStages(config.serverIds.length, config.rollout);
  await group('Plan (dry run: nothing is sent)', async () => {
    for (const line of text.planLines(config, scan)) core.info(line);
    if (config.rollout.length) {
      const names = config.serverNames.include.length > 0;
      for (const line of fleetText.plannedStageLines(stages, config.serverIds, names)) core.info(line);
    }
  });
  report.servers = stages.flatMap((stage) =>
    config.serverIds
      .slice(stage.from, stage.to)
      .map((id) => serverResult({ serverId: id, serverName: null, stage: stage.number }, 'planned')),
  );
}

/** The AK/SK found, or keyless: the job's ID token exchanged with IAM now, renewed before requests later. */
async function signIn(config: Config, tuning: Tuning): Promise<ClientContext> {
  const base = clientContext(tuning);
  if (config.signIn.method === 'keys')
    return { ...base, credentials: staticCredentials(config.signIn.credentials) };
  const credentials = keylessCredentials(base, {
    identityProvider: config.signIn.identityProvider,
    audience: config.signIn.audience,
    iamEndpoint: config.iamEndpoint,
    getIdToken: (audience) => (audience === undefined ? core.getIDToken() : core.getIDToken(audience)),
    onSecret: (value) => {
      core.setSecret(value);
      tuning.redactor.add(value);
    },
    log: (message) => core.info(message),
  });
  await credentials.get(base.signal);
  return { ...base, credentials };
}

interface ChosenServers {
  /** Those to push, with their stage. */
  servers: PushTarget[];
  /** Every server chosen, in order: the order of `jobs`. */
  order: string[];
}

/**
 * The servers to push, each with its stage: the ids given, then the name matches; with pre-flight,
 * those that cannot take the push go into the report as `rejected` or `skipped` and are left out.
 */
async function chooseServers(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
): Promise<ChosenServers> {
  const { include } = config.serverNames;
  const listed = include.length || config.preflight ? await listCloudPhoneServers(ctx, target) : undefined;
  const chosen = pickServers(config.serverIds, config.serverNames, listed);
  const given = chosen.filter((s) => s.given).length;
  core.info(fleetText.choiceLine({ given, byName: chosen.length - given }, listed?.length));
  let accepted = chosen;
  const refusals = { rejected: 0, skipped: 0 };
  if (config.preflight && listed) {
    const models = await listCloudPhoneModels(ctx, target);
    const where = { projectId: target.projectId, region: config.region };
    const { verdicts, unknownStorage } = preflight(chosen, listed, models, where);
    const refused = verdicts.filter((v) => v.verdict !== 'push');
    const skipped = refused.filter((v) => v.verdict === 'skipped');
    const rejected = refused.filter((v) => v.verdict === 'rejected');
    for (const u of unknownStorage) core.warning(fleetText.unknownStorageWarning(u));
    for (const line of [fleetText.skippedWarning(skipped), fleetText.rejectedWarning(rejected)])
      if (line) core.warning(line);
    for (const v of refused) {
      const server = { serverId: v.server.id, serverName: v.server.name, stage: null };
      report.servers.push(serverResult(server, v.verdict, { error_msg: 'reason' in v ? v.reason : null }));
    }
    accepted = verdicts.filter((v) => v.verdict === 'push').map((v) => v.server);
    Object.assign(refusals, { rejected: rejected.length, skipped: skipped.length });
    core.info(fleetText.preflightLine(accepted.length, rejected.length, skipped.length));
  }
  if (!accepted.length) throw new text.RunFailure(fleetText.nothingToPush(chosen.length, include, refusals));
  const stages = planStages(accepted.length, config.rollout);
  if (stages.length > 1) core.info(fleetText.stagesLine(stages));
  const servers = stages.flatMap((stage) =>
    accepted
      .slice(stage.from, stage.to)
      .map((s) => ({ serverId: s.id, serverName: s.name, stage: stage.number })),
  );
  return { servers, order: chosen.map((s) => s.id) };
}

/**
 * Each stage in turn: push, wait, then judge the failure budget. When a stage goes wrong (over
 * budget, jobs still running at the timeout, a failed push, a cancel) the later stages are skipped.
 */
async function rollout(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
  { servers, order }: ChosenServers,
): Promise<void> {
  const of = servers.at(-1)?.stage ?? 0;
  const chosen = report.servers.length + servers.length;
  const allowed = allowedFailures(config.maxFailures, chosen);
  const budget = fleetText.budgetText(config.maxFailures, allowed, chosen);
  const failures = () => report.servers.filter((s) => isFailure(s.status)).map((s) => s.server_id);
  report.rollout = { of, stages: [] };
  try {
    for (let n = 1; n <= of; n++) {
      let error: unknown;
      const stage = servers.filter((s) => s.stage === n);
      await runStage(ctx, target, config, report, stage, n, of).catch((e: unknown) => {
        error = e;
      });
      const failed = failures().length;
      const stopped = error
        ? stopReason(error, ctx, config, report, n)
        : overBudget(failed, allowed)
          ? fleetText.overBudgetReason(failed, budget)
          : undefined;
      report.rollout.stages.push(stageReport(report, n, stopped));
      if (!stopped) continue;
      const later = servers.filter((s) => (s.stage ?? 0) > n);
      const why = fleetText.skippedMessage(n, stopped);
      report.servers.push(...later.map((s) => serverResult(s, 'skipped', { error_msg: why })));
      const line = fleetText.stoppedLine(n, of, stopped, later.length);
      if (error) {
        if (of > 1) core.warning(line);
        throw error;
      }
      const headline = of > 1 ? line.replace(/^T/, 't') : stopped;
      throw new text.RunFailure(`${headline} — ${text.outcomeFailure(report) ?? ''}`);
    }
  } finally {
    const index = new Map(order.map((id, i) => [id, i]));
    report.servers.sort((a, b) => (index.get(a.server_id) ?? 0) - (index.get(b.server_id) ?? 0));
  }
  const within = failures();
  if (within.length) core.warning(fleetText.withinBudgetWarning(within, budget));
}

/** Why a stage that threw ends the rollout, in a few words for the servers it leaves out. */
function stopReason(
  error: unknown,
  ctx: ClientContext,
  config: Config,
  report: RunReport,
  n: number,
): string {
  if (error instanceof CancelledError || ctx.signal?.aborted) return 'the run was cancelled';
  if (error instanceof text.RunFailure) {
    const running = report.servers.filter((s) => s.stage === n && s.status === 'running').length;
    return fleetText.timeoutReason(running, config.waitTimeoutSeconds);
  }
  return `a PushShareFiles call failed: ${ctx.redactor.redact(error instanceof Error ? error.message : String(error))}`;
}

function stageReport(report: RunReport, n: number, stopped: string | undefined): fleetText.StageReport {
  const of = report.servers.filter((s) => s.stage === n && s.status !== 'skipped');
  const count = (pred: (s: (typeof of)[number]) => boolean) => of.filter(pred).length;
  return {
    number: n,
    servers: of.length,
    succeeded: count((s) => s.status === 'succeeded'),
    failed: count((s) => isFailure(s.status)),
    unfinished: count((s) => s.status === 'running' || s.status === 'submitted'),
    ...(stopped ? { stopped } : {}),
  };
}

/** Push one stage's servers, then follow their jobs; a failed batch still lets started jobs be followed. */
async function runStage(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
  servers: PushTarget[],
  n: number,
  of: number,
): Promise<void> {
  const pushed = await group(fleetText.stageGroup('Push', n, of), () =>
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
    await group(fleetText.stageGroup('Wait', n, of), () =>
      follow(ctx, target, config, report, pushed.tracked),
    ).catch((error: unknown) => {
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
      showJob: (jobId, deadline) => showJob(ctx, target, jobId, { deadline }),
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
    {
      path: file,
      key: config.objectPath,
      scan,
      skipUnchanged: config.skipUnchanged,
      // `auto` (adapting to the link) is the upload's own default.
      concurrency: config.uploadConcurrency === 'auto' ? undefined : config.uploadConcurrency,
      signal: ctx.signal,
    },
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

function clientContext(tuning: Tuning): UnsignedContext {
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
