/**
 * The fault matrix: every kind of request the action makes, meeting throttling, server errors,
 * dropped and refused connections, slow answers, malformed bodies, clock skew and odd IAM answers.
 * One test per cell. Each checks the outcome (exit code, outputs, failure line), what the emulator
 * saw (requests per operation and their statuses), and that nothing was lost or left behind.
 * docs/reliability.md has the same matrix as a table.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  apigError,
  type Emulator,
  type FaultAction,
  type Op,
  obsError,
  startEmulator,
} from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, jobsOutput, OBJECT, run } from '../helpers/action-fixture.js';
import { expectNothingLeftBehind, settled, statusesOf } from '../helpers/emulator-checks.js';
import type { ActionRun } from '../helpers/run-action.js';
import { buildTar } from '../helpers/tar-builder.js';

const MiB = 1024 * 1024;
const SERVERS = ['srv-0001', 'srv-0002'];
/** Request deadline for the slow-answer cells, against a 1500 ms delay. */
const SHORT_TIMEOUT = { CPH_PUBLISH_REQUEST_TIMEOUT_MS: '500' };

let emu: Emulator;
let dir: string;
let small: { file: string; md5: string };
let big: { file: string; md5: string };

function tarFile(name: string, size: number): { file: string; md5: string } {
  const content = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) content.writeUInt32LE((i * 2654435761) >>> 0, i);
  const data = buildTar([
    { path: 'data/', type: 'directory' },
    { path: 'data/game.bin', content },
  ]);
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return { file, md5: createHash('md5').update(data).digest('hex') };
}

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 100 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-faults-e2e-'));
  small = tarFile('small.tar', 64 * 1024);
  // Over 16 MiB: multipart, two parts (16 MiB + the rest).
  big = tarFile('big.tar', 17 * MiB);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

type Kind =
  | 'ListProjects'
  | 'PushShareFiles'
  | 'ListJobs'
  | 'ShowJob'
  | 'HeadObject'
  | 'PutObject'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload';

interface Scenario {
  /** Inputs beyond baseInputs. */
  inputs: Record<string, string>;
  /** The step waits for the jobs (else they end as `submitted`). */
  waits: boolean;
  /** The tar this scenario uploads, if any. */
  upload?: () => { file: string; md5: string };
  /** Fault rules on UploadPart hit this part only. */
  partNumber?: number;
  /** The operation's answer when no fault hits it. */
  okStatus: number;
  /** How the action names the operation in its log lines. */
  logName: string;
  prepare?: () => void;
}

const servers = SERVERS.join(',');
const SCENARIOS: Record<Kind, Scenario> = {
  ListProjects: {
    inputs: { 'project-id': '', wait: 'false', 'server-ids': servers },
    waits: false,
    okStatus: 200,
    logName: 'IAM KeystoneListProjects',
  },
  PushShareFiles: {
    inputs: { wait: 'false', 'server-ids': servers },
    waits: false,
    okStatus: 200,
    logName: 'CPH PushShareFiles',
  },
  ListJobs: {
    inputs: { 'server-ids': servers },
    waits: true,
    okStatus: 200,
    logName: 'CPH ListJobs',
  },
  ShowJob: {
    inputs: { 'server-ids': servers },
    waits: true,
    okStatus: 200,
    logName: 'CPH ShowJob',
    // A job missing from ListJobs is looked up with ShowJob.
    prepare: () => emu.phones.set('srv-0001', { hiddenFromList: true, durationMs: 100 }),
  },
  HeadObject: {
    inputs: { wait: 'false', 'server-ids': servers, 'skip-unchanged': 'true' },
    waits: false,
    upload: () => small,
    // The key holds other bytes (seeded): HEAD finds it, the upload goes ahead.
    okStatus: 200,
    logName: 'OBS HeadObject',
  },
  PutObject: {
    inputs: { wait: 'false', 'server-ids': servers, 'skip-unchanged': 'false' },
    waits: false,
    upload: () => small,
    okStatus: 200,
    logName: 'OBS PutObject',
  },
  InitiateMultipartUpload: {
    inputs: { wait: 'false', 'server-ids': servers, 'skip-unchanged': 'false' },
    waits: false,
    upload: () => big,
    okStatus: 200,
    logName: 'OBS InitiateMultipartUpload',
  },
  UploadPart: {
    inputs: { wait: 'false', 'server-ids': servers, 'skip-unchanged': 'false' },
    waits: false,
    upload: () => big,
    partNumber: 2,
    okStatus: 200,
    logName: 'OBS UploadPart',
  },
  CompleteMultipartUpload: {
    inputs: { wait: 'false', 'server-ids': servers, 'skip-unchanged': 'false' },
    waits: false,
    upload: () => big,
    okStatus: 200,
    logName: 'OBS CompleteMultipartUpload',
  },
};

