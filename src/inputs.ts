/**
 * Reads and validates every input once, before any network request. All problems are collected and
 * thrown together as one InputError, so a user fixes a workflow in one round instead of one per run.
 */

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, type InputProblem } from './errors.js';
import type { Budget, StageSize } from './fleet/types.js';
import type { Credentials } from './huawei/sign-apig.js';
import { mergeServerIds, parseServerIdsFile, parseServerIdsText, show } from './server-ids.js';

export interface Config {
  region: string;
  /** Undefined: looked up through IAM later. */
  projectId: string | undefined;
  /** AK/SK (and token), or keyless sign-in through an IAM identity provider. */
  signIn: SignIn;
  bucket: string;
  objectPath: string;
  /** Absolute path of an existing regular file. */
  file: string | undefined;
  /** `server-ids` then `server-ids-file`, duplicates dropped, in order; empty when only names choose. */
  serverIds: string[];
  /** `server-names` patterns; `exclude` holds the `!` patterns without their `!`. */
  serverNames: { include: string[]; exclude: string[] };
  preflight: boolean;
  /** Cumulative stage sizes; empty: one stage. */
  rollout: StageSize[];
  maxFailures: Budget;
  uploadConcurrency: number;
  /** The ids dropped as duplicates, each once (the caller warns). */
  duplicateServerIds: string[];
  /** Things that are allowed but probably not meant (the caller warns). */
  warnings: string[];
  batchSize: number;
  wait: boolean;
  waitTimeoutSeconds: number;
  pollIntervalSeconds: number;
  strictLayout: boolean;
  skipUnchanged: boolean;
  dryRun: boolean;
  summary: boolean;
  /** Base URLs, always with the path `/`. */
  cphEndpoint: URL;
  obsEndpoint: URL;
  iamEndpoint: URL;
}

export type SignIn =
  | { method: 'keys'; credentials: Credentials }
  | { method: 'keyless'; identityProvider: string; audience: string | undefined };

export interface InputSource {
  /** Like `core.getInput`: `''` when unset. */
  getInput(name: string): string;
  env: Record<string, string | undefined>;
  /** Called as soon as a secret value is known, before any validation error can be raised. */
  onSecret?(value: string): void;
}

/** The defaults written in action.yml, applied here too when an input comes back empty. */
export const DEFAULTS: Record<string, string> = {
  preflight: 'true',
  'max-failures': '0',
  'upload-concurrency': '16',
  'batch-size': '100',
  wait: 'true',
  'wait-timeout': '1800',
  'poll-interval': '10',
  'strict-layout': 'true',
  'skip-unchanged': 'true',
  'dry-run': 'false',
  summary: 'true',
};

const AK_ENV = ['HUAWEI_CLOUD_ACCESS_KEY_ID', 'HUAWEICLOUD_SDK_AK'];
const SK_ENV = ['HUAWEI_CLOUD_SECRET_ACCESS_KEY', 'HUAWEICLOUD_SDK_SK'];

/** Environment variables tried, in order, when an input is empty. */
const ENV_FALLBACKS: Record<string, string[]> = {
  region: ['HUAWEI_CLOUD_REGION'],
  'project-id': ['HUAWEI_CLOUD_PROJECT_ID'],
  'access-key-id': AK_ENV,
  'secret-access-key': SK_ENV,
  'security-token': ['HUAWEI_CLOUD_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'],
};

const REGION_PATTERN = /^[a-z]{2,}(-[a-z]+)+-\d+$/;
const PROJECT_ID_PATTERN = /^[0-9a-f]{32}$/;
const IDENTITY_PROVIDER_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const AUDIENCE_PATTERN = /^[\x21-\x7e]{1,255}$/;
const NAME_PATTERN = /^[A-Za-z0-9_.*?-]{1,255}$/;
const MAX_STAGES = 10;
/** Printable ASCII without space: anything else in a key would corrupt a header or the signature. */
const CREDENTIAL_PATTERN = /^[\x21-\x7e]+$/;
const BOOLEANS: Record<string, boolean> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};

