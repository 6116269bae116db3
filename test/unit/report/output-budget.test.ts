import { describe, expect, it } from 'vitest';
import {
  boundOutputs,
  OUTPUT_BUDGET_BYTES,
  OUTPUT_FILL_ORDER,
  type OutputName,
  outputBytes,
} from '../../../src/report/output-budget.js';
import { EMPTY_OUTPUTS } from '../../../src/report/outputs.js';

type Values = Parameters<typeof boundOutputs>[0];

/** Small outputs: 464 bytes together with `truncated-outputs` at `[]` (worked out below). */
function values(extra: Partial<Values> = {}): Values {
  return {
    'project-id': '0'.repeat(32),
    'object-url': 'obs://b/a.tar',
    uploaded: 'false',
    'request-ids': '["r1"]',
    'report-file': '/tmp/r.json',
    'failed-server-ids': '[]',
    'skipped-server-ids': '[]',
    'current-server-ids': '[]',
    'succeeded-server-ids': '[]',
    'job-ids': '[]',
    jobs: '[]',
    ...extra,
  };
}

const x = (n: number) => 'x'.repeat(n);

describe('outputBytes', () => {
  it.each([
    ['jobs', '', 8],
    ['jobs', '[]', 12],
    ['uploaded', 'false', 26],
    // One UTF-16 code unit is two bytes, whatever its UTF-8 length.
    ['jobs', 'é', 10],
    ['jobs', '中文', 12],
    // Outside the BMP: a surrogate pair, four bytes.
    ['jobs', '😀', 12],
  ])('%s = %j takes %i bytes', (name, value, bytes) => {
    expect(outputBytes(name, value)).toBe(bytes);
  });
});

describe('OUTPUT_FILL_ORDER', () => {
  it("is the contract's order, current-server-ids between skipped and succeeded", () => {
    expect([...OUTPUT_FILL_ORDER]).toEqual([
      'project-id',
      'object-url',
      'uploaded',
      'request-ids',
      'report-file',
      'truncated-outputs',
      'failed-server-ids',
      'skipped-server-ids',
      'current-server-ids',
      'succeeded-server-ids',
      'job-ids',
      'jobs',
    ]);
    expect(Object.keys(EMPTY_OUTPUTS)).toEqual([...OUTPUT_FILL_ORDER]);
    expect(EMPTY_OUTPUTS['current-server-ids']).toBe('[]');
  });
});

