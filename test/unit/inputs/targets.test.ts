/** Choosing servers: `server-names` (ids are in index.test.ts and server-ids.test.ts), `preflight`. */
import { describe, expect, it } from 'vitest';
import { config, KEYS, problems } from './fixtures.js';

describe('server-names', () => {
  it('splits patterns on commas and new lines and strips the ! of exclusions', () => {
    expect(
      config({ ...KEYS, 'server-ids': '', 'server-names': 'game-prod-*, !game-prod-0?\r\nedge-?.x' })
        .serverNames,
    ).toEqual({ include: ['game-prod-*', 'edge-?.x'], exclude: ['game-prod-0?'] });
  });

  it('lets names alone choose the servers', () => {
    const c = config({ ...KEYS, 'server-ids': '', 'server-names': 'game-*' });
    expect(c.serverIds).toEqual([]);
    expect(c.serverNames.include).toEqual(['game-*']);
  });

  it('allows only exclusions when ids are given', () => {
    expect(config({ ...KEYS, 'server-names': '!game-01' }).serverNames).toEqual({
      include: [],
      exclude: ['game-01'],
    });
  });

  it('refuses only exclusions without ids', () => {
    expect(problems({ ...KEYS, 'server-ids': '', 'server-names': '!game-01' })).toEqual([
      {
        input: 'server-names',
        message:
          "has only '!' exclusions and no server id is given: add a pattern that chooses servers, such as 'game-prod-*'",
      },
    ]);
  });

  it.each(['game prod', 'game/*', '!', `${'a'.repeat(256)}`, 'ga[me]'])(
    'refuses the pattern %j',
    (pattern) => {
      const found = problems({ ...KEYS, 'server-names': pattern });
      expect(found).toHaveLength(1);
      expect(found[0]?.input).toBe('server-names');
      expect(found[0]?.message).toMatch(/^pattern '.*' must be 1 to 255 letters or digits \(of any script\)/);
    },
  );

  it('accepts Chinese names and exclusions', () => {
    expect(
      config({ ...KEYS, 'server-ids': '', 'server-names': '游戏-生产-*, !游戏-生产-0?\n华东.云手机_01' })
        .serverNames,
    ).toEqual({ include: ['游戏-生产-*', '华东.云手机_01'], exclude: ['游戏-生产-0?'] });
  });

  it.each(['сервер-?', 'サーバー*', '게임-01', 'ゲーム٣', 'Ωmega_*'])(
    'accepts letters and digits of any script: %j',
    (pattern) => {
      expect(config({ ...KEYS, 'server-names': pattern }).serverNames.include).toEqual([pattern]);
    },
  );

  it('counts characters, not UTF-16 units: 255 Chinese characters pass, 256 do not', () => {
    expect(config({ ...KEYS, 'server-names': '机'.repeat(255) }).serverNames.include).toEqual([
      '机'.repeat(255),
    ]);
    expect(problems({ ...KEYS, 'server-names': '机'.repeat(256) }).map((p) => p.input)).toEqual([
      'server-names',
    ]);
  });

  it.each([
    ['游戏，生产', "pattern '\\u{6e38}\\u{620f}\\u{ff0c}\\u{751f}\\u{4ea7}'"],
    ['🎮-*', "pattern '\\u{1f3ae}-*'"],
    ['游戏 生产', "pattern '\\u{6e38}\\u{620f} \\u{751f}\\u{4ea7}'"],
  ])('refuses %j (punctuation, symbols and spaces are not letters)', (pattern, shown) => {
    expect(problems({ ...KEYS, 'server-names': pattern })).toEqual([
      {
        input: 'server-names',
        message: `${shown} must be 1 to 255 letters or digits (of any script), '-', '_', '.', '*' or '?' (after an optional '!')`,
      },
    ]);
  });

  it('reports every bad pattern, not only the first', () => {
    expect(problems({ ...KEYS, 'server-names': 'game prod, ok-*, a/b' })).toEqual([
      {
        input: 'server-names',
        message:
          "pattern 'game prod' must be 1 to 255 letters or digits (of any script), '-', '_', '.', '*' or '?' (after an optional '!')",
      },
      {
        input: 'server-names',
        message:
          "pattern 'a/b' must be 1 to 255 letters or digits (of any script), '-', '_', '.', '*' or '?' (after an optional '!')",
      },
    ]);
  });
});

describe('preflight', () => {
  it('is on by default and reads false', () => {
    expect(config(KEYS).preflight).toBe(true);
    expect(config({ ...KEYS, preflight: 'FALSE' }).preflight).toBe(false);
  });

  it('refuses a bad preflight', () => {
    expect(problems({ ...KEYS, preflight: 'yes' })).toEqual([
      { input: 'preflight', message: "must be true or false (also True, TRUE, False, FALSE), got 'yes'" },
    ]);
  });
});