export function readConfig(src: InputSource): Config {
  const v = new Validation(src);
  // Credentials first, so that every secret is masked before any message exists.
  const signIn = v.readSignIn();
  const region = v.readFromInputOrEnv('region', REGION_PATTERN, "a region id such as 'cn-east-3'");
  const projectId = v.readFromInputOrEnv(
    'project-id',
    PROJECT_ID_PATTERN,
    '32 lowercase hexadecimal characters',
  );
  const bucket = v.readRequired('bucket', bucketNameProblem);
  const objectPath = v.readRequired('object-path', objectPathProblem);
  const file = v.resolveFile('file');
  const serverNames = v.readServerNames();
  const serverIds = v.readServerIds(serverNames.include.length > 0);
  const preflight = v.parseBoolean('preflight', v.input('preflight'));
  const rollout = v.readRollout();
  const maxFailures = v.readMaxFailures();
  const uploadConcurrency = v.parseIntInRange('upload-concurrency', v.input('upload-concurrency'), 1, 32);
  const batchSize = v.parseIntInRange('batch-size', v.input('batch-size'), 1, 100);
  const wait = v.parseBoolean('wait', v.input('wait'));
  const waitTimeoutSeconds = v.parseIntInRange('wait-timeout', v.input('wait-timeout'), 1, 21600);
  const pollIntervalSeconds = v.parseIntInRange('poll-interval', v.input('poll-interval'), 1, 300);
  const strictLayout = v.parseBoolean('strict-layout', v.input('strict-layout'));
  const skipUnchanged = v.parseBoolean('skip-unchanged', v.input('skip-unchanged'));
  const dryRun = v.parseBoolean('dry-run', v.input('dry-run'));
  const summary = v.parseBoolean('summary', v.input('summary'));
  if (rollout.length > 0 && v.input('wait') in BOOLEANS && !wait) {
    v.report('rollout', "needs 'wait: true': each stage is waited for before the next one is pushed");
  }
  const validRegion = region && REGION_PATTERN.test(region) ? region : undefined;
  const endpoint = (service: 'cph' | 'obs' | 'iam') =>
    v.parseEndpoint(
      `${service}-endpoint`,
      v.input(`${service}-endpoint`),
      defaultEndpoint(service, validRegion),
    );
  const [cphEndpoint, obsEndpoint, iamEndpoint] = [endpoint('cph'), endpoint('obs'), endpoint('iam')];

  if (v.problems.length > 0) throw new InputError(v.problems);
  // Each reader returns a value or reports a problem, so with no problems these are all set
  // (an endpoint is given or derived from the region). The check lets the types say so too.
  if (
    region === undefined ||
    signIn === undefined ||
    cphEndpoint === undefined ||
    obsEndpoint === undefined ||
    iamEndpoint === undefined
  ) {
    throw new Error('readConfig: a required input was neither read nor reported as a problem');
  }
  return {
    region,
    projectId,
    signIn,
    bucket,
    objectPath,
    file,
    serverIds: serverIds.ids,
    serverNames,
    preflight,
    rollout,
    maxFailures,
    uploadConcurrency,
    duplicateServerIds: serverIds.duplicates,
    warnings: v.warnings,
    batchSize,
    wait,
    waitTimeoutSeconds,
    pollIntervalSeconds,
    strictLayout,
    skipUnchanged,
    dryRun,
    summary,
    cphEndpoint,
    obsEndpoint,
    iamEndpoint,
  };
}

