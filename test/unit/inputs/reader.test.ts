/** The shared parsers of src/inputs/reader.ts, on plain strings. */
import { describe, expect, it } from 'vitest';
import { baseUrl, boolean, matching, optional, whole, wholeNumber } from '../../../src/inputs/reader.js';
import { show } from '../../../src/util/text.js';

describe('boolean', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
  ])('reads %j', (raw, value) => {
    expect(boolean(raw)).toEqual({ value });
  });

  it.each(['yes', 'tRuE', '1', ''])('refuses %j', (raw) => {
    expect(boolean(raw)).toEqual({
      problem: `must be true or false (also True, TRUE, False, FALSE), got '${raw}'`,
    });
  });
});

describe('wholeNumber', () => {
  const oneToTen = wholeNumber(1, 10);
  it.each([
    ['1', 1],
    ['10', 10],
    ['007', 7],
  ])('reads %j', (raw, value) => {
    expect(oneToTen(raw)).toEqual({ value });
  });

  it.each(['0', '11', '1.0', '+1', '1e1', '', ' '])('refuses %j', (raw) => {
    expect(oneToTen(raw)).toEqual({ problem: `must be a whole number from 1 to 10, got '${raw}'` });
  });
});

describe('matching, optional, whole', () => {
  it('names what was expected and shows what was got', () => {
    const id = matching(/^[a-z]+$/, 'lowercase letters');
    expect(id('abc')).toEqual({ value: 'abc' });
    expect(id('a\nb')).toEqual({ problem: "must be lowercase letters, got 'a\\nb'" });
  });

  it('leaves an empty optional value undefined without asking the parser', () => {
    expect(optional(baseUrl)('')).toEqual({ value: undefined });
    expect(optional(baseUrl)('ftp://x')).toEqual({
      problem: "must start with https:// (http:// only for a loopback host), got 'ftp://x'",
    });
  });

  it('gives the values only when none is undefined', () => {
    expect(whole({ a: 1, b: false, c: '' })).toEqual({ a: 1, b: false, c: '' });
    expect(whole({ a: 1, b: undefined })).toBeUndefined();
  });
});

describe('baseUrl', () => {
  it('keeps only the scheme, host and port', () => {
    expect(baseUrl('HTTPS://Example.com:8443/')).toEqual({ value: new URL('https://example.com:8443/') });
  });

  it('does not show a URL holding a password', () => {
    expect(baseUrl('https://user:hunter2@example.com')).toEqual({
      problem: 'must not contain a user name or password; pass credentials through the credential inputs',
    });
  });
});

describe('show', () => {
  it('quotes, escapes control characters and truncates to 80 characters', () => {
    expect(show('a\tb\n')).toBe("'a\\tb\\n'");
    expect(show('x'.repeat(100))).toBe(`'${'x'.repeat(80)}…'`);
  });
});
