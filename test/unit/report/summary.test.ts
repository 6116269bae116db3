import { describe, expect, it } from 'vitest';
import type { RunReport, ServerResult } from '../../../src/model/results.js';
import { escapeHtml } from '../../../src/report/html.js';
import { buildOutputs } from '../../../src/report/outputs.js';
import { buildSummary, headline } from '../../../src/report/summary.js';
import { MAX_TABLE_ROWS } from '../../../src/report/summary-table.js';
import { runReport, server } from '../../helpers/results.js';

function report(servers: ServerResult[], extra: Partial<RunReport> = {}): RunReport {
  return runReport(servers, {
    file: {
      size: 3 * 1024 * 1024,
      sha256Hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    },
    git: { ref: 'refs/tags/v1.0.0', sha: 'abc123', commitUrl: 'https://github.com/o/r/commit/abc123' },
    ...extra,
  });
}

describe('buildOutputs', () => {
  it('sets every output of the contract as compact JSON, in server order', () => {
    const out = buildOutputs(
      report([
        server('s1', 'succeeded'),
        server('s2', 'rejected', { error_code: 'CPS.0005', error_msg: 'Phone not found.' }),
        server('s3', 'failed', { error_code: 'E', error_msg: 'm' }),
        server('s4', 'running'),
      ]),
      '/runner/_temp/cph-publish-publish-00ff.json',
    );
    expect(Object.keys(out).sort()).toEqual(
      [
        'failed-server-ids',
        'job-ids',
        'jobs',
        'object-url',
        'project-id',
        'report-file',
        'request-ids',
        'skipped-server-ids',
        'current-server-ids',
        'succeeded-server-ids',
        'uploaded',
      ].sort(),
    );
    expect(out['object-url']).toBe('obs://b-1/dir/app.tar');
    expect(out.uploaded).toBe('true');
    expect(out['request-ids']).toBe('["req-1"]');
    expect(out['report-file']).toBe('/runner/_temp/cph-publish-publish-00ff.json');
    expect(out['job-ids']).toBe('["job-s1","job-s3","job-s4"]');
    expect(out['succeeded-server-ids']).toBe('["s1"]');
    expect(out['failed-server-ids']).toBe('["s2","s3"]');
    expect(out.jobs).toBe(
      '[{"server_id":"s1","server_name":null,"stage":1,"job_id":"job-s1","status":"succeeded","error_code":null,"error_msg":null},' +
        '{"server_id":"s2","server_name":null,"stage":1,"job_id":null,"status":"rejected","error_code":"CPS.0005","error_msg":"Phone not found."},' +
        '{"server_id":"s3","server_name":null,"stage":1,"job_id":"job-s3","status":"failed","error_code":"E","error_msg":"m"},' +
        '{"server_id":"s4","server_name":null,"stage":1,"job_id":"job-s4","status":"running","error_code":null,"error_msg":null}]',
    );
  });

  it('leaves project-id empty when it was never known', () => {
    expect(buildOutputs(report([], { projectId: undefined }), '')['project-id']).toBe('');
  });
});