const OBS_KINDS = new Set<Kind>([
  'HeadObject',
  'PutObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
]);

function inputsFor(kind: Kind, extra: Record<string, string> = {}): Record<string, string> {
  const scenario = SCENARIOS[kind];
  const upload = scenario.upload?.();
  return baseInputs(emu, { ...scenario.inputs, ...(upload ? { file: upload.file } : {}), ...extra });
}

function addFault(kind: Kind, action: FaultAction, times: number): void {
  const { partNumber } = SCENARIOS[kind];
  emu.faults.add({ op: kind as Op, times, action, ...(partNumber ? { partNumber } : {}) });
}

/** Requests of the faulted operation (only the faulted part for UploadPart). */
function faulted(kind: Kind): number[] {
  const { partNumber } = SCENARIOS[kind];
  return statusesOf(
    emu,
    kind as Op,
    (r) => partNumber === undefined || r.query.partNumber === String(partNumber),
  );
}

async function runKind(
  kind: Kind,
  extraInputs: Record<string, string> = {},
  env: Record<string, string> = {},
) {
  SCENARIOS[kind].prepare?.();
  const result = await run({ inputs: inputsFor(kind, extraInputs), env });
  await settled(emu);
  return result;
}

/** A run that ended well despite the fault: every server done, the object right, one push per batch. */
function expectSuccess(kind: Kind, result: ActionRun): void {
  const scenario = SCENARIOS[kind];
  expect(result.code, result.stdout).toBe(0);
  expect(failureLine(result)).toBe('');
  const jobs = jobsOutput(result);
  expect(jobs.map((j) => j.server_id)).toEqual(SERVERS);
  expect(jobs.map((j) => j.status)).toEqual(SERVERS.map(() => (scenario.waits ? 'succeeded' : 'submitted')));
  expect(JSON.parse(result.outputs['failed-server-ids'] ?? 'null')).toEqual([]);
  const pushes = emu.requestsFor('PushShareFiles');
  // Only a PushShareFiles scenario may have refused pushes before the one that went through.
  const refused = kind === 'PushShareFiles' ? pushes.slice(0, -1).map((p) => p.status) : [];
  expect(pushes.map((p) => p.status)).toEqual([...refused, 200]);
  expect(refused.every((status) => status === 429 || status === 503)).toBe(true);
  expect(emu.cph.pushes).toHaveLength(1);
  expect(emu.cph.pushes[0]?.serverIds).toEqual(SERVERS);
  const upload = scenario.upload?.();
  if (upload) {
    expect(result.outputs.uploaded).toBe('true');
    expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(upload.md5);
  }
  expectNothingLeftBehind(emu);
}

const ALL_KINDS = Object.keys(SCENARIOS) as Kind[];

function throttle(kind: Kind, status: 429 | 503): FaultAction {
  if (OBS_KINDS.has(kind))
    return status === 429 ? obsError(429, 'TooManyRequests') : obsError(503, 'ServiceUnavailable');
  return status === 429 ? apigError(429, 'APIG.0308') : apigError(503, 'APIG.0202');
}