/** Why `name` is not a valid OBS bucket name, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long (got ${name.length})`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "may contain only lowercase letters, digits, '-' and '.'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must start and end with a lowercase letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return "must not contain '..', '.-' or '-.'";
  if (/^\d+(\.\d+){3}$/.test(name)) return 'must not be shaped like an IP address';
  return undefined;
}

/** Why `key` is not a valid object path for the tar, or undefined when it is. */
export function objectPathProblem(key: string): string | undefined {
  if (key.startsWith('obs://')) return "must be the object key only, without 'obs://' and the bucket";
  if (key.length < 1 || key.length > 1024) return `must be 1 to 1024 characters long (got ${key.length})`;
  const bad = [...key].find((c) => !/[A-Za-z0-9./\-_+#=]/.test(c));
  if (bad !== undefined) return `may contain only letters, digits and . / - _ + # = (found ${show(bad)})`;
  if (key.startsWith('/')) return "must not start with '/'";
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    return "must not contain an empty, '.' or '..' path segment";
  }
  if (!key.toLowerCase().endsWith('.tar')) return "must end in '.tar'";
  return undefined;
}

function defaultEndpoint(service: 'cph' | 'obs' | 'iam', region: string | undefined): URL | undefined {
  return region ? new URL(`https://${service}.${region}.myhuaweicloud.com/`) : undefined;
}

function isLoopback(hostname: string): boolean {
  // URL has already lower-cased the host and normalised IPv4 (`127.1`) and IPv6 (`[0::1]`) forms.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

interface Found {
  value: string;
  /** The environment variable it came from; undefined when from the input. */
  env: string | undefined;
}

/** Reads inputs and collects problems; values returned alongside a problem are never used. */
class Validation {
  readonly problems: InputProblem[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly src: InputSource) {}

  report(input: string, message: string): void {
    this.problems.push({ input, message });
  }

  input(name: string): string {
    return this.src.getInput(name).trim() || DEFAULTS[name] || '';
  }

  /** An explicit input beats the environment; an empty variable counts as unset. */
  find(name: string): Found | undefined {
    const value = this.input(name);
    if (value) return { value, env: undefined };
    for (const env of ENV_FALLBACKS[name] ?? []) {
      const fromEnv = this.src.env[env]?.trim();
      if (fromEnv) return { value: fromEnv, env };
    }
    return undefined;
  }

  /**
   * `identity-provider` chooses keyless sign-in; it excludes the key inputs (one way to sign in),
   * while keys left in the environment are only ignored, with one warning.
   */
  readSignIn(): SignIn | undefined {
    const idp = this.input('identity-provider');
    const audience = this.input('audience');
    if (!idp) {
      if (audience) {
        this.warnings.push(
          "'audience' is ignored without 'identity-provider' (it is the audience of the keyless sign-in)",
        );
      }
      const credentials = this.readCredentials();
      return credentials && { method: 'keys', credentials };
    }
    const keyInputs = ['access-key-id', 'secret-access-key', 'security-token'] as const;
    const given = keyInputs.filter((name) => this.src.getInput(name).trim() !== '');
    for (const name of given) this.secret(this.src.getInput(name).trim());
    if (given.length > 0) {
      this.report(
        'identity-provider',
        `cannot be used together with ${given.map((n) => `'${n}'`).join(', ')}: choose one way to sign in ` +
          '(keyless through the identity provider, or AK/SK)',
      );
    }
    const fromEnv = keyInputs.flatMap((name) =>
      (ENV_FALLBACKS[name] ?? []).filter((env) => this.src.env[env]?.trim()),
    );
    for (const env of fromEnv) this.secret((this.src.env[env] as string).trim());
    if (given.length === 0 && fromEnv.length > 0) {
      this.warnings.push(
        `signing in through identity provider '${idp}'; the keys in the environment (${fromEnv.join(', ')}) are ignored`,
      );
    }
    if (!IDENTITY_PROVIDER_PATTERN.test(idp)) {
      this.report(
        'identity-provider',
        `must be an IAM identity provider id of 1 to 64 letters, digits, '-' or '_', got ${show(idp)}`,
      );
    }
    if (audience && !AUDIENCE_PATTERN.test(audience)) {
      this.report(
        'audience',
        `must be 1 to 255 printable ASCII characters without spaces (the identity provider's client ID), got ${show(audience)}`,
      );
    }
    return { method: 'keyless', identityProvider: idp, audience: audience || undefined };
  }

  readCredentials(): Credentials | undefined {
    const ak = this.find('access-key-id');
    const sk = this.find('secret-access-key');
    const token = this.find('security-token');
    for (const found of [ak, sk, token]) if (found) this.secret(found.value);

    const checks: [string, Found | undefined][] = [
      ['access-key-id', ak],
      ['secret-access-key', sk],
      ['security-token', token],
    ];
    for (const [name, found] of checks) {
      if (found && !CREDENTIAL_PATTERN.test(found.value)) {
        this.report(
          name,
          `contains white space, control or non-ASCII characters${fromEnv(found)}; ` +
            'copy the value again without spaces or line breaks (the value is not shown because it is secret)',
        );
      }
    }
    const [akEnv, skEnv] = [AK_ENV, SK_ENV];
    if (!ak) {
      this.report(
        'access-key-id',
        `no access key id found (tried the 'access-key-id' input and the environment variables ${akEnv.join(', ')}); ` +
          `AK/SK signing needs both 'access-key-id' and 'secret-access-key' (or ${skEnv.join(' / ')})`,
      );
    }
    if (!sk) {
      this.report(
        'secret-access-key',
        `no secret access key found (tried the 'secret-access-key' input and the environment variables ${skEnv.join(', ')}); ` +
          `AK/SK signing needs both 'access-key-id' and 'secret-access-key' (or ${akEnv.join(' / ')})`,
      );
    }
    if (!ak || !sk) return undefined;
    if (token?.env && !ak.env) {
      // Each credential falls back on its own, so a token left in the environment by an
      // earlier step would be sent with unrelated long-term keys, and every request refused.
      this.warnings.push(
        `the security token comes from ${token.env} while the AK/SK come from the inputs; ` +
          "if these are long-term keys, unset that variable or pass 'security-token' explicitly",
      );
    }
    return token
      ? { accessKeyId: ak.value, secretAccessKey: sk.value, securityToken: token.value }
      : { accessKeyId: ak.value, secretAccessKey: sk.value };
  }

  /** `region` (required) and `project-id` (optional): input, else environment. */
  readFromInputOrEnv(name: 'region' | 'project-id', pattern: RegExp, expected: string): string | undefined {
    const found = this.find(name);
    if (!found) {
      if (name === 'region') {
        this.report(
          name,
          "is required: set the 'region' input or the HUAWEI_CLOUD_REGION environment variable, e.g. 'cn-east-3'",
        );
      }
      return undefined;
    }
    if (!pattern.test(found.value))
      this.report(name, `must be ${expected}, got ${show(found.value)}${fromEnv(found)}`);
    return found.value;
  }

  readRequired(name: 'bucket' | 'object-path', problemOf: (value: string) => string | undefined): string {
    const value = this.input(name);
    if (!value) {
      this.report(
        name,
        `is required: set the ${name === 'bucket' ? 'OBS bucket name' : "OBS object key of the tar, e.g. 'releases/app.tar'"}`,
      );
      return value;
    }
    const problem = problemOf(value);
    if (problem) this.report(name, `${problem}, got ${show(value)}`);
    return value;
  }

  /** Relative paths resolve against GITHUB_WORKSPACE, else the working directory. */
  resolveFile(name: 'file' | 'server-ids-file'): string | undefined {
    const raw = this.input(name);
    if (!raw) return undefined;
    const workspace = this.src.env['GITHUB_WORKSPACE'];
    const resolved = path.resolve(workspace || process.cwd(), raw);
    const where = path.isAbsolute(raw)
      ? show(resolved, 200)
      : `${show(resolved, 200)} (relative to ${workspace ? 'GITHUB_WORKSPACE' : 'the working directory'})`;
    try {
      const stat = statSync(resolved);
      if (stat.isDirectory()) return this.fileProblem(name, `${where} is a directory; name a file`);
      if (!stat.isFile()) return this.fileProblem(name, `${where} is not a regular file`);
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
      return this.fileProblem(name, `${where} ${reason}`);
    }
  }

  readServerIds(namesChoose: boolean): { ids: string[]; duplicates: string[] } {
    const fromText = this.collect(() => parseServerIdsText(this.input('server-ids'), 'server-ids'));
    const file = this.resolveFile('server-ids-file');
    let fromFile: string[] = [];
    if (file) {
      const name = this.input('server-ids-file');
      fromFile = this.collect(() => {
        let content: string;
        try {
          content = readFileSync(file, 'utf8');
        } catch (error) {
          const message = `${show(file, 200)} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`;
          throw new InputError([{ input: 'server-ids-file', message }]);
        }
        return parseServerIdsFile(content, name);
      });
    }
    const merged = mergeServerIds(fromText, fromFile);
    const anyIdProblem = this.problems.some((p) => p.input === 'server-ids' || p.input === 'server-ids-file');
    const anyNameProblem = this.problems.some((p) => p.input === 'server-names');
    if (merged.ids.length === 0 && !anyIdProblem && !namesChoose && !anyNameProblem) {
      if (this.onlyExclusions) {
        this.report(
          'server-names',
          "has only '!' exclusions and no server id is given: add a pattern that chooses servers, such as 'game-prod-*'",
        );
      } else {
        this.report(
          'server-ids',
          file
            ? `no server ids: 'server-ids' is empty and ${show(this.input('server-ids-file'))} lists none; give at least one id, or choose servers with 'server-names'`
            : "no server ids: set 'server-ids' or 'server-ids-file' to at least one CPH server id, or 'server-names' to a name pattern",
        );
      }
    }
    return merged;
  }

  private onlyExclusions = false;

  /** Glob patterns separated by commas or new lines; `!` marks an exclusion. */
  readServerNames(): { include: string[]; exclude: string[] } {
    const include: string[] = [];
    const exclude: string[] = [];
    const raw = this.input('server-names');
    for (const entry of raw.split(/[,\r\n]+/)) {
      const pattern = entry.trim();
      if (!pattern) continue;
      const negated = pattern.startsWith('!');
      const body = negated ? pattern.slice(1).trim() : pattern;
      if (!NAME_PATTERN.test(body)) {
        this.report(
          'server-names',
          `pattern ${show(pattern)} must be 1 to 255 letters, digits, '-', '_', '.', '*' or '?' (after an optional '!')`,
        );
        continue;
      }
      (negated ? exclude : include).push(body);
    }
    this.onlyExclusions = include.length === 0 && exclude.length > 0;
    return { include, exclude };
  }

  /** `1, 10%, 50%`: cumulative stage sizes, counts or percentages. */
  readRollout(): StageSize[] {
    const raw = this.input('rollout');
    if (!raw) return [];
    const entries = raw.split(/[,\s]+/).filter(Boolean);
    const stages: StageSize[] = [];
    const bad = (why: string): StageSize[] => {
      this.report('rollout', `${why}; write cumulative stage sizes such as '1, 10%, 50%', got ${show(raw)}`);
      return [];
    };
    if (entries.length > MAX_STAGES)
      return bad(`has ${entries.length} stages, at most ${MAX_STAGES} are allowed`);
    for (const entry of entries) {
      const size = parseAmount(entry);
      if (!size) return bad(`stage ${show(entry)} is neither a whole number nor a percentage`);
      if ('count' in size && size.count < 1) return bad(`stage ${show(entry)} must be at least 1 server`);
      if ('percent' in size && !(size.percent > 0 && size.percent <= 100)) {
        return bad(`stage ${show(entry)} must be a percentage above 0 and at most 100`);
      }
      const shrinks = stages.some((earlier) =>
        'count' in size
          ? 'count' in earlier && earlier.count > size.count
          : 'percent' in earlier && earlier.percent > size.percent,
      );
      if (shrinks) return bad(`stage ${show(entry)} is smaller than an earlier stage (sizes are cumulative)`);
      stages.push(size);
    }
    return stages;
  }

  /** `N` servers or `P%` of the servers chosen. */
  readMaxFailures(): Budget {
    const raw = this.input('max-failures');
    const size = parseAmount(raw);
    if (!size || ('percent' in size && !(size.percent >= 0 && size.percent <= 100))) {
      this.report(
        'max-failures',
        `must be a whole number of servers (0 or more) or a percentage from 0% to 100% such as '2%', got ${show(raw)}`,
      );
      return { count: 0 };
    }
    return size;
  }

  parseBoolean(name: string, raw: string): boolean {
    const value = BOOLEANS[raw];
    if (value === undefined)
      this.report(name, `must be true or false (also True, TRUE, False, FALSE), got ${show(raw)}`);
    return value ?? false;
  }

  /** Digits only after trimming: `10` and ` 10 ` pass, `10.0`, `+10` and `1e1` do not. */
  parseIntInRange(name: string, raw: string, min: number, max: number): number {
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(value >= min && value <= max)) {
      this.report(name, `must be a whole number from ${min} to ${max}, got ${show(raw)}`);
    }
    return value;
  }

  /**
   * A base URL: `https://host[:port]`, or `http://` to a loopback host only. The path must be empty
   * or `/`: requests are signed over their path, so a prefix would be easy to get subtly wrong.
   */
  parseEndpoint(name: string, raw: string, fallback: URL | undefined): URL | undefined {
    if (!raw) return fallback;
    const bad = (why: string): undefined => {
      this.report(name, why);
      return undefined;
    };
    if (!/^[\x21-\x7e]+$/.test(raw))
      return bad(`must be printable ASCII without spaces or line breaks, got ${show(raw)}`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return bad(`must be an absolute URL such as 'https://host', got ${show(raw)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return bad(`must start with https:// (http:// only for a loopback host), got ${show(raw)}`);
    }
    if (url.username || url.password) {
      // The value itself is not shown: it holds a password.
      return bad('must not contain a user name or password; pass credentials through the credential inputs');
    }
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      return bad(
        `uses http:// to ${show(url.hostname)}, which is not a loopback host (127.0.0.0/8, ::1, localhost); ` +
          'use https:// so signed requests never leave the machine in clear text',
      );
    }
    if (raw.includes('?') || raw.includes('#'))
      return bad(`must not have a query or fragment, got ${show(raw)}`);
    if (url.pathname !== '/') {
      return bad(`must be a base URL without a path (such as 'https://host:port'), got ${show(raw)}`);
    }
    return new URL(`${url.protocol}//${url.host}/`);
  }

  private secret(value: string): void {
    this.src.onSecret?.(value);
    // A multi-line value is masked line by line too: the runner's masking works on lines.
    const lines = value.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (lines.length > 1) for (const line of lines) this.src.onSecret?.(line.trim());
  }

  private fileProblem(name: string, message: string): undefined {
    this.report(name, message);
    return undefined;
  }

  private collect(parse: () => string[]): string[] {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.problems.push(...error.problems);
      return [];
    }
  }
}

/** `12` → a count, `2.5%` → a percentage; anything else → undefined. */
function parseAmount(raw: string): { count: number } | { percent: number } | undefined {
  if (/^\d+$/.test(raw)) return { count: Number(raw) };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(raw);
  return percent ? { percent: Number(percent[1]) } : undefined;
}

function fromEnv(found: Found): string {
  return found.env ? ` (from the environment variable ${found.env})` : '';
}
