import { describe, expect, it } from 'vitest';
import { chooseFleet } from '../../../src/fleet/choose.js';
import { stageServers } from '../../../src/fleet/stages.js';
import type { FleetServer, PhoneModel } from '../../../src/huawei/types.js';

const SHARED = JSON.stringify({ max_share_disk_size_g: 10 });
const models: PhoneModel[] = [
  { name: 'shared', extendSpec: SHARED },
  { name: 'plain', extendSpec: '{}' },
];
const listed: FleetServer[] = [
  { id: 'i1', name: 'game-01', status: 5, phoneModel: 'shared' },
  { id: 'i2', name: 'game-02', status: 10, phoneModel: 'shared' },
  { id: 'i3', name: 'game-03', status: 5, phoneModel: 'plain' },
  { id: 'i4', name: 'game-04', status: 5, phoneModel: 'shared' },
  { id: 'i5', name: 'other-01', status: 5, phoneModel: 'shared' },
];
const where = { projectId: 'p1', region: 'cn-east-3' };
const names = { include: ['game-*'], exclude: ['game-04'] };

describe('chooseFleet', () => {
  it('without pre-flight: every server chosen is accepted, none refused', () => {
    const choice = chooseFleet(['i5', 'x9'], names, listed, undefined);
    expect(choice.chosen.map((s) => s.id)).toEqual(['i5', 'x9', 'i1', 'i2', 'i3']);
    expect(choice.accepted).toEqual(choice.chosen);
    expect(choice.refused).toEqual([]);
  });

  it('with pre-flight: refused servers with their verdict and reason, accepted in order', () => {
    const choice = chooseFleet(['i5', 'x9'], names, listed, { models, where });
    expect(choice.accepted.map((s) => s.id)).toEqual(['i5', 'i1']);
    expect(choice.refused.map((v) => [v.server.id, v.verdict, v.reason])).toEqual([
      ['x9', 'rejected', 'not found in project p1 of region cn-east-3'],
      ['i2', 'skipped', 'not running: shut down (status 10)'],
      ['i3', 'rejected', 'flavor plain has no shared storage (its extend_spec has no max_share_disk_size_g)'],
    ]);
    expect(choice.unknownStorage).toEqual([]);
  });

  it('ids only, no list read: the ids given, no names', () => {
    const choice = chooseFleet(['a', 'b', 'a'], { include: [], exclude: [] }, undefined, undefined);
    expect(choice.chosen).toEqual([
      { id: 'a', name: null, given: true },
      { id: 'b', name: null, given: true },
    ]);
  });
});

describe('stageServers', () => {
  it('numbers each server with its stage, in order', () => {
    const servers = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, name: `n-${id}`, given: true }));
    const { stages, servers: staged } = stageServers(servers, [{ count: 1 }, { percent: 50 }]);
    expect(stages.map((s) => [s.number, s.from, s.to])).toEqual([
      [1, 0, 1],
      [2, 1, 3],
      [3, 3, 5],
    ]);
    expect(staged.map((s) => [s.serverId, s.serverName, s.stage])).toEqual([
      ['a', 'n-a', 1],
      ['b', 'n-b', 2],
      ['c', 'n-c', 2],
      ['d', 'n-d', 3],
      ['e', 'n-e', 3],
    ]);
  });

  it('no servers: no stage', () => {
    expect(stageServers([], [{ count: 1 }])).toEqual({ stages: [], servers: [] });
  });
});