function serverError(kind: Kind, status: 500 | 502): FaultAction {
  if (OBS_KINDS.has(kind))
    return status === 500 ? obsError(500, 'InternalError') : obsError(502, 'BadGateway');
  return status === 500 ? apigError(500, 'CPS.0000', 'Internal error.') : apigError(502, 'APIG.0202');
}

const READS: Kind[] = ['ListProjects', 'ListJobs', 'ShowJob', 'HeadObject'];

describe.each(ALL_KINDS)('%s', (kind) => {
  const scenario = SCENARIOS[kind];

  it.each([429, 503] as const)(`${kind} × %i burst → succeeds after retries`, async (status) => {
    addFault(kind, throttle(kind, status), 3);
    const result = await runKind(kind);
    expectSuccess(kind, result);
    expect(faulted(kind)).toEqual([status, status, status, scenario.okStatus]);
    expect(result.stdout).toContain(`${scenario.logName}: HTTP ${status}; retrying`);
  });

  if (READS.includes(kind)) {
    it.each([500, 502] as const)(`${kind} × %i → retried, succeeds`, async (status) => {
      addFault(kind, serverError(kind, status), 2);
      const result = await runKind(kind);
      expectSuccess(kind, result);
      expect(faulted(kind)).toEqual([status, status, scenario.okStatus]);
    });

    it(`${kind} × connection dropped before processing → retried, succeeds`, async () => {
      addFault(kind, { kind: 'drop' }, 1);
      const result = await runKind(kind);
      expectSuccess(kind, result);
      expect(faulted(kind)).toEqual([0, scenario.okStatus]);
      expect(emu.requestsFor(kind as Op)[0]?.fault).toBe('drop');
    });

    it(`${kind} × answer slower than the request timeout → retried, succeeds`, async () => {
      addFault(kind, { kind: 'delay', ms: 1500 }, 1);
      const result = await runKind(kind, {}, SHORT_TIMEOUT);
      expectSuccess(kind, result);
      // The slow answer comes after the client gave up; the retry got the real one.
      const requests = emu.requestsFor(kind as Op);
      expect(requests[0]?.fault).toBe('delay:1500');
      expect(requests[0]?.aborted).toBe(true);
      expect(requests.at(-1)?.status).toBe(scenario.okStatus);
      expect(result.stdout).toMatch(
        new RegExp(`${scenario.logName}: no complete answer from \\S+ within \\S+ s; retrying`),
      );
    });
  }
});

