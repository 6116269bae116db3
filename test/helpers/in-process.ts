/**
 * `run()` in process, the way the runner would start the bundle: INPUT_* variables, GITHUB_OUTPUT
 * (and GITHUB_STEP_SUMMARY when given), stdout captured; the process environment, stdout and the
 * exit code are restored after. For the integration tests that let coverage and mutation testing
 * see the pipeline.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { vi } from 'vitest';
import { run } from '../../src/main.js';
import { inputEnv, parseOutputFile } from './run-action.js';

export interface InProcessRun {
  stdout: string;
  outputs: Record<string, string>;
  /** The summary file's text; '' without a summary path or when it could not be read. */
  summary: string;
  failed: boolean;
}

export async function runInProcess(
  dir: string,
  given: Record<string, string>,
  summaryPath?: string,
): Promise<InProcessRun> {
  const outputPath = path.join(dir, 'output');
  writeFileSync(outputPath, '');
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('INPUT_') || /^(https?|no)_proxy$/i.test(name) || name.startsWith('HUAWEI')) {
      delete process.env[name];
    }
  }
  Object.assign(process.env, inputEnv(given), {
    GITHUB_OUTPUT: outputPath,
    ...(summaryPath ? { GITHUB_STEP_SUMMARY: summaryPath } : {}),
    GITHUB_WORKSPACE: dir,
    CPH_PUBLISH_RETRY_BASE_MS: '10',
  });
  core.summary.emptyBuffer();
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const exitCode = process.exitCode;
  let failed: boolean;
  try {
    await run(process.env);
  } finally {
    write.mockRestore();
    failed = process.exitCode === 1;
    process.exitCode = exitCode;
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
  let summary = '';
  try {
    if (summaryPath) summary = readFileSync(summaryPath, 'utf8');
  } catch {
    // a directory in the summary-warning test
  }
  return { stdout, outputs: parseOutputFile(readFileSync(outputPath, 'utf8')), summary, failed };
}
