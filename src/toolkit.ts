/**
 * The few workflow commands the action needs, in place of @actions/core at run time.
 *
 * Why our own: importing @actions/core eagerly loads its OIDC client (@actions/http-client with a
 * second copy of undici, tunnel) and its platform helpers (@actions/exec, child_process), none of
 * which this action uses. That was ~490 KB of bundle, ~60 ms of start-up and ~8 MiB of RSS; this
 * module needs only node:os, node:fs and node:crypto, which the action loads anyway.
 *
 * What it writes must be byte-for-byte what @actions/core 3.x writes (the runner parses it, and
 * test/unit/toolkit.test.ts compares the two), so each function says which core behaviour it
 * follows. @actions/core stays a dev dependency for that comparison.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, constants, existsSync } from 'node:fs';
import { access, appendFile } from 'node:fs/promises';
import { EOL } from 'node:os';

// ---------------------------------------------------------------------------------------------
// Workflow commands on stdout: `::name key=value,key=value::message` + os.EOL (core's command.js)
// ---------------------------------------------------------------------------------------------

/** Message text: only what would end or corrupt the command line is encoded. */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Property values also end at `,` (next property) and `::` (start of the message). */
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * As core's `Command.toString()`: properties with an empty value are skipped, yet the separating
 * space is written whenever there are any properties (so `{ name: '' }` gives `::cmd ::msg`).
 */
function issueCommand(command: string, properties: Record<string, string>, message: string): void {
  let line = `::${command}`;
  const keys = Object.keys(properties);
  if (keys.length > 0) {
    line += ` ${keys
      .filter((key) => properties[key])
      .map((key) => `${key}=${escapeProperty(properties[key]!)}`)
      .join(',')}`;
  }
  process.stdout.write(`${line}::${escapeData(message)}${EOL}`);
}

/** core's `error`/`warning` take an Error too and log its `toString()` ("Name: message"). */
function messageOf(message: string | Error): string {
  return message instanceof Error ? message.toString() : message;
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/**
 * `core.getInput(name)` without options: INPUT_<NAME> with spaces as `_` (hyphens stay), trimmed,
 * '' when unset. Never throws; required inputs are checked by src/inputs.ts with better messages.
 */
export function getInput(name: string): string {
  const value = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '';
  return value.trim();
}

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

/** Plain log line: not a command, so nothing is escaped (as core). */
export function info(message: string): void {
  process.stdout.write(message + EOL);
}

export function debug(message: string): void {
  issueCommand('debug', {}, message);
}

export function warning(message: string | Error): void {
  issueCommand('warning', {}, messageOf(message));
}

export function error(message: string | Error): void {
  issueCommand('error', {}, messageOf(message));
}

export function startGroup(name: string): void {
  issueCommand('group', {}, name);
}

export function endGroup(): void {
  issueCommand('endgroup', {}, '');
}

/** The runner replaces this value by *** in every later log line. */
export function setSecret(secret: string): void {
  issueCommand('add-mask', {}, secret);
}

/** Step debug logging is on (`RUNNER_DEBUG=1`, set by a re-run with debug logging). */
export function isDebug(): boolean {
  return process.env['RUNNER_DEBUG'] === '1';
}

/** Marks the step failed when the process ends (exit code 1) and logs the message as an error. */
export function setFailed(message: string | Error): void {
  process.exitCode = 1;
  error(message);
}

// ---------------------------------------------------------------------------------------------
// Outputs (core's setOutput + file-command.js)
// ---------------------------------------------------------------------------------------------

/**
 * Appends `name<<ghadelimiter_<uuid>` EOL value EOL delimiter EOL to $GITHUB_OUTPUT. The random
 * delimiter cannot be guessed by whoever controls the value; the checks below are core's guard
 * against the (theoretical) case that name or value contains it anyway.
 * Without GITHUB_OUTPUT (an old runner, a local run) core falls back to the deprecated
 * `::set-output` command preceded by an empty line; so do we.
 */
export function setOutput(name: string, value: string): void {
  const filePath = process.env['GITHUB_OUTPUT'] || '';
  if (!filePath) {
    process.stdout.write(EOL);
    issueCommand('set-output', { name }, value);
    return;
  }
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter)) {
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  }
  if (value.includes(delimiter)) {
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  }
  // core checks the file exists rather than letting appendFileSync create it: a missing file
  // means a misconfigured runner, not something to paper over.
  if (!existsSync(filePath)) throw new Error(`Missing file at path: ${filePath}`);
  appendFileSync(filePath, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, {
    encoding: 'utf8',
  });
}

// ---------------------------------------------------------------------------------------------
// Job summary (core's summary.js, only addRaw + write)
// ---------------------------------------------------------------------------------------------

const SUMMARY_ENV_VAR = 'GITHUB_STEP_SUMMARY';

export class Summary {
  private buffer = '';

  /** Adds text (markdown or HTML) to the buffer, as is. */
  addRaw(text: string): Summary {
    this.buffer += text;
    return this;
  }

  /**
   * Appends the buffer to $GITHUB_STEP_SUMMARY and empties it. Same errors as core. Unlike core,
   * the path is read from the environment on every write instead of being cached after the first:
   * the action writes once, and tests can point each write elsewhere. On failure the buffer is
   * kept, as in core.
   */
  async write(): Promise<Summary> {
    const filePath = process.env[SUMMARY_ENV_VAR];
    if (!filePath) {
      throw new Error(
        `Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`,
      );
    }
    try {
      await access(filePath, constants.R_OK | constants.W_OK);
    } catch {
      throw new Error(
        `Unable to access summary file: '${filePath}'. Check if the file has correct read/write permissions.`,
      );
    }
    await appendFile(filePath, this.buffer, { encoding: 'utf8' });
    this.buffer = '';
    return this;
  }
}

/** One shared buffer, like `core.summary`. */
export const summary = new Summary();