describe('PushShareFiles (must never run twice)', () => {
  it.each([500, 502] as const)(
    'PushShareFiles × %i → not retried, the step fails with the code and request id',
    async (status) => {
      addFault('PushShareFiles', serverError('PushShareFiles', status), Number.POSITIVE_INFINITY);
      const result = await runKind('PushShareFiles');
      expect(result.code).not.toBe(0);
      const pushes = emu.requestsFor('PushShareFiles');
      expect(pushes.map((p) => p.status)).toEqual([status]);
      const line = failureLine(result);
      expect(line).toContain(`HTTP ${status}`);
      expect(line).toContain(`error code ${pushes[0]?.errorCode}`);
      expect(line).toContain(`request id ${pushes[0]?.requestId}`);
      expect(result.stdout).not.toMatch(/PushShareFiles: .*retrying/);
      const jobs = jobsOutput(result);
      expect(jobs.map((j) => [j.server_id, j.status, j.error_code])).toEqual(
        SERVERS.map((id) => [id, 'rejected', pushes[0]?.errorCode]),
      );
      expect(JSON.parse(result.outputs['request-ids'] ?? 'null')).toEqual([]);
      expect(JSON.parse(result.outputs['failed-server-ids'] ?? 'null')).toEqual(SERVERS);
      expect(emu.requestsFor(['ListJobs', 'ShowJob'])).toEqual([]);
      expectNothingLeftBehind(emu);
    },
  );

  it('PushShareFiles × connection refused before the request was sent → retried, succeeds, one push', async () => {
    // The request before the push (the HEAD of the object) is answered, then the port is closed
    // until the action says it will retry: the POST met ECONNREFUSED, so it surely never left,
    // and may be sent again.
    emu.faults.add({ op: 'HeadObject', action: { kind: 'refuse-after' } });
    SCENARIOS.PushShareFiles.prepare?.();
    const result = await run({
      inputs: inputsFor('PushShareFiles', { 'project-id': '' }),
      env: { CPH_PUBLISH_RETRY_BASE_MS: '100', CPH_PUBLISH_MAX_ATTEMPTS: '10' },
      onLine: (line) => {
        if (/^CPH PushShareFiles: cannot reach .*\(ECONNREFUSED\); retrying/.test(line))
          void emu.listenAgain();
      },
    });
    await settled(emu);
    expectSuccess('PushShareFiles', result);
    expect(result.stdout).toMatch(/CPH PushShareFiles: cannot reach \S+: .*\(ECONNREFUSED\); retrying/);
    expect(emu.requests.map((r) => [r.op, r.status])).toEqual([
      ['ListProjects', 200],
      ['HeadObject', 200],
      ['PushShareFiles', 200],
    ]);
  });

  it('PushShareFiles × connection dropped after the request was sent → not repeated, fails saying it may have reached CPH', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'drop-after' } });
    const result = await runKind('PushShareFiles');
    expect(result.code).not.toBe(0);
    // CPH acted on it (jobs exist); the action did not push again.
    expect(emu.requestsFor('PushShareFiles').map((p) => [p.status, p.fault])).toEqual([[200, 'drop-after']]);
    expect(emu.cph.pushes).toHaveLength(1);
    expect(failureLine(result)).toMatch(
      /PushShareFiles.*may have reached the service, so it was not repeated/,
    );
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['rejected', 'rejected']);
    expectNothingLeftBehind(emu);
  });

  it('PushShareFiles × connection dropped as the request arrived → not repeated (the client cannot tell), fails', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'drop' } });
    const result = await runKind('PushShareFiles');
    expect(result.code).not.toBe(0);
    expect(emu.requestsFor('PushShareFiles').map((p) => p.fault)).toEqual(['drop']);
    expect(emu.cph.pushes).toHaveLength(0);
    expect(failureLine(result)).toMatch(/may have reached the service, so it was not repeated/);
    expectNothingLeftBehind(emu);
  });

  it('PushShareFiles × answer slower than the request timeout → not repeated, fails clearly', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: { kind: 'delay', ms: 1500 } });
    const result = await runKind('PushShareFiles', {}, SHORT_TIMEOUT);
    expect(result.code).not.toBe(0);
    const pushes = emu.requestsFor('PushShareFiles');
    expect(pushes).toHaveLength(1);
    // The slow push did happen, after the action gave up on it: repeating it would have pushed twice.
    expect(pushes[0]).toMatchObject({ fault: 'delay:1500', status: 200 });
    expect(emu.cph.pushes).toHaveLength(1);
    const line = failureLine(result);
    expect(line).toMatch(/CPH PushShareFiles failed: no complete answer from \S+ within 0\.\d s/);
    expect(line).toMatch(/may have reached the service, so it was not repeated/);
    expectNothingLeftBehind(emu);
  });
});

