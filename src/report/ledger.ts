/**
 * The ledger's words: the log lines saying which servers are current and why, the summary's
 * "what the fleet held before" and "pruned" parts, and the report file's `ledger` section.
 */

import type { LedgerReport } from '../ledger/report.js';
import { plural } from '../util/text.js';
import { escapeHtml } from './html.js';

const MAX_IDS = 20;
/** Servers pushed by many runs: one line for each of the first few, then a count. */
const MAX_REASON_LINES = 5;

function ids(list: readonly string[]): string {
  const shown = list.slice(0, MAX_IDS).join(', ');
  return list.length > MAX_IDS ? `${shown} … and ${list.length - MAX_IDS} more` : shown;
}

/** One line per reason (servers pushed by the same run share one): why they are current. */
export function currentLines(report: LedgerReport): string[] {
  const byReason = new Map<string, string[]>();
  for (const { serverId, reason } of report.current) {
    const list = byReason.get(reason);
    if (list) list.push(serverId);
    else byReason.set(reason, [serverId]);
  }
  const groups = [...byReason];
  const lines = groups
    .slice(0, MAX_REASON_LINES)
    .map(
      ([reason, servers]) =>
        `${plural(servers.length, 'server')} current, not pushed: ${reason}${report.prune ? ', with nothing left to prune' : ''}: ${ids(servers)}`,
    );
  const rest = groups.slice(MAX_REASON_LINES).reduce((n, [, servers]) => n + servers.length, 0);
  if (rest > 0) {
    lines.push(
      `${plural(rest, 'more server')} current, pushed by other runs (the report file has each one's reason)`,
    );
  }
  return lines;
}

/** When every chosen server is current: the run succeeds with nothing to do, and says so. */
export function nothingToPushLine(report: LedgerReport): string {
  return `Nothing to push: the ledger ${report.ledger} says all ${plural(report.current.length, 'chosen server')} already hold this bundle (set \`skip-current: false\` to push them anyway)`;
}

/** Summary section (Markdown with escaped HTML text): what the fleet held before, and what was pruned. */
export function ledgerSummary(report: LedgerReport): string {
  const lines = [`### Ledger`, '', `Ledger: <code>${escapeHtml(report.ledger)}</code>`, ''];
  const { top, other, unknown } = report.heldBefore;
  lines.push(
    'What the chosen servers held before this run:',
    '',
    '| Object | SHA-256 | Servers |',
    '|---|---|---|',
  );
  for (const row of top) {
    lines.push(
      `| <code>${escapeHtml(row.object)}</code> | <code>${row.sha256.slice(0, 12)}…</code> | ${row.servers} |`,
    );
  }
  if (other > 0) lines.push(`| other bundles |  | ${other} |`);
  if (unknown > 0) lines.push(`| unknown (not in the ledger) |  | ${unknown} |`);
  lines.push('');
  if (report.current.length > 0) {
    lines.push(
      `${plural(report.current.length, 'server')} already held this bundle: not pushed (\`current\`).`,
      '',
    );
  }
  if (report.prune) {
    const { calls, paths, servers, stale } = report.pruned;
    const distinct = new Set(Object.values(report.servers).flatMap((s) => s.deleted)).size;
    lines.push(
      paths + stale === 0 && calls === 0
        ? 'Pruned: nothing to delete.'
        : `Pruned: ${plural(distinct, 'path')} deleted from ${plural(servers, 'server')} (${plural(paths, 'deletion')}) in ${plural(calls, 'DeleteShareFiles call')}${stale ? `; ${plural(stale, 'path')} left stale for the next run` : ''}.`,
      '',
    );
  }
  if (report.behind) {
    lines.push(
      '**The ledger is behind**: writing it failed, so it does not know what the last stage pushed. The pushes stand; run again once the ledger can be written.',
      '',
    );
  }
  return lines.join('\n');
}

/** The report file's `ledger` section (snake_case, like the rest of the file). */
export function ledgerReportDocument(report: LedgerReport): object {
  return {
    ledger: report.ledger,
    skip_current: report.skipCurrent,
    prune: report.prune,
    held_before: {
      top: report.heldBefore.top,
      other: report.heldBefore.other,
      unknown: report.heldBefore.unknown,
    },
    current: report.current.map((c) => ({ server_id: c.serverId, reason: c.reason })),
    servers: Object.entries(report.servers).map(([serverId, s]) => ({
      server_id: serverId,
      previous_object: s.previous?.object ?? null,
      previous_sha256: s.previous?.sha256 ?? null,
      deleted: s.deleted,
      stale: s.stale,
      prune_jobs: s.pruneJobs,
    })),
    pruned: report.pruned,
    writes: report.writes,
    behind: report.behind,
  };
}
