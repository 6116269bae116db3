/**
 * src/toolkit.ts replaces @actions/core at run time; the runner parses what it writes, so it must
 * write exactly what core writes. Each test runs ours and core's (a dev dependency) side by side.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as ours from '../../src/toolkit.js';

// A real randomUUID unless a test asks for a fixed one (to reach the delimiter checks). Only
// src/ is transformed by vitest, so core keeps the real one.
const uuid = vi.hoisted(() => ({ fixed: undefined as string | undefined }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    randomUUID: () => uuid.fixed ?? actual.randomUUID(),
  };
});

const EOL = os.EOL;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cph-toolkit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileCount = 0;
function tempFile(content = ''): string {
  const file = path.join(tmp, `file-${++fileCount}`);
  writeFileSync(file, content);
  return file;
}

// Environment variables the tests set; restored after each test (CI runners set some of them).
const TOUCHED = ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'RUNNER_DEBUG'];
const saved = new Map(TOUCHED.map((name) => [name, process.env[name]]));
const inputNames = new Set<string>();
afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const name of inputNames) delete process.env[name];
  inputNames.clear();
  uuid.fixed = undefined;
});

/** Everything `fn` writes to stdout, with stdout and process.exitCode restored afterwards. */
function capture(fn: () => void): { out: string; exitCode: typeof process.exitCode } {
  const chunks: Buffer[] = [];
  const write = process.stdout.write;
  const exitCodeBefore = process.exitCode;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
    return true;
  }) as typeof process.stdout.write;
  let exitCode: typeof process.exitCode;
  try {
    fn();
  } finally {
    process.stdout.write = write;
    exitCode = process.exitCode;
    process.exitCode = exitCodeBefore;
  }
  return { out: Buffer.concat(chunks).toString('latin1'), exitCode };
}

const VALUES: Record<string, string> = {
  plain: 'Uploading bundle.tar to obs://bucket/releases',
  percent: '100% done, %25 and %0A stay literal',
  'carriage return': 'before\rafter',
  'line feed': 'line one\nline two',
  'multi-line CRLF': 'first\r\nsecond\r\n\r\nlast\n',
  'command injection': '::error::forged::set-output name=x::y',
  'colon and comma': 'key: a, b: c,d',
  unicode: 'héllo — 日本語 🚀 \u2028\u0000 \uD800',
  empty: '',
  whitespace: '  \t padded \t ',
  'very long': 'ab%\r\n:,é🚀'.repeat(20_000),
};

type Logger = (value: string) => void;
const LOGGERS: Record<string, [ours: Logger, theirs: Logger]> = {
  info: [ours.info, core.info],
  warning: [ours.warning, core.warning],
  error: [ours.error, core.error],
  debug: [ours.debug, core.debug],
  setSecret: [ours.setSecret, core.setSecret],
  startGroup: [ours.startGroup, core.startGroup],
  setFailed: [ours.setFailed, core.setFailed],
};