describe('OBS errors that are final (4xx)', () => {
  it.each([
    ['PutObject', 403, 'AccessDenied', 'Access Denied', /bucket policy/],
    ['InitiateMultipartUpload', 403, 'AccessDenied', 'Access Denied', /bucket policy/],
    ['UploadPart', 400, 'InvalidArgument', 'Invalid part.', /Invalid part/],
    [
      'CompleteMultipartUpload',
      400,
      'InvalidPart',
      'One or more of the specified parts could not be found.',
      /InvalidPart/,
    ],
  ] as const)(
    '%s × %i %s → not retried, fails, nothing left, nothing pushed',
    async (kind, status, code, msg, hint) => {
      addFault(kind, obsError(status, code, msg), Number.POSITIVE_INFINITY);
      const result = await runKind(kind);
      expect(result.code).not.toBe(0);
      expect(faulted(kind)).toEqual([status]);
      expect(result.stdout).not.toMatch(/retrying/);
      const line = failureLine(result);
      expect(line).toContain(`error code ${code}`);
      expect(line).toMatch(hint);
      const failed = emu.requestsFor(kind).find((r) => r.status === status);
      expect(line).toContain(`request id ${failed?.requestId}`);
      if (kind === 'UploadPart' || kind === 'CompleteMultipartUpload') {
        expect(statusesOf(emu, 'AbortMultipartUpload')).toEqual([204]);
      }
      expect(result.outputs.uploaded).toBe('false');
      expectNothingLeftBehind(emu, { uploadFailed: true });
    },
  );
});

const NOT_JSON: FaultAction = {
  kind: 'status',
  status: 200,
  body: '{not json',
  headers: { 'content-type': 'application/json' },
};

describe('malformed answers', () => {
  it('PushShareFiles × malformed JSON in a 200 → not repeated, fails naming the answer', async () => {
    emu.faults.add({ op: 'PushShareFiles', action: NOT_JSON });
    const result = await runKind('PushShareFiles');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'PushShareFiles')).toEqual([200]);
    const line = failureLine(result);
    expect(line).toMatch(/PushShareFiles failed: the answer is not a JSON object: \{not json/);
    expect(line).toContain(`request id ${emu.requestsFor('PushShareFiles')[0]?.requestId}`);
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['rejected', 'rejected']);
    expectNothingLeftBehind(emu);
  });

  it('ListProjects × malformed JSON in a 200 → fails naming the answer, nothing pushed', async () => {
    emu.faults.add({ op: 'ListProjects', action: NOT_JSON });
    const result = await runKind('ListProjects');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'ListProjects')).toEqual([200]);
    expect(failureLine(result)).toMatch(
      /IAM KeystoneListProjects failed: the answer is not a JSON object: \{not json/,
    );
    expect(emu.requestsFor('PushShareFiles')).toEqual([]);
    expectNothingLeftBehind(emu);
  });

  it('ListJobs × malformed JSON in a 200 once → that poll round is skipped with a warning, succeeds', async () => {
    emu.faults.add({ op: 'ListJobs', action: NOT_JSON });
    const result = await runKind('ListJobs');
    expectSuccess('ListJobs', result);
    expect(statusesOf(emu, 'ListJobs')).toEqual([200, 200]);
    expect(result.stdout).toMatch(
      /::warning::polling the jobs failed this round, will try again: .*not a JSON object/,
    );
  });

  it('InitiateMultipartUpload × malformed XML in a 200 → fails naming the answer, nothing pushed', async () => {
    emu.faults.add({
      op: 'InitiateMultipartUpload',
      action: {
        kind: 'status',
        status: 200,
        body: '<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>cph-bucket</Bu',
        headers: { 'content-type': 'application/xml' },
      },
    });
    const result = await runKind('InitiateMultipartUpload');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'InitiateMultipartUpload')).toEqual([200]);
    expect(emu.requestsFor('UploadPart')).toEqual([]);
    const line = failureLine(result);
    expect(line).toMatch(/OBS InitiateMultipartUpload failed/);
    expect(line).toMatch(/UploadId/);
    expect(line).toContain(`request id ${emu.requestsFor('InitiateMultipartUpload')[0]?.requestId}`);
    expect(result.outputs.uploaded).toBe('false');
    expectNothingLeftBehind(emu, { uploadFailed: true });
  });
});

