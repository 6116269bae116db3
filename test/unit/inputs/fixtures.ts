/** Shared input fixtures of the tests of src/inputs/: a valid base, and readers of configs and problems. */
import { expect } from 'vitest';
import { InputError, type InputProblem } from '../../../src/errors.js';
import { type Config, type InputSource, readConfig } from '../../../src/inputs/index.js';

export const AK = 'AKIDEXAMPLE0000000AK';
export const SK = 'sk-SECRET-0123456789abcdefghijklmnop';

/** Just enough for a valid run apart from the sign-in; tests override single inputs (`''` unsets one). */
export const BASE: Record<string, string> = {
  region: 'cn-east-3',
  bucket: 'my-bucket',
  'object-path': 'releases/app.tar',
  'server-ids': 'server-1',
};
export const KEYS = { 'access-key-id': AK, 'secret-access-key': SK };

/** A source over BASE + `inputs`, and the secrets it was told of. */
export function read(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const all = { ...BASE, ...inputs };
  const secrets: string[] = [];
  const src: InputSource = {
    getInput: (name) => all[name] ?? '',
    env,
    onSecret: (value) => secrets.push(value),
  };
  return { config: () => readConfig(src), secrets };
}

export function config(inputs: Record<string, string>, env: Record<string, string> = {}): Config {
  return read(inputs, env).config();
}

/** The problems of the InputError that reading these inputs throws. */
export function problems(inputs: Record<string, string>, env: Record<string, string> = {}): InputProblem[] {
  try {
    config(inputs, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error('expected an InputError');
}