describe('boundOutputs', () => {
  it('keeps every output whole when they fit, in fill order, with truncated-outputs []', () => {
    const result = boundOutputs(values());
    expect(Object.keys(result.outputs)).toEqual([...OUTPUT_FILL_ORDER]);
    expect(result.truncated).toEqual([]);
    expect(result.outputs['truncated-outputs']).toBe('[]');
    expect(result.outputs).toMatchObject(values());
    // 84 + 46 + 26 + 34 + 44 + 38 + 38 + 40 + 40 + 44 + 18 + 12
    expect(result.bytes).toBe(464);
  });

  // Before `jobs`, 654 bytes are charged: the others (464 − 12 for `jobs` − 38 for
  // `truncated-outputs` at `[]`) plus `truncated-outputs` at its largest possible value,
  // ["failed-server-ids","skipped-server-ids","current-server-ids","succeeded-server-ids","job-ids","jobs"]
  // (103 characters: 2 × (17 + 103) = 240). So with a budget of 1,000, `jobs` fits while
  // 654 + 2 × (4 + L) < 1,000, that is up to L = 168.
  it.each([
    [0, false, 464 - 12 + 8],
    [167, false, 464 - 12 + 342],
    [168, false, 464 - 12 + 344],
    [169, true, 464 + 12],
    [5000, true, 464 + 12],
  ])('at the edge of a 1,000-byte budget: jobs of %i characters cut: %s, %i bytes', (length, cut, bytes) => {
    const result = boundOutputs(values({ jobs: x(length) }), 1000);
    expect(result.truncated).toEqual(cut ? ['jobs'] : []);
    expect(result.outputs.jobs).toBe(cut ? '[]' : x(length));
    expect(result.outputs['truncated-outputs']).toBe(cut ? '["jobs"]' : '[]');
    expect(result.bytes).toBe(bytes);
    expect(result.bytes).toBeLessThan(1000);
  });

  it('counts the value in UTF-16: 168 CJK characters fit where 168 emoji do not', () => {
    expect(boundOutputs(values({ jobs: '中'.repeat(168) }), 1000).truncated).toEqual([]);
    expect(boundOutputs(values({ jobs: '😀'.repeat(168) }), 1000).truncated).toEqual(['jobs']);
    expect(boundOutputs(values({ jobs: '😀'.repeat(85) }), 1000).truncated).toEqual(['jobs']);
    expect(boundOutputs(values({ jobs: '😀'.repeat(84) }), 1000).truncated).toEqual([]);
  });

  // Sizes of the lists (in characters) against a 2,000-byte budget, and what is cut. The fill
  // order decides: an output earlier in it keeps its place, a later one that still fits is kept
  // after an earlier one was cut.
  it.each<[string, Partial<Record<OutputName, number>>, OutputName[]]>([
    ['all fit', { 'failed-server-ids': 100, 'succeeded-server-ids': 100, jobs: 300 }, []],
    ['the last one is cut first', { 'failed-server-ids': 200, 'job-ids': 200, jobs: 400 }, ['jobs']],
    [
      'a large early list crowds out the later ones',
      { 'failed-server-ids': 650, 'succeeded-server-ids': 50, 'job-ids': 50, jobs: 50 },
      ['succeeded-server-ids', 'job-ids', 'jobs'],
    ],
    [
      'a later small list still fits after a larger one was cut',
      { 'failed-server-ids': 300, 'succeeded-server-ids': 500, 'job-ids': 50, jobs: 600 },
      ['succeeded-server-ids', 'jobs'],
    ],
    [
      'an early output larger than the budget is cut too',
      { 'request-ids': 1200, 'failed-server-ids': 100 },
      ['request-ids'],
    ],
  ])('%s', (_, lengths, truncated) => {
    const given = values(Object.fromEntries(Object.entries(lengths).map(([k, n]) => [k, x(n)])));
    const result = boundOutputs(given, 2000);
    expect(result.truncated).toEqual(truncated);
    expect(JSON.parse(result.outputs['truncated-outputs'])).toEqual(truncated);
    for (const name of OUTPUT_FILL_ORDER) {
      if (name === 'truncated-outputs') continue;
      expect(result.outputs[name], name).toBe(truncated.includes(name) ? '[]' : given[name]);
    }
    expect(result.bytes).toBeLessThan(2000);
    expect(result.bytes).toBe(
      OUTPUT_FILL_ORDER.reduce((sum, name) => sum + outputBytes(name, result.outputs[name]), 0),
    );
  });

  it('keeps 20,000 servers under 900,000 bytes, jobs cut, the id lists whole', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `srv-${String(i).padStart(5, '0')}`);
    const jobIds = ids.map((id) => `job-${id}-0123456789abcdef`);
    const jobs = ids.map((id, i) => ({
      server_id: id,
      server_name: null,
      stage: 1,
      job_id: jobIds[i],
      status: 'succeeded',
      error_code: null,
      error_msg: null,
    }));
    const result = boundOutputs(
      values({
        'succeeded-server-ids': JSON.stringify(ids),
        'job-ids': JSON.stringify(jobIds),
        jobs: JSON.stringify(jobs),
      }),
    );
    expect(result.truncated).toEqual(['job-ids', 'jobs']);
    expect(JSON.parse(result.outputs['succeeded-server-ids'])).toHaveLength(20_000);
    expect(result.bytes).toBeLessThan(OUTPUT_BUDGET_BYTES);
  });
});
