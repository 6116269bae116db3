/**
 * What every area of the inputs shares: where values come from (the inputs, their defaults, the
 * environment), the one list of problems and warnings, and the parsers of common shapes (booleans,
 * whole numbers in a range, patterns, base URLs). Areas declare each input once as a {@link Field}.
 */

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, type InputProblem } from '../errors.js';
import { show } from '../util/text.js';

export interface InputSource {
  /** Like `core.getInput`: `''` when unset. */
  getInput(name: string): string;
  env: Record<string, string | undefined>;
  /** Called as soon as a secret value is known, before any validation error can be raised. */
  onSecret?(value: string): void;
}

/**
 * A parser's answer: the value, or what is wrong with the text (the reader adds the input's name);
 * a list input may have several problems, each reported.
 */
export type Parsed<T> = { value: T } | { problem: string | string[] };

/** One input, declared once: its name, the default written in action.yml, and how its text is read. */
export interface Field<T> {
  name: string;
  /** action.yml's `default:`, applied when the input comes back empty; `''` when it has none. */
  default: string;
  /** Environment variables tried, in order, when the input is empty. */
  env?: readonly string[];
  parse(raw: string): Parsed<T>;
}

export function field<T>(
  name: string,
  defaultValue: string,
  parse: (raw: string) => Parsed<T>,
  env?: readonly string[],
): Field<T> {
  return env ? { name, default: defaultValue, parse, env } : { name, default: defaultValue, parse };
}

/** A value found for an input, and where. */
export interface Found {
  value: string;
  /** The environment variable it came from; undefined when from the input. */
  env: string | undefined;
}

/** Reads inputs and collects every problem, so that all of them are reported at once. */
export class Reader {
  readonly problems: InputProblem[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly src: InputSource) {}

