import { describe, expect, it } from 'vitest';
import { chooseFleet, chooseServers, globToRegExp } from '../../../src/fleet/choose.js';
import type { FleetServer } from '../../../src/huawei/types.js';

const server = (id: string, name: string): FleetServer => ({ id, name, status: 5, phoneModel: 'm' });

describe('globToRegExp: whole names, case-sensitive', () => {
  it.each([
    ['game-*', 'game-01', true],
    ['game-*', 'my-game-01', false],
    ['game-*', 'game-', true],
    ['game-*', 'Game-01', false],
    ['game-??', 'game-01', true],
    ['game-??', 'game-1', false],
    ['game-??', 'game-001', false],
    ['*', 'anything.at_all', true],
    ['game.prod', 'game.prod', true],
    ['game.prod', 'gameXprod', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYYcd', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    // Names of any script: `?` is one character (code point), not one UTF-16 unit.
    ['游戏-*', '游戏-生产-01', true],
    ['游戏-*', '我的游戏-01', false],
    ['游戏-??', '游戏-生产', true],
    ['游戏-??', '游戏-生产环境', false],
    ['华东.云手机', '华东.云手机', true],
    ['华东.云手机', '华东X云手机', false],
    ['*-𠀋?', '服务器-𠀋1', true],
    ['сервер-?', 'сервер-1', true],
    ['サーバー*', 'サーバー東京', true],
  ])('%s against %s → %s', (pattern, name, matches) => {
    expect(globToRegExp(pattern).test(name)).toBe(matches);
  });
});

describe('chooseServers', () => {
  const list = [
    server('id-1', 'game-prod-01'),
    server('id-2', 'game-test-01'),
    server('id-3', 'game-prod-02'),
    server('id-4', 'game-prod-canary'),
    server('id-5', 'other-01'),
    server('id-6', 'game-prod-03'),
  ];

  it('takes the ids given first, then name matches in list order, minus exclusions', () => {
    const chosen = chooseServers(
      ['id-5', 'unknown'],
      { include: ['game-prod-*'], exclude: ['*-canary'] },
      list,
    );
    expect(chosen).toEqual([
      { id: 'id-5', name: 'other-01', given: true },
      { id: 'unknown', name: null, given: true },
      { id: 'id-1', name: 'game-prod-01', given: false },
      { id: 'id-3', name: 'game-prod-02', given: false },
      { id: 'id-6', name: 'game-prod-03', given: false },
    ]);
  });

  it('drops duplicates: a given id matched by name stays given, in its place', () => {
    const chosen = chooseServers(
      ['id-3', 'id-3'],
      { include: ['game-prod-0?', 'game-*-01'], exclude: [] },
      list,
    );
    expect(chosen.map((c) => [c.id, c.given])).toEqual([
      ['id-3', true],
      ['id-1', false],
      ['id-2', false],
      ['id-6', false],
    ]);
  });

  it('exclusions remove only servers chosen by name, never an id given', () => {
    const chosen = chooseServers(
      ['id-4'],
      { include: ['game-*'], exclude: ['game-prod-canary', 'game-test-*'] },
      list,
    );
    expect(chosen.map((c) => c.id)).toEqual(['id-4', 'id-1', 'id-3', 'id-6']);
  });

  it('the same server listed twice is chosen once', () => {
    const chosen = chooseServers([], { include: ['game-prod-01'], exclude: [] }, [list[0]!, list[0]!]);
    expect(chosen).toEqual([{ id: 'id-1', name: 'game-prod-01', given: false }]);
  });

  it('without a list only the ids given are chosen, without names', () => {
    expect(chooseServers(['a', 'b', 'a'], { include: [], exclude: [] }, undefined)).toEqual([
      { id: 'a', name: null, given: true },
      { id: 'b', name: null, given: true },
    ]);
  });

  it('patterns that match nothing choose nothing', () => {
    expect(chooseServers([], { include: ['nope-*'], exclude: [] }, list)).toEqual([]);
  });
});

describe('chooseServers: Chinese names', () => {
  const list = [
    server('cn-1', '游戏-生产-01'),
    server('cn-2', '游戏-测试-01'),
    server('cn-3', '游戏-生产-02'),
    server('cn-4', '游戏-生产-灰度'),
  ];

  it('matches and excludes by Chinese patterns, in list order', () => {
    expect(chooseServers([], { include: ['游戏-生产-*'], exclude: ['游戏-生产-灰度'] }, list)).toEqual([
      { id: 'cn-1', name: '游戏-生产-01', given: false },
      { id: 'cn-3', name: '游戏-生产-02', given: false },
    ]);
  });
});

describe('chooseServers and chooseFleet at the edges', () => {
  it('`?` is one character, an emoji too, and `*` runs across a line break', () => {
    expect(globToRegExp('a?b').test('a😀b')).toBe(true);
    expect(globToRegExp('a*b').test('a\nb')).toBe(true);
    expect(globToRegExp('a?b').test('a\nb')).toBe(true);
  });

  it('patterns without the project list choose only the ids given', () => {
    expect(chooseServers(['a'], { include: ['game-*'], exclude: [] }, undefined)).toEqual([
      { id: 'a', name: null, given: true },
    ]);
    expect(chooseServers(['a'], { include: [], exclude: [] }, undefined)).toEqual([
      { id: 'a', name: null, given: true },
    ]);
  });

  it('an id listed twice takes the name of its first entry', () => {
    const listed = [server('d', 'first'), server('d', 'second')];
    expect(chooseServers(['d'], { include: [], exclude: [] }, listed)).toEqual([
      { id: 'd', name: 'first', given: true },
    ]);
  });

  it('without pre-flight nothing is refused and no flavor is in doubt', () => {
    const listed = [server('a', 'game-1'), server('b', 'other')];
    const choice = chooseFleet([], { include: ['game-*'], exclude: [] }, listed, undefined);
    expect(choice).toEqual({
      chosen: [{ id: 'a', name: 'game-1', given: false }],
      refused: [],
      accepted: [{ id: 'a', name: 'game-1', given: false }],
      unknownStorage: [],
    });
  });
});
