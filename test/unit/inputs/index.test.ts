import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, type InputProblem } from '../../../src/errors.js';
import { type Config, type InputSource, readConfig, type StaticKeys } from '../../../src/inputs/index.js';
import { fuzzRuns } from '../../helpers/fuzz.js';

/** The AK/SK of a config that signs with keys. */
function keys(config: Config): StaticKeys {
  if (config.signIn.method !== 'keys') throw new Error(`expected keys, got ${config.signIn.method}`);
  return config.signIn.credentials;
}

const AK = 'AKIDEXAMPLE0000000AK';
const SK = 'sk-SECRET-0123456789abcdefghijklmnop';
const TOKEN = 'token-SECRET-zyxwvutsrqponmlkjihgfedcba';
const PROJECT = '0123456789abcdef0123456789abcdef';

const workspace = mkdtempSync(path.join(os.tmpdir(), 'cph-inputs-'));
const inWorkspace = (name: string, content?: string): string => {
  const file = path.join(workspace, name);
  if (content !== undefined) writeFileSync(file, content);
  return file;
};
const tarFile = inWorkspace('bundle.tar', 'not really a tar; inputs do not look inside');
mkdirSync(inWorkspace('dir'));
inWorkspace('ids.txt', '# fleet\r\nserver-2, server-3 # two\r\nserver-1\r\n');
inWorkspace('ids.json', '["server-4", "server-2"]');
inWorkspace('wrapped.json', '{"server_ids": ["server-5"]}');
inWorkspace(
  'servers.json',
  JSON.stringify({ count: 2, servers: [{ server_id: 'server-6' }, { server_id: 'server-7' }] }),
);
inWorkspace('comments.txt', '# nothing here yet\n\n');
inWorkspace('broken.json', '["server-1",');
inWorkspace('numbers.json', '[1, "server-1"]');
inWorkspace('shape.json', '{"ids": ["server-1"]}');
inWorkspace('no-server-id.json', '{"servers": [{"id": "server-1"}]}');

afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Just enough for a valid run; tests override single inputs (`''` unsets one). */
const BASE: Record<string, string> = {
  region: 'cn-east-3',
  'access-key-id': AK,
  'secret-access-key': SK,
  bucket: 'my-bucket',
  'object-path': 'releases/app.tar',
  'server-ids': 'server-1',
};

function source(inputs: Record<string, string> = {}, env: Record<string, string> = {}) {
  const all = { ...BASE, ...inputs };
  const secrets: string[] = [];
  const src: InputSource = {
    getInput: (name) => all[name] ?? '',
    env: { GITHUB_WORKSPACE: workspace, ...env },
    onSecret: (value) => secrets.push(value),
  };
  return { src, secrets };
}

