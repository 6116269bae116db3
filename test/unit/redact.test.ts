import { describe, expect, it } from 'vitest';
import { InputError, ServiceError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';

describe('Redactor', () => {
  it('blanks every occurrence, raw and percent-encoded', () => {
    const r = new Redactor();
    r.add('tok/en+1');
    expect(r.redact('a tok/en+1 b tok%2Fen%2B1 c tok/en+1')).toBe('a *** b *** c ***');
  });

  it('takes the longest secret first, so a secret inside another leaves no tail', () => {
    const r = new Redactor();
    r.add('abcd');
    r.add('abcdefgh');
    expect(r.redact('abcdefgh abcd')).toBe('*** ***');
  });

  it('ignores values under 4 characters, empty and undefined ones, and duplicates', () => {
    const r = new Redactor();
    r.add('abc');
    r.add('');
    r.add(undefined);
    r.add('wxyz');
    r.add('wxyz');
    expect(r.redact('abc wxyz')).toBe('abc ***');
  });

  it('a 4-character value counts', () => {
    const r = new Redactor();
    r.add('s3cr');
    expect(r.redact('s3cr')).toBe('***');
  });

  it('leaves text without secrets as it is, and a value that encodes to itself is scrubbed once', () => {
    const r = new Redactor();
    r.add('plainsecret');
    expect(r.redact('nothing here')).toBe('nothing here');
    expect(r.redact('plainsecret')).toBe('***');
    expect(new Redactor().redact('x')).toBe('x');
  });
});

describe('errors', () => {
  it('InputError joins one line per problem, naming the input', () => {
    const e = new InputError([
      { input: 'bucket', message: 'is required' },
      { input: 'server-ids', message: 'is empty' },
    ]);
    expect(e.message).toBe("input 'bucket': is required\ninput 'server-ids': is empty");
    expect(e.name).toBe('InputError');
    expect(e.problems).toHaveLength(2);
  });

  it('ServiceError says service, operation, detail, then status, code and request id when known', () => {
    const cause = new Error('inner');
    const full = new ServiceError({
      service: 'CPH',
      operation: 'PushShareFiles',
      status: 400,
      code: 'CPS.0005',
      requestId: 'r-1',
      detail: 'Phone not found.',
      hint: 'check server-ids',
      cause,
    });
    expect(full.message).toBe(
      'CPH PushShareFiles failed: Phone not found. (HTTP 400, error code CPS.0005, request id r-1)',
    );
    expect(full).toMatchObject({
      name: 'ServiceError',
      service: 'CPH',
      operation: 'PushShareFiles',
      status: 400,
      code: 'CPS.0005',
      requestId: 'r-1',
      detail: 'Phone not found.',
      hint: 'check server-ids',
    });
    expect(full.cause).toBe(cause);
    const bare = new ServiceError({ service: 'OBS', operation: 'HeadObject', detail: 'cannot reach x' });
    expect(bare.message).toBe('OBS HeadObject failed: cannot reach x');
    expect(bare.status).toBeUndefined();
    const statusOnly = new ServiceError({
      service: 'IAM',
      operation: 'KeystoneListProjects',
      status: 0,
      detail: 'd',
    });
    expect(statusOnly.message).toBe('IAM KeystoneListProjects failed: d (HTTP 0)');
  });
});