describe('commands on stdout match @actions/core byte for byte', () => {
  for (const [fn, [mine, theirs]] of Object.entries(LOGGERS)) {
    it.each(Object.entries(VALUES))(`${fn}: %s`, (_label, value) => {
      const a = capture(() => mine(value));
      const b = capture(() => theirs(value));
      expect(a.out).toBe(b.out);
      // Not vacuous: one line, ending in EOL, and no raw line break before it for commands.
      expect(a.out.endsWith(EOL)).toBe(true);
      if (fn !== 'info') expect(a.out.slice(0, -EOL.length)).not.toMatch(/[\r\n]/);
      expect(a.exitCode).toBe(b.exitCode);
    });
  }

  it('endGroup', () => {
    const a = capture(() => ours.endGroup());
    expect(a.out).toBe(capture(() => core.endGroup()).out);
    expect(a.out).toBe(`::endgroup::${EOL}`);
  });

  it('writes the documented format (so the comparison is not between two empty captures)', () => {
    const value = 'a%b\r\nc::d, e';
    expect(capture(() => ours.error(value)).out).toBe(`::error::a%25b%0D%0Ac::d, e${EOL}`);
    expect(capture(() => ours.warning(value)).out).toBe(`::warning::a%25b%0D%0Ac::d, e${EOL}`);
    expect(capture(() => ours.debug(value)).out).toBe(`::debug::a%25b%0D%0Ac::d, e${EOL}`);
    expect(capture(() => ours.setSecret(value)).out).toBe(`::add-mask::a%25b%0D%0Ac::d, e${EOL}`);
    expect(capture(() => ours.startGroup(value)).out).toBe(`::group::a%25b%0D%0Ac::d, e${EOL}`);
    expect(capture(() => ours.info(value)).out).toBe(`${value}${EOL}`);
  });

  it('setFailed sets exit code 1 and issues ::error::, as core does', () => {
    const a = capture(() => ours.setFailed('it broke'));
    const b = capture(() => core.setFailed('it broke'));
    expect(a.exitCode).toBe(1);
    expect(b.exitCode).toBe(1);
    expect(a.out).toBe(`::error::it broke${EOL}`);
    expect(a.out).toBe(b.out);
    expect(process.exitCode).not.toBe(1);
  });

  it.each([
    ['Error', new Error('boom\nsecond line')],
    ['TypeError', new TypeError('bad 100%')],
  ])('warning/error/setFailed with an %s object', (_label, err) => {
    const pairs: [string, (m: Error) => void, (m: Error) => void][] = [
      ['warning', ours.warning, core.warning],
      ['error', ours.error, core.error],
      ['setFailed', ours.setFailed, core.setFailed],
    ];
    for (const [name, mine, theirs] of pairs) {
      const a = capture(() => mine(err));
      const b = capture(() => theirs(err));
      expect(a.out, name).toBe(b.out);
      expect(a.out, name).toContain(`${err.name}: `);
    }
  });

  it('arbitrary strings (property test)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(fc.constantFrom('%', '\r', '\n', ':', ',', '::', '%0A', 'x', ' ', '🚀'), { maxLength: 40 })
        .map((a) => a.join('')),
    );
    fc.assert(
      fc.property(text, fc.constantFrom(...Object.keys(LOGGERS)), (value, fn) => {
        const [mine, theirs] = LOGGERS[fn]!;
        expect(capture(() => mine(value)).out).toBe(capture(() => theirs(value)).out);
      }),
      { numRuns: 500 },
    );
  });
});

/** The runner's reading of a GITHUB_OUTPUT file: `name<<DELIM`, value lines, `DELIM`. */
function parseOutputFile(content: string): { name: string; delimiter: string; value: string }[] {
  const lines = content.split(EOL);
  const entries: { name: string; delimiter: string; value: string }[] = [];
  let i = 0;
  while (i < lines.length) {
    const header = lines[i++]!;
    if (header === '' && i === lines.length) break; // the EOL after the last entry
    const match = /^(.*?)<<(.*)$/s.exec(header);
    if (!match) throw new Error(`not a heredoc header: ${JSON.stringify(header)}`);
    const [, name = '', delimiter = ''] = match;
    const body: string[] = [];
    while (i < lines.length && lines[i] !== delimiter) body.push(lines[i++]!);
    if (i === lines.length) throw new Error(`unterminated value for ${name}`);
    i++;
    entries.push({ name, delimiter, value: body.join(EOL) });
  }
  return entries;
}

