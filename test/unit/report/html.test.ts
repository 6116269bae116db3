import { describe, expect, it } from 'vitest';
import { escapeAndCut, escapeHtml, utf8Bytes } from '../../../src/report/html.js';
import { duplicatesLine } from '../../../src/report/log.js';
import { listIds, MAX_IDS_PER_LINE } from '../../../src/util/text.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);

describe('listIds', () => {
  it.each([
    [0, 20, ''],
    [1, 20, 's1'],
    [3, 20, 's1, s2, s3'],
    [3, 3, 's1, s2, s3'],
    [4, 3, 's1, s2, s3 … and 1 more'],
    [5000, 2, 's1, s2 … and 4998 more'],
  ])('%i ids, at most %i: %s', (n, max, text) => {
    expect(listIds(ids(n), max)).toBe(text);
  });

  it('names 20 ids by default, whatever the fleet size', () => {
    expect(MAX_IDS_PER_LINE).toBe(20);
    expect(listIds(ids(20))).toBe(ids(20).join(', '));
    const line = listIds(ids(300_000));
    expect(line).toBe(`${ids(20).join(', ')} … and 299980 more`);
  });
});

describe('duplicatesLine', () => {
  it.each([
    [['a'], 'server id a is listed more than once; pushing to it once'],
    [['a', 'b'], '2 server ids are listed more than once (a, b); pushing to each once'],
    [
      ids(25),
      `25 server ids are listed more than once (${ids(20).join(', ')} … and 5 more); pushing to each once`,
    ],
  ])('%j', (given, line) => {
    expect(duplicatesLine(given)).toBe(line);
  });
});

describe('escapeAndCut', () => {
  it.each([
    // text, max bytes, html, cut
    ['short', 10, 'short', false],
    ['exactly10!', 10, 'exactly10!', false],
    ['eleven char', 10, 'eleven …', true],
    // An escape is never split: `<` is 5 bytes escaped.
    ['abcd<efg', 8, 'abcd…', true],
    ['abcd<efg', 10, 'abcd…', true],
    ['abcd<efg', 11, 'abcd…', true],
    ['abcd<efgh', 12, 'abcd&#60;…', true],
    // UTF-8: 中 is 3 bytes; … is 3 bytes.
    ['中中中中', 12, '中中中中', false],
    ['中中中中中', 12, '中中中…', true],
    ['中中中中中', 11, '中中…', true],
    // A surrogate pair is one character, never split.
    ['😀😀😀', 10, '😀…', true],
  ])('%j in %i bytes: %j', (text, max, html, cut) => {
    const result = escapeAndCut(text, max);
    expect(result).toEqual({ html, cut });
    expect(utf8Bytes(result.html)).toBeLessThanOrEqual(max);
  });

  it('cuts a message of several KiB full of markup to the byte size asked, escaped', () => {
    const message = '<script>alert("x")</script>|'.repeat(300);
    const { html, cut } = escapeAndCut(message, 640);
    expect(cut).toBe(true);
    expect(utf8Bytes(html)).toBeLessThanOrEqual(640);
    expect(utf8Bytes(html)).toBeGreaterThan(640 - 8);
    expect(html).not.toMatch(/[<>"|]/);
    expect(html.startsWith(escapeHtml('<script>alert("x")</script>|'))).toBe(true);
    expect(html.endsWith('…')).toBe(true);
  });
});
