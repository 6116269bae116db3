/**
 * Runs the bundled action exactly as the runner does: `node dist/index.js` in a
 * child process, inputs as INPUT_* variables, outputs and summary in files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_ENTRY = path.join(REPO_ROOT, 'dist/index.js');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The files the action left in RUNNER_TEMP (the report file), by name, when the test did not set its own. */
  runnerTemp: Record<string, string>;
  /** Everything the action wrote, less `::add-mask::` commands, for secret scans. */
  everything: string;
  durationMs: number;
}

/**
 * Parses the GITHUB_OUTPUT file format: `name<<DELIM\nvalue\nDELIM\n` (and plain `name=value`),
 * with `\n` or `\r\n` line ends (the toolkit writes `os.EOL`, which is `\r\n` on Windows).
 */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] as string);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Called with each line the action writes to stdout, as it writes it: tests act on events. */
  onLine?: (line: string) => void;
  /** Called once the action's process is running (to send it signals, say). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Inputs become INPUT_<NAME> with the name upper-cased and hyphens kept, as the runner does. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

export async function runAction(options: RunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cph-action-'));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  // RUNNER_TEMP as on a runner: private to this run, so report files land here, are scanned for
  // secrets with the rest, and go with the directory.
  const runnerTemp = path.join(dir, 'runner-temp');
  mkdirSync(runnerTemp);
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  // A clean environment: nothing of this machine's proxy or Huawei settings leaks in
  // unless the test puts it there. The temp dir variables go through, so under Vitest anything
  // the action puts in os.tmpdir() lands in the suite's own (test/helpers/suite-temp.ts).
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT'])
    if (process.env[name]) base[name] = process.env[name] as string;
  const env: Record<string, string> = {
    ...base,
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: runnerTemp,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: options.cwd ?? REPO_ROOT,
    GITHUB_REF: 'refs/tags/v1.2.3',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'example/game',
    CPH_PUBLISH_RETRY_BASE_MS: '10',
    ...inputEnv(options.inputs),
  };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const started = Date.now();
  const child = spawn(process.execPath, [DIST_ENTRY], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!options.onLine) return;
    partial += d;
    const lines = partial.split(/\r?\n/);
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timeout);
  const outputText = readFileSync(outputFile, 'utf8');
  const summary = readFileSync(summaryFile, 'utf8');
  const tempFiles = Object.fromEntries(
    readdirSync(runnerTemp).map((name) => [name, readFileSync(path.join(runnerTemp, name), 'utf8')]),
  );
  rmSync(dir, { recursive: true, force: true });
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(outputText),
    summary,
    runnerTemp: tempFiles,
    // `::add-mask::` lines are how the runner learns what to mask; it never shows them.
    everything: [
      stdout.replace(/^::add-mask::.*$/gm, ''),
      stderr,
      outputText,
      summary,
      ...Object.values(tempFiles),
    ].join('\n'),
    durationMs: Date.now() - started,
  };
}
