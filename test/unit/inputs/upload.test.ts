/** The object and the upload: `bucket`, `object-path` rules, `upload-concurrency`. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketNameProblem, objectKeyProblem, objectPathProblem } from '../../../src/inputs/upload.js';
import { fuzzRuns } from '../../helpers/fuzz.js';
import { config, KEYS, problems } from './fixtures.js';

describe('upload-concurrency', () => {
  it("is 'auto' by default", () => {
    expect(config(KEYS).uploadConcurrency).toBe('auto');
  });

  it.each([
    ['auto', 'auto'],
    ['1', 1],
    ['32', 32],
    ['64', 64],
    [' 8 ', 8],
  ] as const)('reads %j', (raw, expected) => {
    expect(config({ ...KEYS, 'upload-concurrency': raw }).uploadConcurrency).toBe(expected);
  });

  it.each(['0', '65', '4.5', 'Auto', 'AUTO', 'max', '-1'])('refuses %j', (raw) => {
    expect(problems({ ...KEYS, 'upload-concurrency': raw })).toEqual([
      {
        input: 'upload-concurrency',
        message: `must be 'auto' or a whole number from 1 to 64, got '${raw}'`,
      },
    ]);
  });
});

describe('objectKeyProblem', () => {
  it('checks the extension it is given, in any case', () => {
    expect(objectKeyProblem('state/ledger.json', '.json')).toBeUndefined();
    expect(objectKeyProblem('state/LEDGER.JSON', '.json')).toBeUndefined();
    expect(objectKeyProblem('state/ledger.tar', '.json')).toBe("must end in '.json'");
    expect(objectPathProblem('state/ledger.json')).toBe("must end in '.tar'");
  });
});

describe('bucket and object-path validators', () => {
  const isLowerAlnum = (c: string | undefined) =>
    c !== undefined && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  const isDigits = (s: string) => s.length > 0 && [...s].every((c) => c >= '0' && c <= '9');

  function referenceBucketOk(name: string): boolean {
    if (name.length < 3 || name.length > 63) return false;
    for (const c of name) if (!isLowerAlnum(c) && c !== '-' && c !== '.') return false;
    if (!isLowerAlnum(name[0]) || !isLowerAlnum(name[name.length - 1])) return false;
    for (let i = 0; i + 1 < name.length; i++) {
      if (['..', '.-', '-.'].includes(name.slice(i, i + 2))) return false;
    }
    const parts = name.split('.');
    return !(parts.length === 4 && parts.every(isDigits));
  }

  function referenceObjectPathOk(key: string): boolean {
    if (key.length < 1 || key.length > 1024) return false;
    const allowed = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./-_+#=';
    for (const c of key) if (!allowed.includes(c)) return false;
    if (key.startsWith('/')) return false;
    if (key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return false;
    return key.slice(-4).toLowerCase() === '.tar';
  }

  it('bucketNameProblem agrees with a reference predicate', () => {
    const names = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'z', '0', '9', '.', '-', 'A', '_', ' ', 'é'), maxLength: 70 }),
      fc.string({ unit: fc.constantFrom('1', '2', '5', '.'), minLength: 3, maxLength: 16 }),
      fc.array(fc.nat(1000), { minLength: 3, maxLength: 5 }).map((n) => n.join('.')),
      fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,65}$/),
    );
    fc.assert(
      fc.property(names, (name) => {
        expect(bucketNameProblem(name) === undefined).toBe(referenceBucketOk(name));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('objectPathProblem agrees with a reference predicate', () => {
    const token = fc.constantFrom(
      ...[
        'a',
        'Z',
        '9',
        '.',
        '/',
        '-',
        '_',
        '+',
        '#',
        '=',
        '.tar',
        '.TAR',
        '.Tar',
        '//',
        '..',
        '/.',
        './',
        ' ',
      ],
      ...['\\', '%', ':', 'é', 'obs://'],
    );
    const keys = fc.oneof(
      fc.array(token, { maxLength: 30 }).map((t) => t.join('')),
      fc
        .integer({ min: 1015, max: 1030 })
        .map((n) => `${'ab/'.repeat(Math.ceil(n / 3)).slice(0, n - 4)}.tar`),
    );
    fc.assert(
      fc.property(keys, (key) => {
        expect(objectPathProblem(key) === undefined).toBe(referenceObjectPathOk(key));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('gives reasons for edge cases the generators rarely hit', () => {
    expect(bucketNameProblem('abc')).toBeUndefined();
    expect(bucketNameProblem('a'.repeat(63))).toBeUndefined();
    expect(bucketNameProblem('1.2.3.4.5')).toBeUndefined();
    expect(bucketNameProblem('999.999.999.999')).toBe('must not be shaped like an IP address');
    expect(objectPathProblem('.tar')).toBeUndefined();
    expect(objectPathProblem(`${'a'.repeat(1020)}.tar`)).toBeUndefined();
    expect(objectPathProblem('a/..tar')).toBeUndefined();
  });
});
