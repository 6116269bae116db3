/**
 * The summary's server table, bounded twice: at most 1,000 rows (failures first), and at most a
 * byte budget whatever the service's error messages hold — each cell of service text is cut to a
 * fixed size, and rows stop before the budget is reached.
 */

import { isFailure, type ServerResult } from '../model/results.js';
import { escapeAndCut, utf8Bytes } from './html.js';

export const MAX_TABLE_ROWS = 1000;

/**
 * Cell sizes in UTF-8 bytes, escaped. A row is at most 46 bytes of markup plus the cells,
 * 46 + 128 + 96 + 16 + 568 = 854 bytes, so 1,000 full rows take 854,000 bytes and leave the rest
 * of the summary more than 60 KiB under 900 KiB; the byte budget in `buildServerTable` holds even
 * if these sizes change. An error keeps its first 568 bytes: the code and the start of the
 * message say what failed; the report file has the rest. Ids are at most 32 characters; the
 * server cell holds `name (id)`, which leaves a name 93 bytes (job ids and names come from the
 * service, so they are cut too).
 */
export const CELL_BYTES = { server: 128, job: 96, status: 16, error: 568 } as const;

const HEAD = [
  '<table>',
  '<thead><tr><th>Server</th><th>Job</th><th>Status</th><th>Error</th></tr></thead>',
  '<tbody>',
];
const TAIL = ['</tbody>', '</table>'];

export interface ServerTable {
  /** The table's lines (empty when there is no server). */
  lines: string[];
  /** Servers left out of the table: past 1,000 rows, or past the byte budget. */
  omittedRows: number;
  /** Cells cut with an ellipsis. */
  cutCells: number;
}

/**
 * Failures matter most, then jobs still running: the table lists `failed` and `rejected` servers
 * first, then `running` ones, then the rest, each group in server order — at any fleet size, so
 * the table reads the same whether or not every row fits.
 */
export function tableOrder(servers: readonly ServerResult[]): ServerResult[] {
  const rank = (s: ServerResult) => (isFailure(s.status) ? 0 : s.status === 'running' ? 1 : 2);
  const groups: ServerResult[][] = [[], [], []];
  for (const s of servers) groups[rank(s)]?.push(s);
  return groups.flat();
}

/** `name (id)` when the name is known, else the id. */
function serverLabel(server: Pick<ServerResult, 'server_id' | 'server_name'>): string {
  return server.server_name ? `${server.server_name} (${server.server_id})` : server.server_id;
}

function row(server: ServerResult): { html: string; cut: number } {
  const error = [server.error_code, server.error_msg].filter(Boolean).join(': ');
  const cells = [
    escapeAndCut(serverLabel(server), CELL_BYTES.server),
    escapeAndCut(server.job_id ?? '', CELL_BYTES.job),
    escapeAndCut(server.status, CELL_BYTES.status),
    escapeAndCut(error, CELL_BYTES.error),
  ];
  return {
    html: `<tr>${cells.map((c) => `<td>${c.html}</td>`).join('')}</tr>`,
    cut: cells.filter((c) => c.cut).length,
  };
}

/** The table for `servers`, taking at most `budgetBytes` (UTF-8, new lines included). */
export function buildServerTable(servers: readonly ServerResult[], budgetBytes: number): ServerTable {
  if (servers.length === 0) return { lines: [], omittedRows: 0, cutCells: 0 };
  const frame = [...HEAD, ...TAIL].reduce((sum, line) => sum + utf8Bytes(line) + 1, 0);
  let bytes = frame;
  let cutCells = 0;
  const rows: string[] = [];
  for (const server of tableOrder(servers).slice(0, MAX_TABLE_ROWS)) {
    const { html, cut } = row(server);
    const size = utf8Bytes(html) + 1;
    if (bytes + size > budgetBytes) break;
    rows.push(html);
    bytes += size;
    cutCells += cut;
  }
  return { lines: [...HEAD, ...rows, ...TAIL], omittedRows: servers.length - rows.length, cutCells };
}
