/**
 * The steps before the rollout, each a thin layer of I/O and log lines over the pure parts:
 * inspect the tar, sign in, the project id, choose the servers, make sure the object is there
 * (upload it, or HEAD it), and the dry-run plan.
 */
import * as core from '@actions/core';
import { staticCredentials } from '../auth/credentials.js';
import { keylessCredentials } from '../auth/keyless.js';
import { CancelledError, RunFailure, ServiceError } from '../errors.js';
import { chooseFleet, type FleetChoice } from '../fleet/choose.js';
import { planStages } from '../fleet/stages.js';
import type { ClientContext } from '../huawei/context.js';
import { CphClient, type CphTarget } from '../huawei/cph.js';
import { IamClient } from '../huawei/iam.js';
import { ObsClient } from '../huawei/obs.js';
import type { Config } from '../inputs/index.js';
import { type PushTarget, type RunReport, type ServerResult, serverResult } from '../model/results.js';
import * as fleetText from '../report/fleet.js';
import * as text from '../report/log.js';
import { type CheckedFile, checkFile, completeScan, type FileScan, type ScanOptions } from '../tar/scan.js';
import { abortable } from '../upload/cancel.js';
import { uploadFile } from '../upload/upload.js';
import { errorMessage, logSafe } from '../util/text.js';
import { clientContext, group, type Tuning } from './context.js';

/** The tar check, before any request; the file's digests go on being computed after it returns. */
export async function inspectTar(config: Config, onEntry?: ScanOptions['onEntry']): Promise<InspectedFile> {
  const started = Date.now();
  const file = config.file as string;
  const checked = await checkFile(file, {
    strictLayout: config.strictLayout,
    onEntry,
    onProgress: text.throttledProgress('Read', (line) => core.info(line)),
  });
  core.info(text.inspectedLine(file, checked.tar, (Date.now() - started) / 1000));
  return { ...checked, file, started };
}

export type InspectedFile = CheckedFile & { file: string; started: number };

/**
 * The whole file's SHA-256, waited for where it is first needed (the ledger, the upload, the dry
 * run's plan): by then it has mostly been computed beside sign-in and choosing servers. A cancel
 * stops the wait. The digests are stopped if it fails.
 */
export async function hashedFile(
  inspected: InspectedFile,
  report: RunReport,
  signal?: AbortSignal,
): Promise<FileScan> {
  const waitFrom = Date.now();
  const scan = await completeScan({
    ...inspected,
    sha256Hex: () => abortable(inspected.sha256Hex(), signal),
  });
  const now = Date.now();
  core.info(
    text.digestLine(
      inspected.file,
      scan.sha256Hex,
      (now - inspected.started) / 1000,
      (now - waitFrom) / 1000,
    ),
  );
  report.file = { size: scan.size, sha256Hex: scan.sha256Hex };
  return scan;
}

/** Dry run: print the plan, with the stages of the ids given (names are resolved at run time). */
export async function planDryRun(
  config: Config,
  scan: FileScan | undefined,
  report: RunReport,
): Promise<void> {
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
export async function signIn(config: Config, tuning: Tuning): Promise<ClientContext> {
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
    log: (message) => core.info(logSafe(message)),
  });
  await credentials.get(base.signal);
  return { ...base, credentials };
}

async function projectTarget(ctx: ClientContext, config: Config): Promise<CphTarget> {
  const projectId =
    config.projectId ?? (await new IamClient(ctx, config.iamEndpoint).resolveProjectId(config.region));
  if (!config.projectId) core.info(`Project id of ${logSafe(config.region)}: ${logSafe(projectId)}`);
  return { endpoint: config.cphEndpoint, projectId };
}

/** Sign in, the project id, and the servers to push: everything the upload must wait for. */
export async function prepare(
  config: Config,
  report: RunReport,
  tuning: Tuning,
): Promise<{ ctx: ClientContext; target: CphTarget; fleet: FleetChoice }> {
  const ctx = await signIn(config, tuning);
  report.signIn = ctx.credentials.info;
  const target = await projectTarget(ctx, config);
  report.projectId = target.projectId;
  const fleet = await group('Choose servers', () => chooseServers(ctx, target, config, report));
  return { ctx, target, fleet };
}

/**
 * The servers to push: the lists read once, the choice made by `chooseFleet`. Those pre-flight
 * refused go into the report as `rejected` or `skipped`; nothing left to push fails the run.
 */