  report(input: string, message: string): void {
    this.problems.push({ input, message });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** The input as given, trimmed; `''` when unset (no default applied). */
  given(name: string): string {
    return this.src.getInput(name).trim();
  }

  /** The input, else its default. */
  raw(field: Field<unknown>): string {
    return this.given(field.name) || field.default;
  }

  /** An environment variable exactly as set. */
  envRaw(name: string): string | undefined {
    return this.src.env[name];
  }

  /** An environment variable, trimmed; undefined when unset or empty. */
  env(name: string): string | undefined {
    return this.src.env[name]?.trim() || undefined;
  }

  /** The value of `field`, or undefined after reporting its problem. */
  read<T>(field: Field<T>): T | undefined {
    const parsed = field.parse(this.raw(field));
    if ('problem' in parsed) {
      for (const message of [parsed.problem].flat()) this.report(field.name, message);
      return undefined;
    }
    return parsed.value;
  }

  /**
   * The value of `field` from the input, else from its environment variables; undefined when found
   * nowhere (no problem reported: the caller knows whether that is one) or after reporting its problem.
   */
  readWithEnv<T>(field: Field<T>): { value: T } | undefined {
    const found = this.find(field);
    if (!found) return undefined;
    const parsed = field.parse(found.value);
    if ('problem' in parsed) {
      for (const message of [parsed.problem].flat()) this.report(field.name, `${message}${fromEnv(found)}`);
      return undefined;
    }
    return { value: parsed.value };
  }

  /** An explicit input beats the environment; an empty variable counts as unset. */
  find(field: Field<unknown>): Found | undefined {
    const value = this.raw(field);
    if (value) return { value, env: undefined };
    for (const name of field.env ?? []) {
      const fromEnv = this.env(name);
      if (fromEnv) return { value: fromEnv, env: name };
    }
    return undefined;
  }

  /** Hands a secret to the masking at once; a multi-line value line by line too (masking works on lines). */
  secret(value: string): void {
    this.src.onSecret?.(value);
    const lines = value.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (lines.length > 1) for (const line of lines) this.src.onSecret?.(line.trim());
  }

  /**
   * The absolute path of the readable regular file the input names, or undefined (empty, or a
   * problem reported). Relative paths resolve against GITHUB_WORKSPACE, else the working directory.
   */
  file(field: Field<unknown>): string | undefined {
    const raw = this.raw(field);
    if (!raw) return undefined;
    const workspace = this.src.env['GITHUB_WORKSPACE'];
    const resolved = path.resolve(workspace || process.cwd(), raw);
    const where = path.isAbsolute(raw)
      ? show(resolved, 200)
      : `${show(resolved, 200)} (relative to ${workspace ? 'GITHUB_WORKSPACE' : 'the working directory'})`;
    const problem = (message: string): undefined => {
      this.report(field.name, message);
      return undefined;
    };
    try {
      const stat = statSync(resolved);
      if (stat.isDirectory()) return problem(`${where} is a directory; name a file`);
      if (!stat.isFile()) return problem(`${where} is not a regular file`);
      accessSync(resolved, constants.R_OK);
      return resolved;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' || code === 'ENOTDIR'
          ? 'does not exist'
          : code === 'EACCES' || code === 'EPERM'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? (error as Error).message})`;
      return problem(`${where} ${reason}`);
    }
  }

  /** Runs a parser that throws an InputError, keeping its problems; `[]` when it threw. */
  collect(parse: () => string[]): string[] {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.problems.push(...error.problems);
      return [];
    }
  }

  hasProblem(...inputs: string[]): boolean {
    return this.problems.some((p) => inputs.includes(p.input));
  }
}

/** ` (from the environment variable X)` when the value came from there, for a message. */
export function fromEnv(found: Found): string {
  return found.env ? ` (from the environment variable ${found.env})` : '';
}

/** `{ a, b }` when neither is undefined (no problem was reported for them), else undefined. */
export function whole<T extends object>(values: T): { [K in keyof T]: Exclude<T[K], undefined> } | undefined {
  return Object.values(values).some((v) => v === undefined)
    ? undefined
    : (values as { [K in keyof T]: Exclude<T[K], undefined> });
}

// ---- parsers of shared shapes ------------------------------------------------------------------

const BOOLEANS: Record<string, boolean> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};

export function boolean(raw: string): Parsed<boolean> {
  const value = BOOLEANS[raw];
  return value === undefined
    ? { problem: `must be true or false (also True, TRUE, False, FALSE), got ${show(raw)}` }
    : { value };
}

/** Digits only after trimming: `10` and ` 10 ` pass, `10.0`, `+10` and `1e1` do not. */
export function wholeNumber(min: number, max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    return value >= min && value <= max
      ? { value }
      : { problem: `must be a whole number from ${min} to ${max}, got ${show(raw)}` };
  };
}

/** Any value that `pattern` matches whole; `expected` completes "must be …". */
export function matching(pattern: RegExp, expected: string): (raw: string) => Parsed<string> {
  return (raw) => (pattern.test(raw) ? { value: raw } : { problem: `must be ${expected}, got ${show(raw)}` });
}

/** `problemOf` says why a value is wrong, or undefined when it is right. */
export function checkedBy(problemOf: (raw: string) => string | undefined): (raw: string) => Parsed<string> {
  return (raw) => {
    const problem = problemOf(raw);
    return problem ? { problem: `${problem}, got ${show(raw)}` } : { value: raw };
  };
}

/** Empty stays undefined; anything else goes to `parse`. */
export function optional<T>(parse: (raw: string) => Parsed<T>): (raw: string) => Parsed<T | undefined> {
  return (raw) => (raw === '' ? { value: undefined } : parse(raw));
}

/**
 * A base URL: `https://host[:port]`, or `http://` to a loopback host only. The path must be empty
 * or `/`: requests are signed over their path, so a prefix would be easy to get subtly wrong.
 */
export function baseUrl(raw: string): Parsed<URL> {
  if (!/^[\x21-\x7e]+$/.test(raw)) {
    return { problem: `must be printable ASCII without spaces or line breaks, got ${show(raw)}` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `must be an absolute URL such as 'https://host', got ${show(raw)}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: `must start with https:// (http:// only for a loopback host), got ${show(raw)}` };
  }
  if (url.username || url.password) {
    // The value itself is not shown: it holds a password.
    return {
      problem: 'must not contain a user name or password; pass credentials through the credential inputs',
    };
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    return {
      problem:
        `uses http:// to ${show(url.hostname)}, which is not a loopback host (127.0.0.0/8, ::1, localhost); ` +
        'use https:// so signed requests never leave the machine in clear text',
    };
  }
  if (raw.includes('?') || raw.includes('#')) {
    return { problem: `must not have a query or fragment, got ${show(raw)}` };
  }
  if (url.pathname !== '/') {
    return { problem: `must be a base URL without a path (such as 'https://host:port'), got ${show(raw)}` };
  }
  return { value: new URL(`${url.protocol}//${url.host}/`) };
}

function isLoopback(hostname: string): boolean {
  // URL has already lower-cased the host and normalised IPv4 (`127.1`) and IPv6 (`[0::1]`) forms.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Quoting a user-supplied value for a message: the one copy lives in util/text.ts. */
