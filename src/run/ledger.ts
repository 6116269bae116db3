/**
 * The ledger step of a real run: open the ledger after the servers are chosen (set the current
 * ones aside), then hand the rollout its after-stage step. OBS and CPH calls go through the run's
 * clients; the logic is in src/ledger/.
 */
import * as core from '@actions/core';
import { RunFailure, ServiceError } from '../errors.js';
import type { FleetChoice } from '../fleet/choose.js';
import { allowedFailures, overBudget } from '../fleet/stages.js';
import { sleep } from '../http/retry.js';
import type { ClientContext } from '../huawei/context.js';
import { CphClient, type CphTarget } from '../huawei/cph.js';
import { ObsClient } from '../huawei/obs.js';
import type { Config } from '../inputs/index.js';
import { waitForJobs } from '../jobs/wait.js';
import { LedgerFormatError } from '../ledger/ledger.js';
import { type ManifestBuilder, ManifestError } from '../ledger/manifest.js';
import { ledgerStageStep, newLedgerReport } from '../ledger/report.js';
import { LedgerSession, LedgerSetupError } from '../ledger/session.js';
import { isFailure, type RunReport, serverResult, sortByOrder } from '../model/results.js';
import * as fleetText from '../report/fleet.js';
import { currentLines, nothingToPushLine } from '../report/ledger.js';
import * as text from '../report/log.js';
import type { FileScan } from '../tar/scan.js';

export interface OpenedLedger {
  session: LedgerSession;
  /** The rollout's after-stage step. */
  step: ReturnType<typeof ledgerStageStep>;
}

/**
 * Read the ledger and the manifests it needs, once; the current servers go into the report as
 * `current` and out of `fleet.accepted`. Throws before any push when the ledger cannot be used.
 */
export async function openLedger(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  scan: FileScan | undefined,
  manifest: ManifestBuilder | undefined,
  fleet: FleetChoice,
  report: RunReport,
  env: NodeJS.ProcessEnv,
): Promise<OpenedLedger> {
  const key = config.ledger as string;
  const obs = new ObsClient(ctx, { endpoint: config.obsEndpoint, bucket: config.bucket });
  const cph = new CphClient(ctx, target);
  let sha256 = scan?.sha256Hex;
  let size = scan?.size ?? 0;
  if (!scan) {
    // Without file the bundle is known by the object's x-obs-meta-sha256.
    const url = `obs://${config.bucket}/${config.objectPath}`;
    try {
      const head = await obs.headObject(config.objectPath);
      if (!head) {
        throw new RunFailure(
          `the object ${url} does not exist (OBS HeadObject: HTTP 404) — check bucket and object-path, or give file to upload it in this step`,
        );
      }
      sha256 = head.sha256Hex && /^[0-9a-f]{64}$/.test(head.sha256Hex) ? head.sha256Hex : undefined;
      size = Number.isFinite(head.size) ? head.size : 0;
    } catch (error) {
      if (!(error instanceof ServiceError && error.status === 403)) throw error;
      core.warning(
        `could not read ${url} (HTTP 403): without its x-obs-meta-sha256 the ledger cannot tell which bundle it is — grant obs:object:GetObject on it`,
      );
    }
  }
  const built = manifest && sha256 ? manifest.build({ sha256, object: config.objectPath, size }) : undefined;
  const session = await LedgerSession.open(
    fleet.accepted.map((s) => s.id),
    {
      bucket: config.bucket,
      key,
      object: config.objectPath,
      sha256,
      size,
      skipCurrent: config.skipCurrent,
      prune: config.prune,
      batchSize: config.batchSize,
      manifest: built,
      run: `${env['GITHUB_REPOSITORY'] ?? ''}/${env['GITHUB_RUN_ID'] ?? ''}/${env['GITHUB_RUN_ATTEMPT'] ?? ''}`,
      ref: env['GITHUB_REF'] ?? '',
    },
    {
      objects: {
        getObjectText: (k) => obs.getObjectText(k),
        putObjectText: (k, text) => obs.putObjectText(k, text),
        headObject: (k) => obs.headObject(k),
      },
      deleteShareFiles: (serverIds, filePaths) => cph.deleteShareFiles(serverIds, filePaths),
      waitForJobs: (jobs) =>
        waitForJobs(
          jobs,
          { pollIntervalMs: config.pollIntervalSeconds * 1000, timeoutMs: config.waitTimeoutSeconds * 1000 },
          {
            listJobs: ({ deadline, ...page }) => cph.listJobs(page, { deadline }),
            showJob: (jobId, deadline) => cph.showJob(jobId, { deadline }),
            sleep: (ms) => sleep(ms, ctx.signal),
            now: () => Date.now(),
            warn: (message) => core.warning(ctx.redactor.redact(message)),
          },
        ),
      warn: (message) => core.warning(ctx.redactor.redact(message)),
      info: (message) => core.info(message),
      now: () => new Date(),
    },
  ).catch((error: unknown) => {
    // Not the service's errors: the ledger's own, each one line that says what to do.
    if (
      error instanceof LedgerSetupError ||
      error instanceof LedgerFormatError ||
      error instanceof ManifestError
    )
      throw new RunFailure(error.message);
    throw error;
  });
  const ledgerReport = newLedgerReport(session, `obs://${config.bucket}/${key}`, {
    skipCurrent: config.skipCurrent,
    prune: config.prune,
  });
  report.ledger = ledgerReport;
  core.info(
    `Ledger obs://${config.bucket}/${key}: ${session.toPush.length} of ${fleet.accepted.length} servers to push`,
  );
  for (const line of currentLines(ledgerReport)) core.info(line);
  const current = new Set(session.current.map((c) => c.serverId));
  for (const server of fleet.accepted.filter((s) => current.has(s.id))) {
    report.servers.push(
      serverResult({ serverId: server.id, serverName: server.name, stage: null }, 'current'),
    );
  }
  fleet.accepted = fleet.accepted.filter((s) => !current.has(s.id));
  return { session, step: ledgerStageStep(session, ledgerReport) };
}

/** Dry run: nothing is read, so the ledger's decisions wait for a real run. */
export function ledgerPlanLine(config: Config): string {
  return `Ledger obs://${config.bucket}/${config.ledger}: not read in a dry run; which servers are current${config.prune ? ' and what to prune' : ''} is decided at run time (skip-current: ${config.skipCurrent}, prune: ${config.prune})`;
}

/**
 * Every server left to push is current: nothing to push, a success that says so — unless the
 * servers pre-flight refused are more than max-failures allows.
 */
export function allCurrent(config: Config, fleet: FleetChoice, report: RunReport): void {
  report.servers = sortByOrder(
    report.servers,
    fleet.chosen.map((s) => s.id),
  );
  core.info(nothingToPushLine(report.ledger!));
  const failed = report.servers.filter((s) => isFailure(s.status)).length;
  const allowed = allowedFailures(config.maxFailures, fleet.chosen.length);
  if (!overBudget(failed, allowed)) return;
  const budget = fleetText.budgetText(config.maxFailures, allowed, fleet.chosen.length);
  throw new RunFailure(
    `${fleetText.overBudgetReason(failed, budget)} — ${text.outcomeFailure(report) ?? ''}`,
  );
}
