/**
 * The wording of the log: the dry-run plan, progress lines, per-step lines and the
 * one failure line. Pure functions that return text; main.ts decides when to print.
 */

import { CancelledError, InputError, RunFailure, ServiceError, SignInError } from '../errors.js';
import { JOB_FAILURE_HINT } from '../hints.js';
import type { Config } from '../inputs/index.js';
import type { BatchEvent } from '../jobs/push.js';
import type { WaitCounts } from '../jobs/wait.js';
import type { RunReport, ServerResult } from '../model/results.js';
import type { Redactor } from '../redact.js';
import { TarError, type TarReport } from '../tar/inspect.js';
import type { FileScan } from '../tar/scan.js';
import { sourceMappedStack } from '../util/stack.js';
import { errorMessage, listIds, logSafe, plural, snippet } from '../util/text.js';

const MiB = 1024 * 1024;

/**
 * The one line the step fails with. Messages made elsewhere quote the service, paths and tar
 * entries, so each is redacted and then escaped here (escaping twice changes nothing; redacting
 * first means an escape can never split a secret the redactor would have found). An unexpected
 * error keeps its stack a frame a line, each line escaped.
 */
export function failureLine(error: unknown, redactor: Redactor): string {
  const safe = (text: string) => logSafe(redactor.redact(text));
  if (error instanceof InputError) {
    // Input problems quote the values with `show`, already escaped; their own text may hold `::1`.
    return `cph-publish: invalid input — ${error.problems.map((p) => `input '${p.input}': ${p.message}`).join('; ')}`;
  }
  if (error instanceof CancelledError) {
    return `cph-publish: the run was cancelled (${error.signalName}) — pushes already sent cannot be recalled; see the summary for what was pushed and what was skipped`;
  }
  if (error instanceof ServiceError || error instanceof SignInError) {
    return `cph-publish: ${safe(error.message)}${error.hint ? ` — ${safe(error.hint)}` : ''}`;
  }
  if (error instanceof TarError || error instanceof RunFailure) return `cph-publish: ${safe(error.message)}`;
  const what =
    error instanceof Error && error.stack
      ? sourceMappedStack(error.stack)
          .split(/\r\n|\n|\r/)
          .map(safe)
          .join('\n')
      : safe(errorMessage(error));
  return `cph-publish: unexpected error: ${what}`;
}

/** A progress reporter that logs percent and MiB/s at most every 5 s. */
export function throttledProgress(
  verb: string,
  log: (line: string) => void,
  now: () => number = Date.now,
): (done: number, total: number) => void {
  const started = now();
  let lastLog = started;
  return (done, total) => {
    const at = now();
    if (at - lastLog < 5000 || done >= total) return;
    lastLog = at;
    const rate = done / MiB / Math.max(0.001, (at - started) / 1000);
    log(
      `${verb} ${Math.floor((done / total) * 100)}% (${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB), ${rate.toFixed(1)} MiB/s`,
    );
  };
}

export function inspectedLine(file: string, tar: TarReport, seconds: number): string {
  return (
    `${logSafe(file)}: ${plural(tar.entries, 'entry', 'entries')}, ${(tar.totalBytes / MiB).toFixed(1)} MiB of file data, ` +
    `top level: ${tar.topLevel.map(logSafe).join(', ') || '(none)'}; checked in ${seconds.toFixed(1)} s`
  );
}

/**
 * The whole file's SHA-256, once known: `seconds` after the check began, of which the run `waited`
 * (the rest overlapped sign-in and choosing servers).
 */
export function digestLine(file: string, sha256Hex: string, seconds: number, waited: number): string {
  return `SHA-256 of ${logSafe(file)}: ${sha256Hex} (hashed in ${seconds.toFixed(1)} s, ${waited.toFixed(1)} s of it waited for)`;
}

export function uploadStartLine(file: string, size: number, bucket: string, key: string): string {
  return `Uploading ${logSafe(file)} (${(size / MiB).toFixed(1)} MiB) to obs://${logSafe(bucket)}/${logSafe(key)}`;
}

export function uploadDoneLine(
  size: number,
  result: { uploaded: boolean; seconds: number; multipart: boolean; parts: number; skipped?: string },
): string {
  if (!result.uploaded) return `Upload skipped: ${logSafe(result.skipped ?? '')}`;
  const rate = size / MiB / Math.max(0.001, result.seconds);
  return (
    `Uploaded ${(size / MiB).toFixed(1)} MiB in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} MiB/s)` +
    (result.multipart ? ` in ${plural(result.parts, 'part')}` : ' in one PUT')
  );
}

export function batchLine(event: BatchEvent): string {
  if (event.requestId === undefined) {
    return `Batch ${event.index + 1} of ${event.of} failed (${plural(event.servers, 'server')})`;
  }
  return (
    `Batch ${event.index + 1} of ${event.of}: ${plural(event.servers, 'server')}, request id ${logSafe(event.requestId)}, ` +
    `${plural(event.started, 'job')} started${event.rejected ? `, ${event.rejected} rejected` : ''}`
  );
}

export function waitCountsLine(counts: WaitCounts): string {
  return `Jobs: ${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.running} running (of ${counts.total})`;
}