describe('buildSummary', () => {
  it('has heading, object, size and SHA-256, ref, commit, counts and a row per server', () => {
    const md = buildSummary(
      report([server('s1', 'succeeded'), server('s2', 'failed', { error_code: 'E1', error_msg: 'bad' })], {
        failure: 'cph-publish: 1 job failed',
      }),
    );
    expect(md).toMatch(/^## cph-publish failed: 1 of 2 servers succeeded/);
    expect(md).toContain('<code>obs://b-1/dir/app.tar</code>');
    expect(md).toContain(
      '3.0 MiB, SHA-256 <code>e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</code>, uploaded by this run',
    );
    expect(md).toContain('<code>refs/tags/v1.0.0</code>');
    expect(md).toContain('<a href="https://github.com/o/r/commit/abc123"><code>abc123</code></a>');
    expect(md).toContain('| succeeded | 1 |');
    expect(md).toContain('| failed | 1 |');
    expect(md).toContain('<tr><td>s2</td><td>job-s2</td><td>failed</td><td>E1: bad</td></tr>');
  });

  it('escapes every cell, whatever the service sent', () => {
    const md = buildSummary(
      report([server('s1', 'failed', { error_msg: '<img src=x onerror=alert(1)> | `x` & "y"' })]),
    );
    expect(md).not.toContain('<img');
    expect(md).toContain('&#60;img src=x onerror=alert(1)&#62; &#124; &#96;x&#96; &#38; &#34;y&#34;');
    expect(escapeHtml('<>&"\'`|')).toBe('&#60;&#62;&#38;&#34;&#39;&#96;&#124;');
  });

  it('past 1,000 servers shows failures first and says how many rows it left out', () => {
    const servers = Array.from({ length: 1500 }, (_, i) =>
      server(`s${i}`, i % 500 === 499 ? 'failed' : 'succeeded'),
    );
    const md = buildSummary(report(servers));
    const rows = md.match(/<tr><td>/g) ?? [];
    expect(rows).toHaveLength(MAX_TABLE_ROWS);
    const firstRows = md.split('<tbody>')[1]?.split('\n').filter(Boolean).slice(0, 3);
    expect(firstRows?.every((r) => r.includes('failed'))).toBe(true);
    expect(md).toContain('500 more servers are not shown');
  });

  it('says dry run and planned for a dry run', () => {
    const md = buildSummary(report([server('s1', 'planned')], { dryRun: true, uploaded: false }));
    expect(md).toMatch(/^## cph-publish dry run: 1 server planned/);
    expect(md).toContain('not uploaded (dry run)');
    expect(md).toContain('| planned | 1 |');
  });

  it('shows name (id) when the name is known, and failures first however few the servers', () => {
    const md = buildSummary(
      report([
        server('s1', 'succeeded', { server_name: 'game-01' }),
        server('s2', 'failed', { server_name: 'game-02', error_code: 'E1', error_msg: 'bad' }),
        server('s3', 'succeeded'),
      ]),
    );
    const rows = md.split('<tbody>\n')[1]?.split('\n</tbody>')[0]?.split('\n');
    expect(rows).toEqual([
      '<tr><td>game-02 (s2)</td><td>job-s2</td><td>failed</td><td>E1: bad</td></tr>',
      '<tr><td>game-01 (s1)</td><td>job-s1</td><td>succeeded</td><td></td></tr>',
      '<tr><td>s3</td><td>job-s3</td><td>succeeded</td><td></td></tr>',
    ]);
  });

  it('keeps a cell on one line: a new line in a message would end the table', () => {
    const md = buildSummary(
      report([server('s1', 'failed', { server_name: 'a\n\nb', error_msg: 'x\n\n# y' })]),
    );
    expect(md).toContain('<tr><td>a\\n\\nb (s1)</td><td>job-s1</td><td>failed</td><td>x\\n\\n# y</td></tr>');
  });

  it('counts current servers and lists them in current-server-ids, not succeeded', () => {
    const r = report([server('s1', 'succeeded'), server('s2', 'current', { job_id: null })]);
    const md = buildSummary(r);
    expect(md).toContain('| succeeded | 1 |\n| current | 1 |\n| **total** | **2** |');
    const out = buildOutputs(r, '');
    expect(out['current-server-ids']).toBe('["s2"]');
    expect(out['succeeded-server-ids']).toBe('["s1"]');
  });
});

describe('headline', () => {
  it.each<[string, ServerResult['status'][], Partial<RunReport>, string]>([
    ['one server', ['succeeded'], {}, 'cph-publish: the 1 server succeeded'],
    ['all', ['succeeded', 'succeeded'], {}, 'cph-publish: all 2 servers succeeded'],
    ['a skipped server', ['succeeded', 'skipped'], {}, 'cph-publish: 1 of 2 servers succeeded (1 skipped)'],
    [
      'failures within max-failures and current servers',
      ['succeeded', 'failed', 'rejected', 'current'],
      {},
      'cph-publish: 1 of 4 servers succeeded (2 failed within max-failures, 1 current)',
    ],
    [
      'every server current',
      ['current', 'current'],
      {},
      'cph-publish: nothing to push, all 2 servers are current',
    ],
    ['the one server current', ['current'], {}, 'cph-publish: nothing to push, the 1 server is current'],
    ['not waited for', ['submitted'], {}, 'cph-publish: 1 of 1 server submitted, not waited for'],
    [
      'not waited for, one skipped',
      ['submitted', 'submitted', 'skipped'],
      {},
      'cph-publish: 2 of 3 servers submitted, not waited for (1 skipped)',
    ],
    ['failed', ['failed'], { failure: 'x' }, 'cph-publish failed: 0 of 1 server succeeded'],
    [
      'cancelled',
      ['running', 'succeeded'],
      { cancelled: true, failure: 'x' },
      'cph-publish cancelled: 1 of 2 servers succeeded',
    ],
    ['dry run', ['planned', 'planned'], { dryRun: true }, 'cph-publish dry run: 2 servers planned'],
  ])('%s', (_, statuses, extra, text) => {
    expect(
      headline(
        report(
          statuses.map((s, i) => server(`s${i}`, s)),
          extra,
        ),
      ),
    ).toBe(text);
  });
});