const ERROR_IN_200 = obsError(200, 'InternalError', 'We encountered an internal error. Please try again.');

describe('multipart upload failures', () => {
  it('CompleteMultipartUpload × <Error> inside a 200 once → retried, succeeds', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', action: ERROR_IN_200 });
    const result = await runKind('CompleteMultipartUpload');
    expectSuccess('CompleteMultipartUpload', result);
    expect(statusesOf(emu, 'CompleteMultipartUpload')).toEqual([200, 200]);
    expect(result.stdout).toContain('OBS CompleteMultipartUpload: HTTP 200 with an <Error> body; retrying');
    expect(emu.requestsFor('AbortMultipartUpload')).toEqual([]);
  });

  it('CompleteMultipartUpload × <Error> inside every 200 → fails, the upload is aborted, nothing pushed', async () => {
    emu.faults.add({ op: 'CompleteMultipartUpload', times: Number.POSITIVE_INFINITY, action: ERROR_IN_200 });
    const result = await runKind('CompleteMultipartUpload', {}, { CPH_PUBLISH_MAX_ATTEMPTS: '3' });
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'CompleteMultipartUpload')).toEqual([200, 200, 200]);
    expect(statusesOf(emu, 'AbortMultipartUpload')).toEqual([204]);
    const line = failureLine(result);
    expect(line).toMatch(/OBS CompleteMultipartUpload failed: We encountered an internal error/);
    expect(line).toContain('error code InternalError');
    expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).not.toBe(big.md5);
    expect(result.outputs.uploaded).toBe('false');
    expectNothingLeftBehind(emu, { uploadFailed: true });
  });

  it('CompleteMultipartUpload × connection dropped after OBS completed it → the object is there: succeeds, one push', async () => {
    // OBS assembled the object but the answer was lost; the retry then meets NoSuchUpload. The
    // object is complete and right, so the upload succeeded and must not be reported as failed.
    emu.faults.add({ op: 'CompleteMultipartUpload', action: { kind: 'drop-after' } });
    const result = await runKind('CompleteMultipartUpload');
    expect(emu.requestsFor('CompleteMultipartUpload').map((r) => [r.status, r.fault])).toEqual([
      [200, 'drop-after'],
      [404, undefined],
    ]);
    expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(big.md5);
    expect(result.stdout).not.toMatch(/nothing was left in the bucket/);
    expectSuccess('CompleteMultipartUpload', result);
  });

  it('InitiateMultipartUpload × answer lost after the upload was created → retried, the stray upload aborted, zero open', async () => {
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    const result = await runKind('InitiateMultipartUpload');
    expectSuccess('InitiateMultipartUpload', result);
    const [lost, kept] = emu.requestsFor('InitiateMultipartUpload');
    expect([lost?.fault, kept?.status]).toEqual(['drop-after', 200]);
    expect(statusesOf(emu, 'ListMultipartUploads')).toEqual([200]);
    const aborted = emu.requestsFor('AbortMultipartUpload');
    expect(aborted.map((r) => r.status)).toEqual([204]);
    // The one aborted is not the one completed.
    const completed = emu.requestsFor('CompleteMultipartUpload')[0]?.query.uploadId;
    expect(aborted[0]?.query.uploadId).not.toBe(completed);
    expect(result.stdout).toMatch(
      /Aborted multipart upload \S+ of \S+, opened by a repeated InitiateMultipartUpload/,
    );
  });

  it('InitiateMultipartUpload × answer lost, then the upload fails → both uploads aborted, zero open, nothing pushed', async () => {
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    emu.faults.add({
      op: 'UploadPart',
      partNumber: 2,
      times: Number.POSITIVE_INFINITY,
      action: obsError(400, 'InvalidArgument'),
    });
    const result = await runKind('InitiateMultipartUpload');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'AbortMultipartUpload')).toEqual([204, 204]);
    expect(new Set(emu.requestsFor('AbortMultipartUpload').map((r) => r.query.uploadId)).size).toBe(2);
    expectNothingLeftBehind(emu, { uploadFailed: true });
  });

  it('InitiateMultipartUpload × answer lost, ListMultipartUploads × 403 → succeeds with a warning naming the permission', async () => {
    emu.faults.add({ op: 'InitiateMultipartUpload', action: { kind: 'drop-after' } });
    emu.faults.add({ op: 'ListMultipartUploads', action: obsError(403, 'AccessDenied') });
    const result = await runKind('InitiateMultipartUpload');
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/::warning::.*obs:bucket:ListBucketMultipartUploads/);
    // The stray stays (the action could not see it); the one in use was completed.
    expect(emu.obs.uploads.size).toBe(1);
    expect(emu.requestsFor('AbortMultipartUpload')).toEqual([]);
    emu.obs.reset({ keepObjects: true });
  });

  it('UploadPart × one part failing once → succeeds, that part sent twice', async () => {
    emu.faults.add({ op: 'UploadPart', partNumber: 2, action: obsError(500, 'InternalError') });
    const result = await runKind('UploadPart');
    expectSuccess('UploadPart', result);
    expect(statusesOf(emu, 'UploadPart', (r) => r.query.partNumber === '2')).toEqual([500, 200]);
    expect(statusesOf(emu, 'UploadPart', (r) => r.query.partNumber === '1')).toEqual([200]);
    // Both attempts carried the whole part.
    const attempts = emu.requestsFor('UploadPart').filter((r) => r.query.partNumber === '2');
    expect(new Set(attempts.map((r) => r.bodyMd5)).size).toBe(1);
  });

  it('UploadPart × one part dropped on every attempt → fails, the upload is aborted, nothing left, nothing pushed', async () => {
    emu.faults.add({
      op: 'UploadPart',
      partNumber: 1,
      times: Number.POSITIVE_INFINITY,
      action: { kind: 'drop' },
    });
    const result = await runKind('UploadPart', {}, { CPH_PUBLISH_MAX_ATTEMPTS: '3' });
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'UploadPart', (r) => r.query.partNumber === '1')).toEqual([0, 0, 0]);
    expect(statusesOf(emu, 'AbortMultipartUpload')).toEqual([204]);
    expect(emu.requestsFor('CompleteMultipartUpload')).toEqual([]);
    expect(emu.obs.uploads.size).toBe(0);
    expect(failureLine(result)).toMatch(/OBS UploadPart failed: cannot reach/);
    expect(result.stdout).toMatch(/Aborted multipart upload \S+; nothing was left in the bucket/);
    expectNothingLeftBehind(emu, { uploadFailed: true });
  });
});

