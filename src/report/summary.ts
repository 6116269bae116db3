/**
 * The job summary: Markdown with an HTML table whose every cell is escaped
 * (error messages come from the service and may hold anything).
 */
import { countByStatus, isFailure, type RunReport, type ServerResult, STATUS_ORDER } from './results.js';

export const MAX_TABLE_ROWS = 1000;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`|]/g, (c) => `&#${c.charCodeAt(0)};`);
}

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

function headline(report: RunReport): string {
  const total = report.servers.length;
  const counts = countByStatus(report.servers);
  if (report.dryRun) return `cph-publish dry run: ${total} server${total === 1 ? '' : 's'} planned`;
  const ok = counts.get('succeeded') ?? 0;
  if (report.cancelled) return `cph-publish cancelled: ${ok} of ${total} servers succeeded`;
  if (report.failure) return `cph-publish failed: ${ok} of ${total} servers succeeded`;
  if (ok === total && total > 0) return `cph-publish: all ${total} servers succeeded`;
  return `cph-publish: ${total} servers submitted`;
}

function signInText(info: NonNullable<RunReport['signIn']>): string {
  if (info.method === 'keys') return info.temporary ? 'temporary AK/SK with a security token' : 'AK/SK';
  return `keyless, through identity provider ${info.identityProvider}${info.subject ? ` as ${info.subject}` : ''}`;
}

function row(s: ServerResult): string {
  const error = [s.error_code, s.error_msg].filter(Boolean).join(': ');
  const cells = [s.server_id, s.job_id ?? '', s.status, error].map((c) => `<td>${escapeHtml(c)}</td>`);
  return `<tr>${cells.join('')}</tr>`;
}

export function buildSummary(report: RunReport): string {
  const lines: string[] = [`## ${escapeHtml(headline(report))}`, ''];
  if (report.failure) lines.push(`> ${escapeHtml(report.failure)}`, '');
  const object = `<code>obs://${escapeHtml(report.bucket)}/${escapeHtml(report.objectPath)}</code>`;
  const facts: string[] = [];
  if (report.signIn) facts.push(`- Signed in: ${escapeHtml(signInText(report.signIn))}`);
  facts.push(`- Object: ${object}`);
  if (report.file) {
    const state = report.dryRun
      ? 'not uploaded (dry run)'
      : report.uploaded
        ? 'uploaded by this run'
        : `not uploaded: ${escapeHtml(report.file.skipped ?? 'stopped before the upload')}`;
    facts.push(`- File: ${formatBytes(report.file.size)}, MD5 <code>${report.file.md5Hex}</code>, ${state}`);
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

  const counts = countByStatus(report.servers);
  lines.push(
    '| Status | Servers |',
    '| --- | ---: |',
    ...STATUS_ORDER.filter((s) => counts.has(s)).map((s) => `| ${s} | ${counts.get(s)} |`),
    `| **total** | **${report.servers.length}** |`,
    '',
  );

  if (report.servers.length) {
    let shown = report.servers;
    let omitted = 0;
    if (shown.length > MAX_TABLE_ROWS) {
      // Failures matter most: they come first when not every row fits.
      const failing = shown.filter((s) => isFailure(s.status) || s.status === 'running');
      const rest = shown.filter((s) => !(isFailure(s.status) || s.status === 'running'));
      shown = [...failing, ...rest].slice(0, MAX_TABLE_ROWS);
      omitted = report.servers.length - shown.length;
    }
    lines.push(
      '<table>',
      '<thead><tr><th>Server</th><th>Job</th><th>Status</th><th>Error</th></tr></thead>',
      '<tbody>',
      ...shown.map(row),
      '</tbody>',
      '</table>',
    );
    if (omitted) {
      lines.push(
        '',
        `${omitted} more servers are not shown (failures are listed first); the \`jobs\` output has them all.`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
