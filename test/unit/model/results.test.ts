import { describe, expect, it } from 'vitest';
import {
  countStage,
  isFailure,
  type ServerResult,
  type ServerStatus,
  STATUS_ORDER,
  serversByStage,
  sortByOrder,
} from '../../../src/model/results.js';

function server(id: string, stage: number | null, status: ServerStatus): ServerResult {
  return {
    server_id: id,
    server_name: null,
    stage,
    job_id: null,
    status,
    error_code: null,
    error_msg: null,
  };
}

const servers = [
  server('r', null, 'rejected'),
  server('a', 1, 'succeeded'),
  server('b', 2, 'failed'),
  server('c', 2, 'rejected'),
  server('d', 2, 'running'),
  server('e', 2, 'skipped'),
  server('f', 3, 'skipped'),
  server('g', 2, 'submitted'),
  server('h', 2, 'current'),
];

describe('countStage', () => {
  it('counts every server of the stage, once, by how it ended', () => {
    expect(countStage(2, servers)).toEqual({
      number: 2,
      servers: 6,
      succeeded: 0,
      failed: 2,
      unfinished: 2,
      skipped: 1,
    });
    expect(countStage(1, servers)).toEqual({
      number: 1,
      servers: 1,
      succeeded: 1,
      failed: 0,
      unfinished: 0,
      skipped: 0,
    });
    expect(countStage(4, servers).servers).toBe(0);
  });
});

describe('serversByStage', () => {
  it('groups by stage in stage order, leaving out servers with no stage', () => {
    const shuffled = [servers[6], servers[0], servers[2], servers[1]] as ServerResult[];
    expect(
      [...serversByStage(shuffled).entries()].map(([n, list]) => [n, list.map((s) => s.server_id)]),
    ).toEqual([
      [1, ['a']],
      [2, ['b']],
      [3, ['f']],
    ]);
  });
});

describe('sortByOrder', () => {
  it('puts the results in the order the servers were chosen; unknown ids last, in their order', () => {
    const sorted = sortByOrder(
      [server('z', 1, 'failed'), server('b', 1, 'failed'), server('a', 1, 'failed')],
      ['a', 'b'],
    );
    expect(sorted.map((s) => s.server_id)).toEqual(['a', 'b', 'z']);
  });
});

describe('statuses', () => {
  it('only rejected and failed count against max-failures; current is a status of its own', () => {
    expect(STATUS_ORDER.filter(isFailure)).toEqual(['failed', 'rejected']);
    expect(STATUS_ORDER).toContain('current');
    expect(new Set(STATUS_ORDER).size).toBe(8);
  });
});
