import { describe, expect, it } from 'vitest';
import type { RunReport, ServerResult } from '../../../src/model/results.js';
import { utf8Bytes } from '../../../src/report/html.js';
import { buildSummary, cutNote, SUMMARY_BUDGET_BYTES } from '../../../src/report/summary.js';
import {
  buildServerTable,
  CELL_BYTES,
  MAX_TABLE_ROWS,
  tableOrder,
} from '../../../src/report/summary-table.js';
import { runReport, server } from '../../helpers/results.js';

function report(servers: ServerResult[], extra: Partial<RunReport> = {}): RunReport {
  return runReport(servers, { uploaded: false, ...extra });
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `srv-${String(i + 1).padStart(5, '0')}`);
const REPORT_FILE = '/home/runner/work/_temp/cph-publish-publish-0123456789abcdef.json';

describe('buildServerTable', () => {
  it('frames the rows: 5 lines of markup around one row per server', () => {
    const table = buildServerTable([server('a', 'succeeded')], 10_000);
    expect(table).toEqual({
      lines: [
        '<table>',
        '<thead><tr><th>Server</th><th>Job</th><th>Status</th><th>Error</th></tr></thead>',
        '<tbody>',
        '<tr><td>a</td><td>job-a</td><td>succeeded</td><td></td></tr>',
        '</tbody>',
        '</table>',
      ],
      omittedRows: 0,
      cutCells: 0,
    });
    expect(buildServerTable([], 10_000)).toEqual({ lines: [], omittedRows: 0, cutCells: 0 });
  });

  it('cuts an error of several KiB to 568 bytes with an ellipsis and counts the cut cell', () => {
    expect(CELL_BYTES.error).toBe(568);
    const message = `${'disk full; '.repeat(500)}end`;
    const table = buildServerTable(
      [server('a', 'failed', { error_code: 'CPS.0212', error_msg: message }), server('b', 'succeeded')],
      100_000,
    );
    expect(table.cutCells).toBe(1);
    const cell = /<td>(CPS\.0212: [^<]*)<\/td><\/tr>/.exec(table.lines[3] ?? '')?.[1] ?? '';
    expect(utf8Bytes(cell)).toBeLessThanOrEqual(CELL_BYTES.error);
    expect(utf8Bytes(cell)).toBeGreaterThan(CELL_BYTES.error - 12);
    expect(cell.startsWith('CPS.0212: disk full; disk full;')).toBe(true);
    expect(cell.endsWith('…')).toBe(true);
    expect(table.lines[4]).toBe('<tr><td>b</td><td>job-b</td><td>succeeded</td><td></td></tr>');
  });

  // Each row below is 64 bytes and a new line; the frame is 5 lines, 115 bytes with theirs.
  it.each([
    [115 + 3 * 65, 3, 0],
    [115 + 3 * 65 - 1, 2, 1],
    [115 + 65, 1, 2],
    [115 + 64, 0, 3],
  ])('with a budget of %i bytes shows %i of 3 rows, leaves out %i', (budget, shown, omitted) => {
    const servers = ['s-1', 's-2', 's-3'].map((id) => server(id, 'succeeded'));
    expect(buildServerTable(servers, 1_000_000).lines[3]).toHaveLength(64);
    const table = buildServerTable(servers, budget);
    expect(table.lines).toHaveLength(5 + shown);
    expect(table.omittedRows).toBe(omitted);
    expect(utf8Bytes(`${table.lines.join('\n')}\n`)).toBeLessThanOrEqual(budget);
  });

  it('orders failures, then running jobs, then the rest, each in server order, at any size', () => {
    const small = [
      server('a', 'succeeded'),
      server('b', 'running'),
      server('c', 'failed'),
      server('d', 'skipped'),
      server('e', 'rejected'),
      server('f', 'current'),
    ];
    expect(tableOrder(small).map((s) => s.server_id)).toEqual(['c', 'e', 'b', 'a', 'd', 'f']);
    const large = ids(1001).map((id, i) =>
      server(id, i === 1000 ? 'rejected' : i === 500 ? 'running' : 'succeeded'),
    );
    expect(
      tableOrder(large)
        .slice(0, 3)
        .map((s) => s.server_id),
    ).toEqual(['srv-01001', 'srv-00501', 'srv-00001']);
    const table = buildServerTable(large, 10_000_000);
    expect(table.lines).toHaveLength(5 + MAX_TABLE_ROWS);
    expect(table.omittedRows).toBe(1);
  });
});

describe('cutNote', () => {
  it.each([
    [
      1,
      0,
      REPORT_FILE,
      `1 more server is not shown (failures are listed first): the report file <code>${REPORT_FILE}</code>`,
    ],
    [
      4000,
      2,
      REPORT_FILE,
      '4000 more servers are not shown (failures are listed first); 2 cells were cut (…): ',
    ],
    [
      0,
      1,
      undefined,
      '1 cell was cut (…): the `jobs` output has every server unless `truncated-outputs` names it.',
    ],
  ])('%i rows left out, %i cells cut, report file %s', (rows, cells, file, start) => {
    const note = cutNote(rows, cells, file);
    expect(note.startsWith(start)).toBe(true);
    if (file) {
      expect(note).toContain('`actions/upload-artifact`');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
      expect(note).toContain('`path: ${{ steps.publish.outputs.report-file }}`');
    }
  });
});

describe('buildSummary at fleet scale', () => {
  it('keeps 20,000 failed servers with 4 KiB messages of markup under 900 KiB, failures first', () => {
    const message = '<b>"quota" & limits</b> | '.repeat(160);
    expect(message.length).toBeGreaterThan(4000);
    const servers = ids(20_000).map((id, i) =>
      i % 2 ? server(id, 'failed', { error_code: 'CPS.0212', error_msg: message }) : server(id, 'succeeded'),
    );
    const md = buildSummary(
      report(servers, { failure: `cph-publish: 10000 jobs failed (${message}; ${message}; ${message})` }),
      REPORT_FILE,
    );
    expect(utf8Bytes(md)).toBeLessThan(SUMMARY_BUDGET_BYTES);
    const rows = md.match(/<tr><td>/g) ?? [];
    expect(rows).toHaveLength(MAX_TABLE_ROWS);
    expect(md).not.toMatch(/<b>|<\/b>/);
    expect(md).toContain(
      '19000 more servers are not shown (failures are listed first); 1000 cells were cut (…): ' +
        `the report file <code>${REPORT_FILE}</code>`,
    );
    const body = md.split('<tbody>')[1] ?? '';
    expect(body).not.toContain('<td>succeeded</td>');
  });

  it('stays under 900 KiB in the worst case: every cell full of 3-byte characters', () => {
    const wide = '中'.repeat(5000);
    const servers = ids(MAX_TABLE_ROWS).map((id) =>
      server(`${id}${'x'.repeat(23)}`, 'failed', { job_id: wide, error_code: wide, error_msg: wide }),
    );
    const md = buildSummary(
      report(servers, { failure: wide, objectPath: `${'d/'.repeat(500)}a.tar` }),
      REPORT_FILE,
    );
    expect(utf8Bytes(md)).toBeLessThan(SUMMARY_BUDGET_BYTES);
    expect(md.match(/<tr><td>/g)).toHaveLength(MAX_TABLE_ROWS);
  });

  it('says nothing about cutting when every row and cell is whole', () => {
    const md = buildSummary(report(ids(3).map((id) => server(id, 'succeeded'))), REPORT_FILE);
    expect(md).not.toContain('not shown');
    expect(md).not.toContain('upload-artifact');
  });
});