function problemsOf(inputs: Record<string, string>, env: Record<string, string> = {}): InputProblem[] {
  try {
    readConfig(source(inputs, env).src);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error('expected readConfig to throw an InputError');
}

function expectNoSecretIn(problems: InputProblem[], ...secrets: string[]): void {
  const text = problems.map((p) => `${p.input} ${p.message}`).join('\n');
  for (const secret of [AK, SK, TOKEN, ...secrets]) expect(text).not.toContain(secret);
}

describe('readConfig: valid inputs', () => {
  it('applies every default when optional inputs are empty', () => {
    const config = readConfig(source().src);
    expect(config).toEqual({
      region: 'cn-east-3',
      projectId: undefined,
      signIn: { method: 'keys', credentials: { accessKeyId: AK, secretAccessKey: SK } },
      bucket: 'my-bucket',
      objectPath: 'releases/app.tar',
      file: undefined,
      serverIds: ['server-1'],
      serverNames: { include: [], exclude: [] },
      preflight: true,
      rollout: [],
      maxFailures: { count: 0 },
      uploadConcurrency: 'auto',
      ledger: undefined,
      skipCurrent: true,
      prune: false,
      duplicateServerIds: [],
      warnings: [],
      batchSize: 100,
      wait: true,
      waitTimeoutSeconds: 1800,
      pollIntervalSeconds: 10,
      strictLayout: true,
      skipUnchanged: true,
      dryRun: false,
      summary: true,
      cphEndpoint: new URL('https://cph.cn-east-3.myhuaweicloud.com/'),
      obsEndpoint: new URL('https://obs.cn-east-3.myhuaweicloud.com/'),
      iamEndpoint: new URL('https://iam.cn-east-3.myhuaweicloud.com/'),
      tuning: { timeoutMs: 30_000, retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 } },
    });
    expect(config.signIn).toEqual({
      method: 'keys',
      credentials: { accessKeyId: expect.any(String), secretAccessKey: expect.any(String) },
    });
    expect((config.signIn as { credentials: object }).credentials).not.toHaveProperty('securityToken');
  });

  it('derives the endpoints from the region', () => {
    const config = readConfig(source({ region: 'ap-southeast-1' }).src);
    expect([config.cphEndpoint.href, config.obsEndpoint.href, config.iamEndpoint.href]).toEqual([
      'https://cph.ap-southeast-1.myhuaweicloud.com/',
      'https://obs.ap-southeast-1.myhuaweicloud.com/',
      'https://iam.ap-southeast-1.myhuaweicloud.com/',
    ]);
  });

  it('reads explicit values, trimming white space around them', () => {
    const config = readConfig(
      source({
        'project-id': ` ${PROJECT}\n`,
        'security-token': TOKEN,
        bucket: ' my.bucket-2 ',
        'object-path': 'a/b/C+D=E#F_G-H.TAR',
        'batch-size': ' 25 ',
        wait: 'False',
        'wait-timeout': '21600',
        'poll-interval': '1',
        'strict-layout': 'FALSE',
        'skip-unchanged': 'false',
        'dry-run': 'True',
        summary: 'TRUE',
      }).src,
    );
    expect(config).toMatchObject({
      projectId: PROJECT,
      signIn: { method: 'keys', credentials: { accessKeyId: AK, secretAccessKey: SK, securityToken: TOKEN } },
      bucket: 'my.bucket-2',
      objectPath: 'a/b/C+D=E#F_G-H.TAR',
      batchSize: 25,
      wait: false,
      waitTimeoutSeconds: 21600,
      pollIntervalSeconds: 1,
      strictLayout: false,
      skipUnchanged: false,
      dryRun: true,
      summary: true,
    });
  });

  it.each([
    ['batch-size', '1', 'batchSize', 1],
    ['batch-size', '100', 'batchSize', 100],
    ['batch-size', '007', 'batchSize', 7],
    ['wait-timeout', '1', 'waitTimeoutSeconds', 1],
    ['wait-timeout', '21600', 'waitTimeoutSeconds', 21600],
    ['poll-interval', '300', 'pollIntervalSeconds', 300],
  ] as const)('accepts %s = %j', (input, raw, key, expected) => {
    expect(readConfig(source({ [input]: raw }).src)[key]).toBe(expected);
  });

  it.each([
    ['https://cph.example.com', 'https://cph.example.com/'],
    ['https://cph.example.com/', 'https://cph.example.com/'],
    ['HTTPS://CPH.Example.COM:443', 'https://cph.example.com/'],
    ['https://cph.example.com:8443', 'https://cph.example.com:8443/'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/'],
    ['http://127.10.20.30/', 'http://127.10.20.30/'],
    ['http://LOCALHOST:9000/', 'http://localhost:9000/'],
    ['http://[::1]:9000', 'http://[::1]:9000/'],
    ['http://[0:0:0:0:0:0:0:1]', 'http://[::1]/'],
  ])('accepts endpoint %s as %s', (raw, href) => {
    const config = readConfig(source({ 'cph-endpoint': raw, 'obs-endpoint': raw, 'iam-endpoint': raw }).src);
    expect([config.cphEndpoint.href, config.obsEndpoint.href, config.iamEndpoint.href]).toEqual([
      href,
      href,
      href,
    ]);
  });
});

describe('readConfig: precedence (input > HUAWEI_CLOUD_* > HUAWEICLOUD_SDK_*)', () => {
  const cases = [
    { input: 'region', envs: ['HUAWEI_CLOUD_REGION'], values: ['cn-north-4', 'la-south-2', ''] },
    { input: 'project-id', envs: ['HUAWEI_CLOUD_PROJECT_ID'], values: ['a'.repeat(32), 'b'.repeat(32), ''] },
    {
      input: 'access-key-id',
      envs: ['HUAWEI_CLOUD_ACCESS_KEY_ID', 'HUAWEICLOUD_SDK_AK'],
      values: ['AK-INPUT', 'AK-ENV', 'AK-SDK'],
    },
    {
      input: 'secret-access-key',
      envs: ['HUAWEI_CLOUD_SECRET_ACCESS_KEY', 'HUAWEICLOUD_SDK_SK'],
      values: ['SK-INPUT', 'SK-ENV', 'SK-SDK'],
    },
    {
      input: 'security-token',
      envs: ['HUAWEI_CLOUD_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'],
      values: ['TOKEN-INPUT', 'TOKEN-ENV', 'TOKEN-SDK'],
    },
  ];
  const read = (name: string, inputs: Record<string, string>, env: Record<string, string>) => {
    const config = readConfig(source(inputs, env).src);
    return {
      region: config.region,
      'project-id': config.projectId,
      'access-key-id': keys(config).accessKeyId,
      'secret-access-key': keys(config).secretAccessKey,
      'security-token': keys(config).securityToken,
    }[name];
  };

  describe.each(cases)('$input', ({ input, envs, values }) => {
    const [fromInput, fromFirst, fromSecond] = values as [string, string, string];
    const allEnv = Object.fromEntries(envs.map((name, i) => [name, i === 0 ? fromFirst : fromSecond]));

    it('takes the input over every environment variable', () => {
      expect(read(input, { [input]: fromInput }, allEnv)).toBe(fromInput);
    });
    it(`falls back to ${envs[0]}`, () => {
      expect(read(input, { [input]: '' }, allEnv)).toBe(fromFirst);
    });
    if (envs.length > 1) {
      it(`falls back to ${envs[1]} when ${envs[0]} is unset or empty`, () => {
        expect(read(input, { [input]: '' }, { [envs[1]!]: fromSecond })).toBe(fromSecond);
        expect(read(input, { [input]: '' }, { [envs[0]!]: '  ', [envs[1]!]: fromSecond })).toBe(fromSecond);
      });
    }
  });

  it('warns when a token from the environment would be sent with AK/SK from the inputs', () => {
    const mixed = readConfig(source({}, { HUAWEI_CLOUD_SECURITY_TOKEN: 'TOKEN-ENV' }).src);
    expect(mixed.warnings).toEqual([
      "the security token comes from HUAWEI_CLOUD_SECURITY_TOKEN while the AK/SK come from the inputs; if these are long-term keys, unset that variable or pass 'security-token' explicitly",
    ]);
    const allEnv = readConfig(
      source(
        { 'access-key-id': '', 'secret-access-key': '' },
        {
          HUAWEI_CLOUD_ACCESS_KEY_ID: AK,
          HUAWEI_CLOUD_SECRET_ACCESS_KEY: SK,
          HUAWEI_CLOUD_SECURITY_TOKEN: 'TOKEN-ENV',
        },
      ).src,
    );
    expect(allEnv.warnings).toEqual([]);
    expect(readConfig(source({ 'security-token': 'TOKEN-INPUT' }).src).warnings).toEqual([]);
  });

  it('is undefined for project-id and security-token when set nowhere', () => {
    const config = readConfig(source({}, {}).src);
    expect(config.projectId).toBeUndefined();
    expect(keys(config).securityToken).toBeUndefined();
  });
});

describe('readConfig: files and server ids', () => {
  it('resolves a relative file against GITHUB_WORKSPACE', () => {
    expect(readConfig(source({ file: 'bundle.tar' }).src).file).toBe(tarFile);
    expect(readConfig(source({ file: './dir/../bundle.tar' }).src).file).toBe(tarFile);
  });

  it('resolves a relative file against the working directory without GITHUB_WORKSPACE', () => {
    const relative = path.relative(process.cwd(), tarFile);
    expect(readConfig(source({ file: relative }, { GITHUB_WORKSPACE: '' }).src).file).toBe(tarFile);
  });

  it('keeps an absolute file path', () => {
    expect(readConfig(source({ file: tarFile }, { GITHUB_WORKSPACE: '/nowhere' }).src).file).toBe(tarFile);
  });

  it.each([
    ['ids.txt', ['server-2', 'server-3', 'server-1']],
    ['ids.json', ['server-4', 'server-2']],
    ['wrapped.json', ['server-5']],
    ['servers.json', ['server-6', 'server-7']],
  ])('reads server-ids-file %s from the workspace', (file, ids) => {
    expect(readConfig(source({ 'server-ids': '', 'server-ids-file': file }).src).serverIds).toEqual(ids);
  });

  it('merges server-ids before server-ids-file and reports the dropped duplicates', () => {
    const config = readConfig(
      source({ 'server-ids': 'server-1 server-9,server-2', 'server-ids-file': 'ids.txt' }).src,
    );
    expect(config.serverIds).toEqual(['server-1', 'server-9', 'server-2', 'server-3']);
    expect(config.duplicateServerIds).toEqual(['server-2', 'server-1']);
  });

  it('accepts multi-line server-ids with CRLF and comments', () => {
    expect(readConfig(source({ 'server-ids': 'a1, a2\r\n# later\r\na3\ta4 # last' }).src).serverIds).toEqual([
      'a1',
      'a2',
      'a3',
      'a4',
    ]);
  });
});

interface BadRow {
  name: string;
  inputs: Record<string, string>;
  env?: Record<string, string>;
  input: string;
  message: string | RegExp;
  /** A secret value in this row that must not show up in any message. */
  secret?: string;
}

const badCredential = /^contains white space, control or non-ASCII characters.*; copy the value again/;

const BAD_INPUTS: BadRow[] = [
  // region
  {
    name: 'region set nowhere',
    inputs: { region: '' },
    input: 'region',
    message:
      "is required: set the 'region' input or the HUAWEI_CLOUD_REGION environment variable, e.g. 'cn-east-3'",
  },
  {
    name: 'region in upper case',
    inputs: { region: 'CN-EAST-3' },
    input: 'region',
    message: "must be a region id such as 'cn-east-3', got 'CN-EAST-3'",
  },
  {
    name: 'region without dashes',
    inputs: { region: 'cneast3' },
    input: 'region',
    message: /got 'cneast3'$/,
  },
  {
    name: 'region without number',
    inputs: { region: 'cn-east' },
    input: 'region',
    message: /got 'cn-east'$/,
  },
  {
    name: 'bad region from the environment',
    inputs: { region: '' },
    env: { HUAWEI_CLOUD_REGION: 'cn_east_3' },
    input: 'region',
    message:
      "must be a region id such as 'cn-east-3', got 'cn_east_3' (from the environment variable HUAWEI_CLOUD_REGION)",
  },
  // project-id
  {
    name: 'short project id',
    inputs: { 'project-id': 'abc' },
    input: 'project-id',
    message: "must be 32 lowercase hexadecimal characters, got 'abc'",
  },
  {
    name: 'upper-case project id',
    inputs: { 'project-id': PROJECT.toUpperCase() },
    input: 'project-id',
    message: /got '0123456789ABCDEF0123456789ABCDEF'$/,
  },
  {
    name: 'bad project id from the environment',
    inputs: {},
    env: { HUAWEI_CLOUD_PROJECT_ID: `${PROJECT.slice(1)}g` },
    input: 'project-id',
    message: /\(from the environment variable HUAWEI_CLOUD_PROJECT_ID\)$/,
  },
  // credentials
  {
    name: 'access key id set nowhere',
    inputs: { 'access-key-id': '' },
    input: 'access-key-id',
    message:
      "no access key id found (tried the 'access-key-id' input and the environment variables " +
      "HUAWEI_CLOUD_ACCESS_KEY_ID, HUAWEICLOUD_SDK_AK); AK/SK signing needs both 'access-key-id' and " +
      "'secret-access-key' (or HUAWEI_CLOUD_SECRET_ACCESS_KEY / HUAWEICLOUD_SDK_SK)",
  },
  {
    name: 'secret access key set nowhere',
    inputs: { 'secret-access-key': '' },
    input: 'secret-access-key',
    message:
      "no secret access key found (tried the 'secret-access-key' input and the environment variables " +
      "HUAWEI_CLOUD_SECRET_ACCESS_KEY, HUAWEICLOUD_SDK_SK); AK/SK signing needs both 'access-key-id' and " +
      "'secret-access-key' (or HUAWEI_CLOUD_ACCESS_KEY_ID / HUAWEICLOUD_SDK_AK)",
  },
  {
    name: 'secret access key with a space',
    inputs: { 'secret-access-key': 'half one SECRET-HALF-TWO' },
    input: 'secret-access-key',
    message: badCredential,
    secret: 'SECRET-HALF-TWO',
  },
  {
    name: 'secret access key with an inner line break',
    inputs: { 'secret-access-key': 'line-one\nSECRET-LINE-TWO' },
    input: 'secret-access-key',
    message: badCredential,
    secret: 'SECRET-LINE-TWO',
  },
  {
    name: 'secret access key with non-ASCII',
    inputs: { 'secret-access-key': 'SECRET-ünicode-sk' },
    input: 'secret-access-key',
    message: badCredential,
    secret: 'SECRET-ünicode-sk',
  },
  {
    name: 'security token with a control character',
    inputs: { 'security-token': 'token\u0001SECRET-CTRL' },
    input: 'security-token',
    message: badCredential,
    secret: 'SECRET-CTRL',
  },
  {
    name: 'access key id with a tab',
    inputs: { 'access-key-id': 'AKID\tTABBED' },
    input: 'access-key-id',
    message: badCredential,
    secret: 'TABBED',
  },
  {
    name: 'bad secret access key from HUAWEICLOUD_SDK_SK',
    inputs: { 'secret-access-key': '' },
    env: { HUAWEICLOUD_SDK_SK: 'sdk sk SECRET-FROM-ENV' },
    input: 'secret-access-key',
    message: /\(from the environment variable HUAWEICLOUD_SDK_SK\); copy the value again/,
    secret: 'SECRET-FROM-ENV',
  },
  {
    name: 'bad security token from HUAWEI_CLOUD_SECURITY_TOKEN',
    inputs: {},
    env: { HUAWEI_CLOUD_SECURITY_TOKEN: 'tok\rSECRET-TOKEN-CR' },
    input: 'security-token',
    message: /\(from the environment variable HUAWEI_CLOUD_SECURITY_TOKEN\)/,
    secret: 'SECRET-TOKEN-CR',
  },
  // bucket
  {
    name: 'bucket missing',
    inputs: { bucket: '' },
    input: 'bucket',
    message: 'is required: set the OBS bucket name',
  },
  {
    name: 'bucket too short',
    inputs: { bucket: 'ab' },
    input: 'bucket',
    message: "must be 3 to 63 characters long (got 2), got 'ab'",
  },
  {
    name: 'bucket too long',
    inputs: { bucket: 'b'.repeat(64) },
    input: 'bucket',
    message: /^must be 3 to 63 characters long \(got 64\)/,
  },
  {
    name: 'bucket with upper case',
    inputs: { bucket: 'My-Bucket' },
    input: 'bucket',
    message: "may contain only lowercase letters, digits, '-' and '.', got 'My-Bucket'",
  },
  {
    name: 'bucket with underscore',
    inputs: { bucket: 'my_bucket' },
    input: 'bucket',
    message: /may contain only lowercase/,
  },
  {
    name: 'bucket starting with -',
    inputs: { bucket: '-bucket' },
    input: 'bucket',
    message: /must start and end with a lowercase letter or digit/,
  },
  {
    name: 'bucket ending with .',
    inputs: { bucket: 'bucket.' },
    input: 'bucket',
    message: /must start and end with/,
  },
  {
    name: 'bucket with ..',
    inputs: { bucket: 'my..bucket' },
    input: 'bucket',
    message: "must not contain '..', '.-' or '-.', got 'my..bucket'",
  },
  {
    name: 'bucket with .-',
    inputs: { bucket: 'my.-bucket' },
    input: 'bucket',
    message: /must not contain '\.\.', '\.-' or '-\.'/,
  },
  {
    name: 'bucket with -.',
    inputs: { bucket: 'my-.bucket' },
    input: 'bucket',
    message: /must not contain '\.\.', '\.-' or '-\.'/,
  },
  {
    name: 'bucket shaped like an IP',
    inputs: { bucket: '192.168.1.1' },
    input: 'bucket',
    message: "must not be shaped like an IP address, got '192.168.1.1'",
  },
  // object-path
  {
    name: 'object path missing',
    inputs: { 'object-path': '' },
    input: 'object-path',
    message: "is required: set the OBS object key of the tar, e.g. 'releases/app.tar'",
  },
  {
    name: 'object path with leading /',
    inputs: { 'object-path': '/releases/app.tar' },
    input: 'object-path',
    message: "must not start with '/', got '/releases/app.tar'",
  },
  {
    name: 'object path not a tar',
    inputs: { 'object-path': 'releases/app.zip' },
    input: 'object-path',
    message: "must end in '.tar', got 'releases/app.zip'",
  },
  {
    name: 'object path with //',
    inputs: { 'object-path': 'releases//app.tar' },
    input: 'object-path',
    message: /must not contain an empty, '\.' or '\.\.' path segment/,
  },
  {
    name: 'object path with ./',
    inputs: { 'object-path': 'releases/./app.tar' },
    input: 'object-path',
    message: /path segment, got 'releases\/\.\/app\.tar'/,
  },
  {
    name: 'object path with ..',
    inputs: { 'object-path': '../app.tar' },
    input: 'object-path',
    message: /path segment/,
  },
  {
    name: 'object path with a space',
    inputs: { 'object-path': 'my release/app.tar' },
    input: 'object-path',
    message: "may contain only letters, digits and . / - _ + # = (found ' '), got 'my release/app.tar'",
  },
  {
    name: 'object path too long',
    inputs: { 'object-path': `${'a'.repeat(1021)}.tar` },
    input: 'object-path',
    message: /^must be 1 to 1024 characters long \(got 1025\), got 'a{80}…'$/,
  },
  {
    name: 'object path given as an obs:// URL',
    inputs: { 'object-path': 'obs://my-bucket/app.tar' },
    input: 'object-path',
    message: /must be the object key only, without 'obs:\/\/' and the bucket/,
  },
  // file
  {
    name: 'file missing',
    inputs: { file: 'missing.tar' },
    input: 'file',
    message: /^'.*missing\.tar' \(relative to GITHUB_WORKSPACE\) does not exist$/,
  },
  {
    name: 'file is a directory',
    inputs: { file: 'dir' },
    input: 'file',
    message: /'.*dir' \(relative to GITHUB_WORKSPACE\) is a directory; name a file/,
  },
  {
    name: 'file is a device',
    // The null device of this OS (`\\.\nul` on Windows).
    inputs: { file: os.devNull },
    input: 'file',
    message: `'${os.devNull}' is not a regular file`,
  },
  {
    name: 'absolute file missing',
    inputs: { file: '/nonexistent/app.tar' },
    input: 'file',
    message: "'/nonexistent/app.tar' does not exist",
  },
  // server-ids and server-ids-file
  {
    name: 'no server ids at all',
    inputs: { 'server-ids': '' },
    input: 'server-ids',
    message:
      "no server ids: set 'server-ids' or 'server-ids-file' to at least one CPH server id, or 'server-names' to a name pattern",
  },
  {
    name: 'server id with underscore',
    inputs: { 'server-ids': 'ok bad_id' },
    input: 'server-ids',
    message: /^invalid server id 'bad_id' \(bad character '_'\)/,
  },
  {
    name: 'server id too long',
    inputs: { 'server-ids': 'x'.repeat(33) },
    input: 'server-ids',
    message: /\(33 characters, more than 32\)/,
  },
  {
    name: 'server-ids-file missing',
    inputs: { 'server-ids-file': 'nope.txt' },
    input: 'server-ids-file',
    message: /nope\.txt' \(relative to GITHUB_WORKSPACE\) does not exist$/,
  },
  {
    name: 'server-ids-file is a directory',
    inputs: { 'server-ids-file': 'dir' },
    input: 'server-ids-file',
    message: /is a directory; name a file$/,
  },
  {
    name: 'server-ids-file bad JSON',
    inputs: { 'server-ids-file': 'broken.json' },
    input: 'server-ids-file',
    message: /^'broken\.json' is not valid JSON/,
  },
  {
    name: 'server-ids-file with a number',
    inputs: { 'server-ids-file': 'numbers.json' },
    input: 'server-ids-file',
    message: /\[0\] \(a number, not a string\)/,
  },
  {
    name: 'server-ids-file of unknown shape',
    inputs: { 'server-ids-file': 'shape.json' },
    input: 'server-ids-file',
    message: /has an unsupported JSON shape/,
  },
  {
    name: 'server-ids-file servers without server_id',
    inputs: { 'server-ids-file': 'no-server-id.json' },
    input: 'server-ids-file',
    message: /servers\[0\] has no "server_id" string/,
  },
  {
    name: 'server-ids-file with only comments',
    inputs: { 'server-ids': '', 'server-ids-file': 'comments.txt' },
    input: 'server-ids',
    message:
      "no server ids: 'server-ids' is empty and 'comments.txt' lists none; give at least one id, or choose servers with 'server-names'",
  },
  // integers
  {
    name: 'batch-size 0',
    inputs: { 'batch-size': '0' },
    input: 'batch-size',
    message: "must be a whole number from 1 to 100, got '0'",
  },
  {
    name: 'batch-size 101',
    inputs: { 'batch-size': '101' },
    input: 'batch-size',
    message: "must be a whole number from 1 to 100, got '101'",
  },
  {
    name: 'batch-size 10.0',
    inputs: { 'batch-size': '10.0' },
    input: 'batch-size',
    message: "must be a whole number from 1 to 100, got '10.0'",
  },
  { name: 'batch-size ten', inputs: { 'batch-size': 'ten' }, input: 'batch-size', message: /got 'ten'$/ },
  { name: 'batch-size -5', inputs: { 'batch-size': '-5' }, input: 'batch-size', message: /got '-5'$/ },
  { name: 'batch-size 1e2', inputs: { 'batch-size': '1e2' }, input: 'batch-size', message: /got '1e2'$/ },
  {
    name: 'wait-timeout 0',
    inputs: { 'wait-timeout': '0' },
    input: 'wait-timeout',
    message: "must be a whole number from 1 to 21600, got '0'",
  },
  {
    name: 'wait-timeout 21601',
    inputs: { 'wait-timeout': '21601' },
    input: 'wait-timeout',
    message: /from 1 to 21600, got '21601'$/,
  },
  {
    name: 'wait-timeout 30s',
    inputs: { 'wait-timeout': '30s' },
    input: 'wait-timeout',
    message: /got '30s'$/,
  },
  {
    name: 'poll-interval 0',
    inputs: { 'poll-interval': '0' },
    input: 'poll-interval',
    message: "must be a whole number from 1 to 300, got '0'",
  },
  {
    name: 'poll-interval 301',
    inputs: { 'poll-interval': '301' },
    input: 'poll-interval',
    message: /got '301'$/,
  },
  {
    name: 'poll-interval 0x10',
    inputs: { 'poll-interval': '0x10' },
    input: 'poll-interval',
    message: /got '0x10'$/,
  },
  // booleans (each validated even when this run would not use it)
  {
    name: 'wait yes',
    inputs: { wait: 'yes' },
    input: 'wait',
    message: "must be true or false (also True, TRUE, False, FALSE), got 'yes'",
  },
  {
    name: 'strict-layout without file',
    inputs: { 'strict-layout': 'on' },
    input: 'strict-layout',
    message: /got 'on'$/,
  },
  {
    name: 'skip-unchanged 1',
    inputs: { 'skip-unchanged': '1' },
    input: 'skip-unchanged',
    message: /got '1'$/,
  },
  { name: 'dry-run tRUE', inputs: { 'dry-run': 'tRUE' }, input: 'dry-run', message: /got 'tRUE'$/ },
  { name: 'summary no', inputs: { summary: 'no' }, input: 'summary', message: /got 'no'$/ },
  // endpoints
  {
    name: 'http endpoint to a remote host',
    inputs: { 'cph-endpoint': 'http://cph.example.com' },
    input: 'cph-endpoint',
    message:
      "uses http:// to 'cph.example.com', which is not a loopback host (127.0.0.0/8, ::1, localhost); " +
      'use https:// so signed requests never leave the machine in clear text',
  },
  {
    name: 'http endpoint to a private IP',
    inputs: { 'obs-endpoint': 'http://10.0.0.1:9000' },
    input: 'obs-endpoint',
    message: /uses http:\/\/ to '10\.0\.0\.1', which is not a loopback host/,
  },
  {
    name: 'http endpoint to localhost lookalike',
    inputs: { 'iam-endpoint': 'http://localhost.evil.example' },
    input: 'iam-endpoint',
    message: /not a loopback host/,
  },
  {
    name: 'http endpoint to ::2',
    inputs: { 'iam-endpoint': 'http://[::2]/' },
    input: 'iam-endpoint',
    message: /uses http:\/\/ to '\[::2\]'/,
  },
  {
    name: 'ftp endpoint',
    inputs: { 'cph-endpoint': 'ftp://cph.example.com' },
    input: 'cph-endpoint',
    message: "must start with https:// (http:// only for a loopback host), got 'ftp://cph.example.com'",
  },
  {
    name: 'endpoint without scheme',
    inputs: { 'cph-endpoint': 'cph.cn-east-3.myhuaweicloud.com' },
    input: 'cph-endpoint',
    message: "must be an absolute URL such as 'https://host', got 'cph.cn-east-3.myhuaweicloud.com'",
  },
  {
    name: 'endpoint host:port without scheme',
    inputs: { 'obs-endpoint': 'localhost:9000' },
    input: 'obs-endpoint',
    message: /must start with https:\/\//,
  },
  {
    name: 'endpoint with user and password',
    inputs: { 'obs-endpoint': 'https://user:SECRET-PW@obs.example.com' },
    input: 'obs-endpoint',
    message: 'must not contain a user name or password; pass credentials through the credential inputs',
    secret: 'SECRET-PW',
  },
  {
    name: 'endpoint with a query',
    inputs: { 'cph-endpoint': 'https://cph.example.com/?a=1' },
    input: 'cph-endpoint',
    message: "must not have a query or fragment, got 'https://cph.example.com/?a=1'",
  },
  {
    name: 'endpoint with an empty query',
    inputs: { 'cph-endpoint': 'https://cph.example.com?' },
    input: 'cph-endpoint',
    message: /must not have a query or fragment/,
  },
  {
    name: 'endpoint with a fragment',
    inputs: { 'iam-endpoint': 'https://iam.example.com/#x' },
    input: 'iam-endpoint',
    message: /must not have a query or fragment/,
  },
  {
    name: 'endpoint with a path',
    inputs: { 'cph-endpoint': 'https://cph.example.com/v1' },
    input: 'cph-endpoint',
    message:
      "must be a base URL without a path (such as 'https://host:port'), got 'https://cph.example.com/v1'",
  },
  {
    name: 'endpoint with inner white space',
    inputs: { 'obs-endpoint': 'https://obs.exa\tmple.com' },
    input: 'obs-endpoint',
    message: "must be printable ASCII without spaces or line breaks, got 'https://obs.exa\\tmple.com'",
  },
];

describe('readConfig: bad inputs', () => {
  it('has a large table', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(45);
  });

  it.each(BAD_INPUTS)('$name → $input', ({ inputs, env, input, message, secret }) => {
    const problems = problemsOf(inputs, env);
    expect(problems.map((p) => p.input)).toEqual([input]);
    if (typeof message === 'string') expect(problems[0]!.message).toBe(message);
    else expect(problems[0]!.message).toMatch(message);
    expectNoSecretIn(problems, ...(secret ? [secret] : []));
  });

  it('reports every problem at once, in input order and the knobs last, in one InputError', () => {
    let error: unknown;
    try {
      readConfig(
        source(
          {
            region: 'nowhere',
            'secret-access-key': '',
            bucket: 'B',
            'server-names': '游戏 生产',
            'batch-size': '0',
            'upload-concurrency': '65',
            prune: 'true',
            'strict-layout': 'maybe',
            'cph-endpoint': 'http://example.com',
          },
          { CPH_PUBLISH_MAX_ATTEMPTS: '0' },
        ).src,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const { problems, message } = error as InputError;
    expect(problems.map((p) => p.input)).toEqual([
      'secret-access-key',
      'region',
      'bucket',
      'server-names',
      'batch-size',
      'upload-concurrency',
      'strict-layout',
      'prune',
      'cph-endpoint',
      'env CPH_PUBLISH_MAX_ATTEMPTS',
    ]);
    expect(message.split('\n')).toHaveLength(10);
    expect(message).toContain("input 'batch-size': must be a whole number from 1 to 100, got '0'");
    expect(message).toContain(
      "input 'env CPH_PUBLISH_MAX_ATTEMPTS': must be a whole number from 1 to 10, got '0'",
    );
    expect(message).toContain(
      "input 'upload-concurrency': must be 'auto' or a whole number from 1 to 64, got '65'",
    );
  });

  it('still validates explicit endpoints when the region is missing', () => {
    const problems = problemsOf({
      region: '',
      'obs-endpoint': 'http://obs.example.com',
      'cph-endpoint': 'https://ok.example.com',
    });
    expect(problems.map((p) => p.input)).toEqual(['region', 'obs-endpoint']);
  });

  it('still checks server ids in the input when the server-ids-file is bad', () => {
    const problems = problemsOf({ 'server-ids': 'a_b', 'server-ids-file': 'broken.json' });
    expect(problems.map((p) => p.input)).toEqual(['server-ids', 'server-ids-file']);
  });
});

describe('readConfig: secrets', () => {
  const everythingBad = {
    region: 'x',
    bucket: 'X',
    'object-path': '/x',
    'server-ids': '',
    'batch-size': 'x',
    wait: 'x',
    'cph-endpoint': 'x',
    file: 'x',
  };

  it('hands AK, SK and token to onSecret before throwing for other inputs', () => {
    const { src, secrets } = source({ ...everythingBad, 'security-token': TOKEN });
    expect(() => readConfig(src)).toThrow(InputError);
    expect(secrets).toEqual([AK, SK, TOKEN]);
  });

  it('hands over secrets found in the environment, and bad ones too', () => {
    const badSk = 'sk with SECRET-SPACES';
    const { src, secrets } = source(
      { ...everythingBad, 'access-key-id': '', 'secret-access-key': '' },
      {
        HUAWEICLOUD_SDK_AK: AK,
        HUAWEI_CLOUD_SECRET_ACCESS_KEY: badSk,
        HUAWEICLOUD_SDK_SECURITY_TOKEN: TOKEN,
      },
    );
    expect(() => readConfig(src)).toThrow(InputError);
    expect(secrets).toEqual([AK, badSk, TOKEN]);
  });

  it('also hands over each line of a multi-line secret', () => {
    const { src, secrets } = source({ 'secret-access-key': 'first-line\r\n  second-line\n' });
    expect(() => readConfig(src)).toThrow(InputError);
    expect(secrets).toEqual([AK, 'first-line\r\n  second-line', 'first-line', 'second-line']);
  });

  it('never puts a secret in a message, whatever the inputs', () => {
    const text = fc.string({ maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record({
          region: text,
          'project-id': text,
          bucket: text,
          'object-path': text,
          'server-ids': text,
          'batch-size': text,
          wait: text,
          'cph-endpoint': text,
          'obs-endpoint': fc.constantFrom('', 'http://u:p@10.0.0.1', 'https://SECRET@obs.example.com/x?y#z'),
          'secret-access-key': text.map((s) => `SECRET${s}`),
          'security-token': text.map((s) => `TOKEN${s}SECRET`),
        }),
        (inputs) => {
          try {
            readConfig(source(inputs).src);
          } catch (error) {
            expect(error).toBeInstanceOf(InputError);
            const { message } = error as InputError;
            expect(message).not.toContain(inputs['secret-access-key'].trim());
            expect(message).not.toContain(inputs['security-token'].trim());
          }
        },
      ),
      { numRuns: fuzzRuns(300) },
    );
  });
});
