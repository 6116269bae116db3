/**
 * One source of truth for defaults: action.yml. The runner fills an input's default from there,
 * and readConfig applies its own copy when an input comes back empty (a local run, a composite
 * caller passing ''); these tests fail as soon as the two disagree.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, readConfig } from '../../../src/inputs/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The `default:` of every input in action.yml (`''` where none is given). */
function actionDefaults(): Record<string, string> {
  const defaults: Record<string, string> = {};
  let inInputs = false;
  let current: string | undefined;
  for (const line of readFileSync(path.join(ROOT, 'action.yml'), 'utf8').split(/\r?\n/)) {
    if (/^\S/.test(line)) {
      inInputs = line.startsWith('inputs:');
      current = undefined;
      continue;
    }
    if (!inInputs) continue;
    const input = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line);
    if (input) {
      current = input[1] as string;
      defaults[current] = '';
      continue;
    }
    const value = /^ {4}default:\s*(.*)$/.exec(line);
    if (value && current)
      defaults[current] = (value[1] as string).trim().replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  }
  return defaults;
}

const declared = actionDefaults();
const withDefault = Object.entries(declared).filter(([, value]) => value !== '');

/** Just enough to pass validation: the required inputs. */
const REQUIRED: Record<string, string> = {
  region: 'cn-east-3',
  'access-key-id': 'AKAKAKAKAKAKAKAKAKAK',
  'secret-access-key': 'secret-secret-secret',
  bucket: 'cph-bucket',
  'object-path': 'releases/app.tar',
  'server-ids': 'srv-0001',
};

describe('defaults', () => {
  it('action.yml is read: it declares the inputs with defaults this test knows of', () => {
    expect(withDefault.length).toBeGreaterThanOrEqual(13);
    expect(declared['wait-timeout']).toBe('1800');
    expect(declared['upload-concurrency']).toBe('auto');
    expect(declared['ledger']).toBe('');
    expect(declared['bucket']).toBe('');
  });

  it.each(withDefault)("readConfig's default for '%s' is action.yml's %j", (name, value) => {
    expect(DEFAULTS[name]).toBe(value);
  });

  it('readConfig has no default that action.yml does not declare', () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      expect(declared[name], `input '${name}' (default '${value}' in src/inputs.ts)`).toBe(value);
    }
  });

  it("an empty input and action.yml's default give the same configuration", () => {
    const read = (fill: boolean) =>
      readConfig({
        getInput: (name) => REQUIRED[name] ?? (fill ? (declared[name] ?? '') : ''),
        env: {},
      });
    expect(read(false)).toEqual(read(true));
  });
});
