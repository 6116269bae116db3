/** The test helpers read what the action writes the way the runner does, on every OS. */
import { EOL } from 'node:os';
import { describe, expect, it } from 'vitest';
import { inputEnv, parseOutputFile } from './run-action.js';

describe('parseOutputFile', () => {
  const file = (eol: string) =>
    [
      'uploaded=true',
      'jobs<<ghadelimiter_1',
      '[{"server_id":"a"},',
      '{"server_id":"b"}]',
      'ghadelimiter_1',
      'empty<<ghadelimiter_2',
      'ghadelimiter_2',
      '',
    ].join(eol);

  it.each([
    ['\\n', '\n'],
    ['\\r\\n (the runner on Windows writes os.EOL)', '\r\n'],
    ['os.EOL of this machine', EOL],
  ])('reads heredoc and plain values with %s line ends', (_name, eol) => {
    expect(parseOutputFile(file(eol))).toEqual({
      uploaded: 'true',
      jobs: '[{"server_id":"a"},\n{"server_id":"b"}]',
      empty: '',
    });
  });

  it('keeps "=" inside a plain value', () => {
    expect(parseOutputFile('a=b=c\n')).toEqual({ a: 'b=c' });
  });
});

describe('inputEnv', () => {
  it('upper-cases the name, keeps hyphens and turns spaces into underscores, as the runner does', () => {
    expect(inputEnv({ 'server-ids': 'a', 'my input': 'b' })).toEqual({
      'INPUT_SERVER-IDS': 'a',
      INPUT_MY_INPUT: 'b',
    });
  });
});
