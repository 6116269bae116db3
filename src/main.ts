/**
 * The pipeline, and the only place that knows its order:
 * inputs (and, keyless, the ID-token check) → tar check (its SHA-256s go on in worker threads)
 *   → dry run: the plan, and stop
 *   → sign in → project id → choose servers → the SHA-256 → ledger (read; set aside the current servers)
 *   → upload and its manifest (or HEAD the object)
 *   → for each stage: push → wait → prune → record in the ledger → judge (src/rollout/).
 * Whatever happened: one failure line, then the outputs, report file and summary (report/write.ts).
 * Each step lives in src/run/ (I/O) over pure parts (fleet/, rollout/); wording in src/report/.
 */

import * as core from '@actions/core';
import { checkIdTokenEnvironment } from './auth/keyless.js';
import { CancelledError } from './errors.js';
import { stageServers } from './fleet/stages.js';
import { type Config, readConfig } from './inputs/index.js';
import { ManifestBuilder } from './ledger/manifest.js';
import { type RunReport, sortByOrder } from './model/results.js';
import { Redactor } from './redact.js';
import * as fleetText from './report/fleet.js';
import * as text from './report/log.js';
import { writeReport } from './report/write.js';
import { runRollout } from './rollout/rollout.js';
import { group, newReport, type Tuning } from './run/context.js';
import { allCurrent, ledgerPlanLine, openLedger } from './run/ledger.js';
import { cphRolloutDeps } from './run/rollout-deps.js';
import { onCancelSignal } from './run/signals.js';
import { hashedFile, inspectTar, notPushed, planDryRun, prepare, readyObject } from './run/steps.js';
import { sourceMappedStack } from './util/stack.js';
import { logSafe } from './util/text.js';

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
    await publish(config, report, { redactor, signal: cancel.signal, ...config.tuning }, env);
    // A signal that landed after the last call went out still cancels the run.
    if (cancel.signal.aborted) throw cancel.signal.reason;
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

/** The pipeline proper; it fills `report` as it goes and throws on the first failure that ends the run. */
async function publish(
  config: Config,
  report: RunReport,
  tuning: Tuning,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (config.duplicateServerIds.length) core.warning(text.duplicatesLine(config.duplicateServerIds));
  for (const warning of config.warnings) core.warning(logSafe(warning));

  const manifest = config.ledger && config.file ? new ManifestBuilder() : undefined;
  // The tar check; its SHA-256s are computed on worker threads from here on, beside sign-in and choosing servers.
  const inspected = config.file
    ? await group('Inspect tar', () => inspectTar(config, manifest?.onEntry))
    : undefined;
  if (config.dryRun) {
    const scan = inspected && (await hashedFile(inspected, report, tuning.signal));
    await scan?.partDigests.close();
    if (config.ledger) core.info(ledgerPlanLine(config));
    return planDryRun(config, scan, report);
  }

  // Until the upload owns them, the digests are ours to stop on any failure (hashedFile stops them itself).
  const { ctx, target, fleet } = await prepare(config, report, tuning).catch(async (error: unknown) => {
    await inspected?.close();
    throw error;
  });
  const scan =
    inspected &&
    (await hashedFile(inspected, report, tuning.signal).catch((error: unknown) => {
      // Chosen servers stay in the report whatever happens.
      const { servers } = stageServers(fleet.accepted, config.rollout);
      report.servers.push(...notPushed(servers, error, report, ctx));
      throw error;
    }));

  const ledger = config.ledger
    ? await group('Ledger', () => openLedger(ctx, target, config, scan, manifest, fleet, report, env))
    : undefined;
  if (ledger && fleet.accepted.length === 0) {
    await scan?.partDigests.close();
    return allCurrent(config, fleet, report);
  }
  const { stages, servers } = stageServers(fleet.accepted, config.rollout);
  if (stages.length > 1) core.info(fleetText.stagesLine(stages));
  try {
    // From here on every chosen server is in the report whatever happens.
    await readyObject(ctx, config, scan, report)
      .then(() => ledger?.session.ensureManifest())
      .catch((error: unknown) => {
        report.servers.push(...notPushed(servers, error, report, ctx));
        throw error;
      });
    const plan = {
      servers,
      chosen: fleet.chosen.length,
      maxFailures: config.maxFailures,
      waitTimeoutSeconds: config.waitTimeoutSeconds,
    };
    const deps = cphRolloutDeps(ctx, target, config, tuning.signal);
    const { withinBudget, budget } = await runRollout(
      plan,
      ledger ? { ...deps, afterStage: [ledger.step] } : deps,
      report,
    );
    if (withinBudget.length) core.warning(fleetText.withinBudgetWarning(withinBudget, budget));
    if (ledger?.session.forbidden) throw ledger.session.forbidden;
  } finally {
    report.servers = sortByOrder(
      report.servers,
      fleet.chosen.map((s) => s.id),
    );
  }
}
