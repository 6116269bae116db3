/**
 * The job summary: Markdown with an HTML table whose every cell is escaped
 * (error messages come from the service and may hold anything).
 */

import { countByStatus, type RunReport, type ServerStatus, STATUS_ORDER } from '../model/results.js';
import { plural } from '../util/text.js';
import { stageSummaryLines } from './fleet.js';
import { escapeAndCut, escapeHtml, utf8Bytes } from './html.js';
import { ledgerSummary } from './ledger.js';
import { buildServerTable } from './summary-table.js';

/** GitHub drops a step summary over 1 MiB; this one stays under 900 KiB (UTF-8 bytes). */
export const SUMMARY_BUDGET_BYTES = 900 * 1024;

/** The failure line quotes up to three service messages; in the summary it keeps its first 4 KiB. */
const FAILURE_BYTES = 4096;

/** Room kept for the note under the table: it is written after the table's size is known. */
const NOTE_RESERVE_BYTES = 2048;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (value >= 1024 && unit < units.length - 1);
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The heading: how the run ended, in counts that are never 0 unless they are the point. */
export function headline(report: RunReport): string {
  const total = report.servers.length;
  const counts = countByStatus(report.servers);
  const n = (status: ServerStatus) => counts.get(status) ?? 0;
  if (report.dryRun) return `cph-publish dry run: ${plural(total, 'server')} planned`;
  const ok = n('succeeded');
  if (report.cancelled) return `cph-publish cancelled: ${ok} of ${plural(total, 'server')} succeeded`;
  if (report.failure) return `cph-publish failed: ${ok} of ${plural(total, 'server')} succeeded`;
  // Green: the rest are failures within max-failures, servers pre-flight skipped, servers already current.
  const rest = [
    [n('failed') + n('rejected'), 'failed within max-failures'],
    [n('skipped'), 'skipped'],
    [n('current'), 'current'],
  ] as const;
  const others = rest
    .filter(([count]) => count > 0)
    .map(([count, what]) => `${count} ${what}`)
    .join(', ');
  const submitted = n('submitted');
  if (submitted) {
    return `cph-publish: ${submitted} of ${plural(total, 'server')} submitted, not waited for${others ? ` (${others})` : ''}`;
  }
  if (total === 0) return 'cph-publish: no server';
  if (n('current') === total) {
    return total === 1
      ? 'cph-publish: nothing to push, the 1 server is current'
      : `cph-publish: nothing to push, all ${total} servers are current`;
  }
  if (ok === total) {
    return total === 1
      ? 'cph-publish: the 1 server succeeded'
      : `cph-publish: all ${total} servers succeeded`;
  }
  return `cph-publish: ${ok} of ${plural(total, 'server')} succeeded (${others})`;
}

function signInText(info: NonNullable<RunReport['signIn']>): string {
  if (info.method === 'keys') return info.temporary ? 'temporary AK/SK with a security token' : 'AK/SK';
  return `keyless, through identity provider ${info.identityProvider}${info.subject ? ` as ${info.subject}` : ''}`;
}

/**
 * Said under the table when it left rows out or cut cells: where the rest is, and how to keep it.
 * The report file lives in the runner's temp dir, gone when the job ends, hence the artifact.
 */
export function cutNote(omittedRows: number, cutCells: number, reportFile: string | undefined): string {
  const what: string[] = [];
  if (omittedRows)
    what.push(
      `${plural(omittedRows, 'more server is', 'more servers are')} not shown (failures are listed first)`,
    );
  if (cutCells) what.push(`${plural(cutCells, 'cell was', 'cells were')} cut (…)`);
  const where = reportFile
    ? `the report file <code>${escapeHtml(reportFile)}</code> (the \`report-file\` output) has every server and every message whole`
    : 'the `jobs` output has every server unless `truncated-outputs` names it';
  const keep = reportFile
    ? ' The file goes when the job ends: to keep it, upload it with `actions/upload-artifact` ' +
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression for the reader, not a JS template
      '(`path: ${{ steps.publish.outputs.report-file }}` for a step with `id: publish`).'
    : '';
  return `${what.join('; ')}: ${where}.${keep}`;
}

/** The summary; `reportFile` is the report file's path when it was written. */
export function buildSummary(report: RunReport, reportFile?: string): string {
  const lines: string[] = [`## ${escapeHtml(headline(report))}`, ''];
  if (report.failure) lines.push(`> ${escapeAndCut(report.failure, FAILURE_BYTES).html}`, '');
  const object = `<code>obs://${escapeHtml(report.bucket)}/${escapeHtml(report.objectPath)}</code>`;
  const facts: string[] = [];
  if (report.signIn) facts.push(`- Signed in: ${escapeHtml(signInText(report.signIn))}`);
  facts.push(`- Object: ${object}`);
  if (report.file) {
    const state = report.dryRun
      ? 'not uploaded (dry run)'
      : report.uploaded
        ? 'uploaded by this run'
        : `not uploaded: ${escapeHtml(report.uploadFailure ?? report.file.skipped ?? 'stopped before the upload')}`;
    facts.push(
      `- File: ${formatBytes(report.file.size)}, SHA-256 <code>${report.file.sha256Hex}</code>, ${state}`,
    );
  }
  if (report.git.ref) facts.push(`- Ref: <code>${escapeHtml(report.git.ref)}</code>`);
  if (report.git.sha) {
    const sha = escapeHtml(report.git.sha);
    facts.push(
      report.git.commitUrl
        ? `- Commit: <a href="${escapeHtml(report.git.commitUrl)}"><code>${sha}</code></a>`
        : `- Commit: <code>${sha}</code>`,
    );
  }
  if (report.projectId) facts.push(`- Project: <code>${escapeHtml(report.projectId)}</code>`);
  if (report.requestIds.length) facts.push(`- PushShareFiles requests: ${report.requestIds.length}`);
  lines.push(...facts, '');
  if (report.rollout && report.rollout.of > 1) {
    // The servers of the stages after the one the rollout stopped at (not those a cancel left in it).
    const stoppedAt = report.rollout.stages.find((s) => s.stopped)?.number ?? report.rollout.of;
    const skipped = report.servers.filter((s) => s.status === 'skipped' && (s.stage ?? 0) > stoppedAt).length;
    lines.push(
      `**Rollout** in ${report.rollout.of} stages:`,
      '',
      ...stageSummaryLines(report.rollout.stages, report.rollout.of, skipped).map(escapeHtml),
      '',
    );
  }

  if (report.ledger) lines.push(ledgerSummary(report.ledger));

  const counts = countByStatus(report.servers);
  lines.push(
    '| Status | Servers |',
    '| --- | ---: |',
    ...STATUS_ORDER.filter((s) => counts.has(s)).map((s) => `| ${s} | ${counts.get(s)} |`),
    `| **total** | **${report.servers.length}** |`,
    '',
  );

  const head = utf8Bytes(`${lines.join('\n')}\n`);
  const table = buildServerTable(report.servers, SUMMARY_BUDGET_BYTES - head - NOTE_RESERVE_BYTES);
  lines.push(...table.lines);
  if (table.omittedRows || table.cutCells) {
    lines.push('', cutNote(table.omittedRows, table.cutCells, reportFile));
  }
  return `${lines.join('\n')}\n`;
}
