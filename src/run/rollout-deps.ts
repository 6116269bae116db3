/** The rollout's effects in a real run: PushShareFiles and the job lists of CPH, with the log. */
import * as core from '@actions/core';
import { sleep } from '../http/retry.js';
import type { ClientContext } from '../huawei/context.js';
import { CphClient, type CphTarget } from '../huawei/cph.js';
import type { Config } from '../inputs/index.js';
import { pushInBatches } from '../jobs/push.js';
import { type TrackedJob, type WaitResult, waitForJobs } from '../jobs/wait.js';
import * as fleetText from '../report/fleet.js';
import * as text from '../report/log.js';
import type { RolloutDeps } from '../rollout/rollout.js';
import { logSafe, plural } from '../util/text.js';
import { group } from './context.js';

export function cphRolloutDeps(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  signal: AbortSignal,
): RolloutDeps {
  return {
    push: (servers, stage) =>
      group(fleetText.stageGroup('Push', stage.number, stage.of), () =>
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
      ),
    wait: config.wait
      ? (jobs, stage) =>
          group(fleetText.stageGroup('Wait', stage.number, stage.of), () => follow(ctx, target, config, jobs))
      : undefined,
    signal,
    warn: (line) => core.warning(logSafe(ctx.redactor.redact(line))),
    redact: (value) => ctx.redactor.redact(value),
  };
}

/** Polls the jobs, logging the counts when they change (and every 30 s while they do not). */
async function follow(
  ctx: ClientContext,
  target: CphTarget,
  config: Config,
  tracked: TrackedJob[],
): Promise<WaitResult> {
  const cph = new CphClient(ctx, target);
  let lastLine = '';
  let lastLogAt = 0;
  const started = Date.now();
  core.info(
    `Waiting for ${plural(tracked.length, 'job')} (every ${config.pollIntervalSeconds} s, at most ${config.waitTimeoutSeconds} s)`,
  );
  return waitForJobs(
    tracked,
    { pollIntervalMs: config.pollIntervalSeconds * 1000, timeoutMs: config.waitTimeoutSeconds * 1000 },
    {
      listJobs: (page) => cph.listJobs(page, { deadline: page.deadline }),
      showJob: (jobId, deadline) => cph.showJob(jobId, { deadline }),
      sleep: (ms) => sleep(ms, ctx.signal),
      now: () => Date.now(),
      warn: (message) => core.warning(logSafe(ctx.redactor.redact(message))),
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
}
