import { describe, expect, it } from 'vitest';
import { errorMessage, logSafe, plural, pluralWord, show, snippet } from '../../../src/util/text.js';

describe('logSafe', () => {
  it.each([
    // A new line would end the log line; the rest would be read as a workflow command.
    ['a\n::error::x.tar', 'a\\n:\\u{3a}error:\\u{3a}x.tar'],
    ['crlf\r\nx', 'crlf\\r\\nx'],
    ['tab\there', 'tab\\there'],
    // At the start of a line (after spaces) `::` starts a command; a leading `:` is escaped wherever the text lands.
    ['::error::x', '\\u{3a}\\u{3a}error:\\u{3a}x'],
    ['  ::warning::x', '  \\u{3a}\\u{3a}warning:\\u{3a}x'],
    [':', '\\u{3a}'],
    [':::', '\\u{3a}\\u{3a}\\u{3a}'],
    ['a::b', 'a:\\u{3a}b'],
    // The runner's older `##[command]` form is read anywhere in a line.
    ['x ##[error]y', 'x ##\\u{5b}error]y'],
    // Characters that hide or reorder what a line shows.
    ['rlo\u202eabc', 'rlo\\u{202e}abc'],
    ['zw\u200bj', 'zw\\u{200b}j'],
    ['line\u2028sep', 'line\\u{2028}sep'],
    ['esc\u001b[31mred', 'esc\\u{1b}[31mred'],
    ['\ud800lone', '\\u{d800}lone'],
    // Printable text, whatever its script, is kept as it is.
    ['game-01', 'game-01'],
    ['中文 服务器', '中文 服务器'],
    ['plain: text (1 of 2) # [x]', 'plain: text (1 of 2) # [x]'],
    ['C:\\dir\\app.tar', 'C:\\dir\\app.tar'],
    ['', ''],
  ])('%j → %j', (text, safe) => {
    expect(logSafe(text)).toBe(safe);
  });

  it('changes nothing when applied twice', () => {
    for (const text of ['a\n::error::x', '::', 'x ##[e]', 'rlo\u202e', 'a::b:::c', '  :x']) {
      expect(logSafe(logSafe(text))).toBe(logSafe(text));
    }
  });

  it('never leaves a line break, a leading `:`, a `::` or a `##[` in any text', () => {
    const pieces = ['\n', '\r', ':', '::', '#', '##', '[', ' ', 'a', '\u2028', '\u0085'];
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          const safe = logSafe(a + b + c);
          expect(safe).not.toMatch(/[\r\n\u2028\u0085]|^\s*:|::|##\[/u);
        }
      }
    }
  });
});

describe('plural', () => {
  it.each([
    [0, 'job', undefined, '0 jobs'],
    [1, 'job', undefined, '1 job'],
    [2, 'job', undefined, '2 jobs'],
    [1, 'entry', 'entries', '1 entry'],
    [3, 'entry', 'entries', '3 entries'],
    [1, 'server was', 'servers were', '1 server was'],
    [2, 'server was', 'servers were', '2 servers were'],
  ])('%i %s/%s → %s', (n, one, many, text) => {
    expect(plural(n, one, many)).toBe(text);
  });

  it('gives the word alone for a verb that agrees with a count said elsewhere', () => {
    expect(pluralWord(1, 'is', 'are')).toBe('is');
    expect(pluralWord(0, 'is', 'are')).toBe('are');
    expect(pluralWord(2, 'server')).toBe('servers');
  });
});

describe('errorMessage', () => {
  it.each([
    [new Error('boom'), 'boom'],
    [new TypeError('bad type'), 'bad type'],
    ['a string', 'a string'],
    [42, '42'],
    [undefined, 'undefined'],
  ])('%j → %s', (error, message) => {
    expect(errorMessage(error)).toBe(message);
  });
});

describe('show', () => {
  it.each([
    ['abc', 80, "'abc'"],
    ['a\nb', 80, "'a\\nb'"],
    ['x\u00a0y', 80, "'x\\u{a0}y'"],
    ['abcdef', 3, "'abc…'"],
  ])('%j (at most %i) → %s', (value, max, quoted) => {
    expect(show(value, max)).toBe(quoted);
  });
});

describe('snippet', () => {
  it('folds white space and cuts', () => {
    expect(snippet('a\n\n b\tc', 300)).toBe('a b c');
    expect(snippet('abcdef', 3)).toBe('abc…');
    expect(snippet('  ')).toBe('(empty)');
  });
});
