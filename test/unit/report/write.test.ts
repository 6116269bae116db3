/**
 * writeReport when the runner's own files cannot be written: one clear line that names the file
 * and what to check, never a stack trace. In process, @actions/core's env files pointed at temp
 * paths (some of them missing on purpose); stdout captured as the runner would read it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunReport } from '../../../src/model/results.js';
import { Redactor } from '../../../src/redact.js';
import { writeReport } from '../../../src/report/write.js';
import { parseOutputFile } from '../../helpers/run-action.js';

let dir: string;
let saved: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cph-write-'));
  saved = { ...process.env };
});
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  rmSync(dir, { recursive: true, force: true });
});

function report(): RunReport {
  return {
    projectId: '0123456789abcdef0123456789abcdef',
    bucket: 'cph-bucket',
    objectPath: 'releases/game.tar',
    uploaded: true,
    requestIds: [],
    servers: [],
    dryRun: false,
    git: {},
  };
}

/** writeReport with these runner files; what it printed, and whether it failed the step. */
async function write(
  files: { output: string; summary?: string; runnerTemp: string },
  given = report(),
): Promise<{ lines: string[]; failed: boolean }> {
  delete process.env.GITHUB_STEP_SUMMARY;
  Object.assign(process.env, { GITHUB_OUTPUT: files.output, RUNNER_TEMP: files.runnerTemp });
  if (files.summary !== undefined) process.env.GITHUB_STEP_SUMMARY = files.summary;
  core.summary.emptyBuffer();
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const exitCode = process.exitCode;
  let failed: boolean;
  try {
    await writeReport(given, {
      summary: files.summary !== undefined,
      redactor: new Redactor(),
      env: process.env,
    });
  } finally {
    spy.mockRestore();
    failed = process.exitCode === 1;
    process.exitCode = exitCode;
  }
  return { lines: stdout.split(/\r?\n/).filter(Boolean), failed };
}

const commands = (lines: string[], kind: string) => lines.filter((l) => l.startsWith(`::${kind}::`));
const stackLines = (lines: string[]) => lines.filter((l) => /^\s+at\s/.test(l) || /%0A\s+at\s/.test(l));

describe('writeReport', () => {
  it('writes the outputs and the report file when the runner files are there', async () => {
    const output = path.join(dir, 'output');
    writeFileSync(output, '');
    const { lines, failed } = await write({ output, runnerTemp: dir });
    expect(failed).toBe(false);
    expect(commands(lines, 'error')).toEqual([]);
    expect(commands(lines, 'warning')).toEqual([]);
    const outputs = parseOutputFile(readFileSync(output, 'utf8'));
    expect(outputs['project-id']).toBe('0123456789abcdef0123456789abcdef');
    expect(outputs['report-file']).toMatch(/cph-publish-.*\.json$/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  it('a missing GITHUB_OUTPUT file is one error line naming it, with no stack, and fails the step', async () => {
    const output = path.join(dir, 'no-such-dir', 'output');
    const { lines, failed } = await write({ output, runnerTemp: dir });
    expect(failed).toBe(true);
    const errors = commands(lines, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      `::error::cph-publish: could not write the step outputs to GITHUB_OUTPUT (${output}): `,
    );
    expect(errors[0]).toContain('it must name a file the step can append to');
    expect(stackLines(lines)).toEqual([]);
  });

  it('a summary file that cannot be written is one warning, and the outputs are still written', async () => {
    const output = path.join(dir, 'output');
    writeFileSync(output, '');
    const summary = path.join(dir, 'no-such-dir', 'summary.md');
    const { lines, failed } = await write({ output, summary, runnerTemp: dir });
    expect(failed).toBe(false);
    expect(commands(lines, 'error')).toEqual([]);
    const warnings = commands(lines, 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^::warning::could not write the job summary: .* — GITHUB_STEP_SUMMARY must name a file/,
    );
    expect(stackLines(lines)).toEqual([]);
    expect(parseOutputFile(readFileSync(output, 'utf8'))['project-id']).toBe(
      '0123456789abcdef0123456789abcdef',
    );
  });

  it('a report file that cannot be written is one warning with the path escaped, and report-file is empty', async () => {
    const output = path.join(dir, 'output');
    writeFileSync(output, '');
    const runnerTemp = path.join(dir, 'missing\n::error::x');
    const { lines, failed } = await write({ output, runnerTemp });
    expect(failed).toBe(false);
    expect(commands(lines, 'error')).toEqual([]);
    const warnings = commands(lines, 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('::warning::could not write the report file ');
    expect(warnings[0]).toContain('missing\\n');
    expect(lines.filter((l) => l.trimStart().startsWith('::error::x'))).toEqual([]);
    expect(parseOutputFile(readFileSync(output, 'utf8'))['report-file']).toBe('');
  });
});
