/** Counts in the tar check's messages read right for one and for many. */
import { describe, expect, it } from 'vitest';
import { checkIdTokenEnvironment } from '../../../src/auth/keyless.js';
import { notATarReason } from '../../../src/tar/header.js';
import { formatTarProblems, type TarProblem } from '../../../src/tar/problems.js';

const problem = (entry: string): TarProblem => ({ entry, reason: 'absolute path', code: 'absolute-path' });

describe('plurals in the tar check', () => {
  it.each([
    [0, 'only 0 bytes,'],
    [1, 'only 1 byte,'],
    [2, 'only 2 bytes,'],
  ])('a file of %i bytes is "%s" too short for a header', (size, words) => {
    expect(notATarReason(Buffer.alloc(size), size)).toContain(words);
  });

  it('counts one problem, and several with "first:"', () => {
    expect(formatTarProblems('a.tar', [problem('/x')], 0)).toContain(': 1 problem, "/x": absolute path.');
    expect(formatTarProblems('a.tar', [problem('/x')], 2)).toContain(': 3 problems, first: "/x"');
  });
});

describe('plurals in keyless sign-in', () => {
  it('one variable missing "is" not set, two "are"', () => {
    const message = (env: NodeJS.ProcessEnv) => {
      try {
        checkIdTokenEnvironment(env);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    expect(message({ ACTIONS_ID_TOKEN_REQUEST_URL: 'http://x' })).toMatch(
      /ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set$/,
    );
    expect(message({})).toMatch(
      /ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set$/,
    );
  });
});