export function planLines(config: Config, scan: FileScan | undefined): string[] {
  const ids = config.serverIds;
  const batches = Math.ceil(ids.length / config.batchSize);
  const lines: string[] = [];
  if (config.file && scan) {
    lines.push(
      `Would upload ${logSafe(config.file)} (${plural(scan.size, 'byte')}, SHA-256 ${scan.sha256Hex}) to ${objectUrl(config)} ` +
        `${scan.parts.length ? `in ${plural(scan.parts.length, 'part')}` : 'in one PUT'} via ${config.obsEndpoint.origin}` +
        (config.skipUnchanged ? ', skipped if the object already has this size and SHA-256' : ''),
    );
  } else {
    lines.push(`Would use the existing object ${objectUrl(config)}`);
  }
  lines.push(
    config.signIn.method === 'keyless'
      ? `Would sign in without keys through identity provider ${logSafe(config.signIn.identityProvider)} ` +
          `(audience ${config.signIn.audience === undefined ? "GitHub's default" : logSafe(config.signIn.audience)}): ACTIONS_ID_TOKEN_REQUEST_URL and ` +
          'ACTIONS_ID_TOKEN_REQUEST_TOKEN are present; no ID token is fetched in a dry run'
      : 'Would sign requests with the AK/SK given',
  );
  lines.push(
    config.projectId
      ? `Project id: ${logSafe(config.projectId)}`
      : `Project id: looked up through ${config.iamEndpoint.origin} for region ${config.region}`,
  );
  if (config.serverNames.include.length) {
    lines.push(
      `Would also push to the servers named ${config.serverNames.include.map(logSafe).join(', ')}` +
        (config.serverNames.exclude.length
          ? ` except ${config.serverNames.exclude.map(logSafe).join(', ')}`
          : '') +
        ' (names are resolved at run time)',
    );
  }
  lines.push(
    `Would push to ${plural(ids.length, 'server')} given by id in ${plural(batches, 'PushShareFiles call')} of at most ${config.batchSize} via ${config.cphEndpoint.origin}`,
  );
  lines.push(
    config.wait
      ? `Would wait up to ${config.waitTimeoutSeconds} s for the jobs, polling every ${config.pollIntervalSeconds} s`
      : 'Would not wait for the jobs',
  );
  if (ids.length) lines.push(`Servers: ${listIds(ids)}`);
  return lines;
}

export function timeoutMessage(
  running: string[],
  counts: WaitCounts,
  waitTimeoutSeconds: number,
  lastPollError: unknown,
): string {
  const cause =
    lastPollError === undefined ? '' : `; the last poll failed: ${logSafe(errorMessage(lastPollError))}`;
  return (
    `${counts.running} of ${plural(counts.total, 'job')} still running after wait-timeout ${waitTimeoutSeconds} s ` +
    `(servers ${listIds(running)})${cause} — raise wait-timeout for large bundles, or check the jobs in the CPH console; ` +
    JOB_FAILURE_HINT
  );
}

/** The failure line for servers that ended `failed` or `rejected`, or undefined when none did. */
export function outcomeFailure(report: RunReport): string | undefined {
  const failed = report.servers.filter((s) => s.status === 'failed');
  const rejected = report.servers.filter((s) => s.status === 'rejected');
  if (!failed.length && !rejected.length) return undefined;
  // A job's message can be kilobytes: the failure line quotes the start of three, the report file has them whole.
  const describe = (s: ServerResult) =>
    `${logSafe(s.server_id)}${s.error_code ? ` ${logSafe(s.error_code)}` : ''}${s.error_msg ? ` "${logSafe(snippet(s.error_msg, MESSAGE_CHARS))}"` : ''}`;
  const parts: string[] = [];
  if (failed.length)
    parts.push(
      `${plural(failed.length, 'job')} failed (${failed.slice(0, 3).map(describe).join('; ')}${failed.length > 3 ? '; …' : ''})`,
    );
  if (rejected.length)
    parts.push(
      `${plural(rejected.length, 'server was', 'servers were')} rejected (${rejected.slice(0, 3).map(describe).join('; ')}${rejected.length > 3 ? '; …' : ''})`,
    );
  const hint = failed.length
    ? JOB_FAILURE_HINT
    : 'check server-ids: each must be a cloud phone server of this project and region whose flavor supports shared storage';
  const requestIds = report.requestIds.length ? ` [request ids ${listIds(report.requestIds, 3)}]` : '';
  return `${parts.join(' and ')} of ${plural(report.servers.length, 'server')}${requestIds} — ${hint}`;
}

/** `obs://bucket/key` of the configured object, escaped for a log line. */
function objectUrl(config: Pick<Config, 'bucket' | 'objectPath'>): string {
  return `obs://${logSafe(config.bucket)}/${logSafe(config.objectPath)}`;
}

/** How much of a service message a log line quotes. */
const MESSAGE_CHARS = 300;

/** One warning for every id given twice, however many there are. */
export function duplicatesLine(ids: readonly string[]): string {
  return ids.length === 1
    ? `server id ${listIds(ids)} is listed more than once; pushing to it once`
    : `${ids.length} server ids are listed more than once (${listIds(ids)}); pushing to each once`;
}