const DELIMITER = /^ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('setOutput', () => {
  const OUTPUTS: [string, string][] = [
    ['jobs', '[{"server_id":"srv-1","status":"succeeded"}]'],
    ['object-url', 'obs://bucket/a b/c.tar'],
    ['uploaded', 'false'],
    ['empty', ''],
    ...Object.entries(VALUES).map(([label, value]): [string, string] => [label.replace(/ /g, '-'), value]),
  ];

  it('writes the same GITHUB_OUTPUT file as core, modulo the random delimiter', () => {
    const mine = tempFile('existing=1\n');
    const theirs = tempFile('existing=1\n');
    for (const [name, value] of OUTPUTS) {
      process.env['GITHUB_OUTPUT'] = mine;
      expect(capture(() => ours.setOutput(name, value)).out).toBe('');
      process.env['GITHUB_OUTPUT'] = theirs;
      core.setOutput(name, value);
    }
    const a = readFileSync(mine, 'utf8');
    const b = readFileSync(theirs, 'utf8');
    expect(a.startsWith('existing=1\n')).toBe(true);
    const parsedA = parseOutputFile(a.slice('existing=1\n'.length));
    const parsedB = parseOutputFile(b.slice('existing=1\n'.length));
    // Read back as UTF-8, a lone surrogate comes back as U+FFFD (for core too).
    const asUtf8 = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
    expect(parsedA.map(({ name, value }) => [name, value])).toEqual(
      OUTPUTS.map(([name, value]) => [name, asUtf8(value)]),
    );
    expect(parsedA.map(({ name, value }) => [name, value])).toEqual(
      parsedB.map(({ name, value }) => [name, value]),
    );
    for (const { delimiter } of parsedA) expect(delimiter).toMatch(DELIMITER);
    expect(new Set(parsedA.map((e) => e.delimiter)).size).toBe(OUTPUTS.length);
    // Byte-identical once each delimiter is replaced by the same placeholder.
    const anyDelimiter = /ghadelimiter_[0-9a-f-]{36}/g;
    expect(a.replace(anyDelimiter, 'DELIM')).toBe(b.replace(anyDelimiter, 'DELIM'));
  });

  it('without GITHUB_OUTPUT prints the deprecated ::set-output command, as core does', () => {
    delete process.env['GITHUB_OUTPUT'];
    for (const name of ['jobs', 'a:b,c', '', 'x\ny%']) {
      for (const value of Object.values(VALUES)) {
        const a = capture(() => ours.setOutput(name, value));
        expect(a.out).toBe(capture(() => core.setOutput(name, value)).out);
        expect(a.out.startsWith(`${EOL}::set-output `)).toBe(true);
      }
    }
    expect(capture(() => ours.setOutput('a:b,c', 'v%')).out).toBe(
      `${EOL}::set-output name=a%3Ab%2Cc::v%25${EOL}`,
    );
  });

  it('throws like core when GITHUB_OUTPUT names a missing file', () => {
    const missing = path.join(tmp, 'no-such-output');
    process.env['GITHUB_OUTPUT'] = missing;
    expect(() => core.setOutput('a', 'b')).toThrow(`Missing file at path: ${missing}`);
    expect(() => ours.setOutput('a', 'b')).toThrow(`Missing file at path: ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a name or value that contains the delimiter, writing nothing', () => {
    const file = tempFile();
    process.env['GITHUB_OUTPUT'] = file;
    uuid.fixed = '00000000-0000-4000-8000-000000000000';
    const delimiter = `ghadelimiter_${uuid.fixed}`;
    expect(() => ours.setOutput(`x${delimiter}`, 'v')).toThrow(
      `Unexpected input: name should not contain the delimiter "${delimiter}"`,
    );
    expect(() => ours.setOutput('x', `line\n${delimiter}\ninjected=1`)).toThrow(
      `Unexpected input: value should not contain the delimiter "${delimiter}"`,
    );
    expect(readFileSync(file, 'utf8')).toBe('');
    ours.setOutput('x', 'fine');
    expect(readFileSync(file, 'utf8')).toBe(`x<<${delimiter}${EOL}fine${EOL}${delimiter}${EOL}`);
  });
});

describe('getInput', () => {
  const setInput = (envName: string, value: string): void => {
    inputNames.add(envName);
    process.env[envName] = value;
  };

  it.each([
    ['access-key-id', 'INPUT_ACCESS-KEY-ID', '  AKID  ', 'AKID'],
    ['Server IDs', 'INPUT_SERVER_IDS', '\n srv-1,\n srv-2 \n', 'srv-1,\n srv-2'],
    ['REGION', 'INPUT_REGION', '\tcn-east-3\r\n', 'cn-east-3'],
    ['object-Path', 'INPUT_OBJECT-PATH', 'a b/c.tar', 'a b/c.tar'],
    ['two  spaces', 'INPUT_TWO__SPACES', ' v ', 'v'],
    ['blank', 'INPUT_BLANK', ' \t\n ', ''],
  ])('%s is read from %s', (name, envName, raw, expected) => {
    setInput(envName, raw);
    expect(ours.getInput(name)).toBe(expected);
    expect(ours.getInput(name)).toBe(core.getInput(name));
  });

  it('keeps hyphens (INPUT_A-B, not INPUT_A_B)', () => {
    setInput('INPUT_DRY-RUN', 'true');
    setInput('INPUT_DRY_RUN', 'false');
    expect(ours.getInput('dry-run')).toBe('true');
    expect(core.getInput('dry-run')).toBe('true');
  });

  it("is '' when unset, and does not throw", () => {
    delete process.env['INPUT_NOT-SET-ANYWHERE'];
    expect(ours.getInput('not-set-anywhere')).toBe('');
    expect(core.getInput('not-set-anywhere')).toBe('');
  });
});

describe('isDebug', () => {
  it.each([
    ['1', true],
    ['0', false],
    ['true', false],
    [' 1', false],
    ['', false],
    [undefined, false],
  ])('RUNNER_DEBUG=%j → %s', (value, expected) => {
    if (value === undefined) delete process.env['RUNNER_DEBUG'];
    else process.env['RUNNER_DEBUG'] = value;
    expect(ours.isDebug()).toBe(expected);
    expect(core.isDebug()).toBe(expected);
  });
});

// core.summary caches its file path after the first successful write, so the error cases come
// first in this file; the append test truncates the files it uses instead of relying on a new path.
describe('summary', () => {
  const mineFile = path.join(tmp, 'summary-ours.md');
  const theirFile = path.join(tmp, 'summary-core.md');

  it('rejects like core when GITHUB_STEP_SUMMARY is unset', async () => {
    delete process.env['GITHUB_STEP_SUMMARY'];
    const message =
      'Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.';
    await expect(core.summary.write()).rejects.toThrow(message);
    await expect(ours.summary.write()).rejects.toThrow(message);
  });

  it('rejects like core when the file cannot be accessed, and keeps the text for a later write', async () => {
    const missing = path.join(tmp, 'no-such-summary.md');
    process.env['GITHUB_STEP_SUMMARY'] = missing;
    const message = `Unable to access summary file: '${missing}'. Check if the file has correct read/write permissions.`;
    await expect(core.summary.addRaw('kept ').write()).rejects.toThrow(message);
    await expect(ours.summary.addRaw('kept ').write()).rejects.toThrow(message);
    expect(existsSync(missing)).toBe(false);

    writeFileSync(mineFile, '');
    writeFileSync(theirFile, '');
    process.env['GITHUB_STEP_SUMMARY'] = mineFile;
    await ours.summary.write();
    process.env['GITHUB_STEP_SUMMARY'] = theirFile;
    await core.summary.write();
    expect(readFileSync(mineFile, 'utf8')).toBe('kept ');
    expect(readFileSync(theirFile, 'utf8')).toBe('kept ');
  });

  it('appends on each write (twice → both present, after what was there), as core does', async () => {
    const first = '### cph-publish\n\nall 3 servers succeeded 🚀\n';
    const second = '<table><tr><td>srv-0002</td></tr></table>\n';
    writeFileSync(mineFile, 'earlier step\n');
    writeFileSync(theirFile, 'earlier step\n');
    for (const text of [first, second]) {
      process.env['GITHUB_STEP_SUMMARY'] = mineFile;
      const returned = await ours.summary.addRaw(text).write();
      expect(returned).toBe(ours.summary);
      process.env['GITHUB_STEP_SUMMARY'] = theirFile;
      await core.summary.addRaw(text).write();
    }
    const content = readFileSync(mineFile, 'utf8');
    expect(content).toBe(`earlier step\n${first}${second}`);
    expect(content).toBe(readFileSync(theirFile, 'utf8'));
  });
});