export async function chooseServers(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  report: RunReport,
): Promise<FleetChoice> {
  const { include } = config.serverNames;
  const cph = new CphClient(ctx, target);
  const listed = include.length || config.preflight ? await cph.listServers() : undefined;
  const check =
    config.preflight && listed
      ? {
          models: await cph.listPhoneModels(),
          where: { projectId: target.projectId, region: config.region },
        }
      : undefined;
  const fleet = chooseFleet(config.serverIds, config.serverNames, listed, check);
  const given = fleet.chosen.filter((s) => s.given).length;
  core.info(fleetText.choiceLine({ given, byName: fleet.chosen.length - given }, listed?.length));
  const rejected = fleet.refused.filter((v) => v.verdict === 'rejected');
  const skipped = fleet.refused.filter((v) => v.verdict === 'skipped');
  if (check) {
    for (const u of fleet.unknownStorage) core.warning(fleetText.unknownStorageWarning(u));
    for (const line of [fleetText.skippedWarning(skipped), fleetText.rejectedWarning(rejected)])
      if (line) core.warning(line);
    core.info(fleetText.preflightLine(fleet.accepted.length, rejected.length, skipped.length));
  }
  for (const v of fleet.refused) {
    const server = { serverId: v.server.id, serverName: v.server.name, stage: null };
    report.servers.push(serverResult(server, v.verdict, { error_msg: v.reason }));
  }
  if (!fleet.accepted.length) {
    const refusals = { rejected: rejected.length, skipped: skipped.length };
    throw new RunFailure(fleetText.nothingToPush(fleet.chosen.length, include, refusals));
  }
  return fleet;
}

/**
 * Before the first push the object must be there: with `file`, upload it; without, HEAD it — absent
 * fails the run naming it, a 403 is one warning (CPH reads the object itself) and the run goes on.
 */
export async function readyObject(
  ctx: ClientContext,
  config: Config,
  scan: FileScan | undefined,
  report: RunReport,
): Promise<void> {
  const obs = new ObsClient(ctx, { endpoint: config.obsEndpoint, bucket: config.bucket });
  const url = `obs://${logSafe(config.bucket)}/${logSafe(config.objectPath)}`;
  if (!config.file || !scan) {
    try {
      if (await obs.headObject(config.objectPath)) return;
    } catch (error) {
      if (!(error instanceof ServiceError && error.status === 403)) throw error;
      // Contract step 7: a refused HEAD does not stop the run; CPH reads the object with its own rights.
      core.warning(
        `could not check that ${url} exists: ${logSafe(ctx.redactor.redact(error.message))} — ` +
          `${error.hint ? `${logSafe(error.hint)}; ` : ''}the credentials may lack obs:object:GetObject on it; ` +
          'pushing anyway (CPH reads the object itself and reports a missing one per job)',
      );
      return;
    }
    throw new RunFailure(
      `the object ${url} does not exist (OBS HeadObject: HTTP 404) — check bucket and object-path, or give file to upload it in this step`,
    );
  }
  const file = config.file;
  const result = await group('Upload', async () => {
    core.info(text.uploadStartLine(file, scan.size, config.bucket, config.objectPath));
    const uploaded = await uploadFile(
      obs,
      {
        path: file,
        key: config.objectPath,
        scan,
        skipUnchanged: config.skipUnchanged,
        concurrency: config.uploadConcurrency,
        signal: ctx.signal,
      },
      {
        progress: text.throttledProgress('Uploaded', (line) => core.info(line)),
        log: (message) => core.info(logSafe(message)),
        warn: (message) => core.warning(logSafe(ctx.redactor.redact(message))),
      },
    );
    core.info(text.uploadDoneLine(scan.size, uploaded));
    return uploaded;
  }).catch((error: unknown) => {
    report.uploadFailure =
      error instanceof CancelledError
        ? 'the upload was cancelled'
        : `the upload failed: ${ctx.redactor.redact(errorMessage(error))}`;
    throw error;
  });
  report.uploaded = result.uploaded;
  if (report.file && result.skipped) report.file.skipped = result.skipped;
}

/** Every server of `servers`, `skipped` because the run ended before any push: `why` it did. */
export function notPushed(
  servers: PushTarget[],
  error: unknown,
  report: RunReport,
  ctx: ClientContext,
): ServerResult[] {
  const message = errorMessage(error);
  const why =
    error instanceof CancelledError || ctx.signal?.aborted
      ? 'not pushed: the run was cancelled'
      : `not pushed: ${report.uploadFailure ?? ctx.redactor.redact(message)}`;
  return servers.map((s) => serverResult(s, 'skipped', { error_msg: why }));
}