describe('clock skew', () => {
  const SKEWS = [
    ['+20 min', 20 * 60 * 1000],
    ['-20 min', -20 * 60 * 1000],
  ] as const;

  it.each(SKEWS)(
    'OBS × server clock %s → RequestTimeTooSkewed, not retried, the failure names the clock',
    async (_name, skew) => {
      emu.settings.clockSkewMs = skew;
      const result = await runKind('HeadObject');
      expect(result.code).not.toBe(0);
      expect(emu.requests.map((r) => [r.op, r.status, r.errorCode])).toEqual([
        ['HeadObject', 403, 'RequestTimeTooSkewed'],
      ]);
      const line = failureLine(result);
      expect(line).toContain('RequestTimeTooSkewed');
      // The skew hint itself, not the credentials hint (which mentions the clock too).
      expect(line).toContain(
        "the runner's clock is more than 15 minutes off; check its time synchronisation",
      );
      expect(line).not.toContain('check access-key-id');
      expectNothingLeftBehind(emu, { uploadFailed: true });
    },
  );

  it.each(SKEWS)(
    'APIG × server clock %s → APIG.0301, not retried, the failure names the clock',
    async (_name, skew) => {
      emu.settings.clockSkewMs = skew;
      const result = await runKind('PushShareFiles');
      expect(result.code).not.toBe(0);
      // The HEAD before the push meets the skew first: a 403 there is one warning, and the run goes on.
      expect(emu.requests.map((r) => [r.op, r.status, r.errorCode])).toEqual([
        ['HeadObject', 403, 'RequestTimeTooSkewed'],
        ['PushShareFiles', 401, 'APIG.0301'],
      ]);
      const line = failureLine(result);
      expect(line).toContain('APIG.0301');
      // The gateway answers a skewed clock with APIG.0301, the code of a bad signature, so no
      // skew-only hint is possible: the hint for that code names both causes, keys and clock.
      expect(line).toContain(
        "check access-key-id and secret-access-key (and security-token for temporary credentials: it expires), and that the runner's clock is within 15 minutes of the real time",
      );
      expect(emu.cph.pushes).toHaveLength(0);
      expectNothingLeftBehind(emu);
    },
  );
});

describe('project lookup (project-id not given)', () => {
  it('IAM × zero projects named after the region → fails naming project-id, nothing pushed', async () => {
    emu.projects.length = 0;
    const result = await runKind('ListProjects');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'ListProjects')).toEqual([200]);
    const line = failureLine(result);
    expect(line).toMatch(/no project named 'cn-east-3'/);
    expect(line).toContain('project-id');
    expect(emu.requestsFor('PushShareFiles')).toEqual([]);
  });

  it('IAM × two projects named after the region → fails naming project-id, nothing pushed', async () => {
    emu.projects.push({ id: 'fedcba9876543210fedcba9876543210', name: 'cn-east-3' });
    const result = await runKind('ListProjects');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'ListProjects')).toEqual([200]);
    const line = failureLine(result);
    expect(line).toMatch(/2 projects are named 'cn-east-3'/);
    expect(line).toContain('project-id');
    expect(emu.requestsFor('PushShareFiles')).toEqual([]);
  });
});

describe('ListJobs failing mid-wait', () => {
  it('ListJobs × 503 for two whole poll rounds, then OK → succeeds', async () => {
    // One attempt a request: each 503 costs a whole round.
    emu.faults.add({ op: 'ListJobs', times: 2, action: apigError(503, 'APIG.0202') });
    const result = await runKind('ListJobs', {}, { CPH_PUBLISH_MAX_ATTEMPTS: '1' });
    expectSuccess('ListJobs', result);
    expect(statusesOf(emu, 'ListJobs')).toEqual([503, 503, 200]);
    expect(result.stdout.match(/::warning::polling the jobs failed this round/g)).toHaveLength(2);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
  });

  it('ListJobs × 403 forever → fails at once with the CPH error, not polled again', async () => {
    emu.faults.add({
      op: 'ListJobs',
      times: Number.POSITIVE_INFINITY,
      action: apigError(403, 'CPS.0004', 'The user has no permission to list jobs.'),
    });
    const result = await runKind('ListJobs');
    expect(result.code).not.toBe(0);
    expect(statusesOf(emu, 'ListJobs')).toEqual([403]);
    const line = failureLine(result);
    expect(line).toMatch(/CPH ListJobs failed: The user has no permission to list jobs\./);
    expect(line).toContain('error code CPS.0004');
    expect(line).toContain(`request id ${emu.requestsFor('ListJobs')[0]?.requestId}`);
    expect(line).toMatch(/CPH permissions/);
    // The push went through; its request id and jobs are still reported.
    expect(JSON.parse(result.outputs['request-ids'] ?? 'null')).toHaveLength(1);
    expect(JSON.parse(result.outputs['job-ids'] ?? 'null')).toHaveLength(2);
    expectNothingLeftBehind(emu);
  });
});
