/**
 * Cancelling a workflow: the runner sends SIGINT (then SIGTERM, then kills). The action starts
 * nothing new, aborts a multipart upload in progress, lets a push already sent finish (it cannot
 * be recalled), skips the rest, writes outputs and summary, and exits with a failure within 5 s.
 * Signals are sent when the emulator has *received* a given request (an event, not a time window);
 * that request is held by a `delay` fault so the signal surely lands while it is in flight.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type Op, startEmulator } from '../emulator/index.js';
import {
  BUCKET,
  baseInputs,
  failureLine,
  jobsOutput,
  OBJECT,
  run,
  serverIds,
} from '../helpers/action-fixture.js';
import type { RunOptions } from '../helpers/run-action.js';
import { buildTar } from '../helpers/tar-builder.js';

type ActionProcess = Parameters<NonNullable<RunOptions['onSpawn']>>[0];

let emu: Emulator;
let dir: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 60_000 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-cancel-e2e-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  // Without `file` the action reads the object (HEAD) before the first push.
  emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

/** The report file the run left in its RUNNER_TEMP (kept by the helper, by name). */
function reportFile(result: {
  outputs: Record<string, string>;
  runnerTemp: Record<string, string>;
}): unknown {
  return JSON.parse(result.runnerTemp[path.basename(result.outputs['report-file'] ?? '')] ?? 'null');
}

/** Resolves once the emulator has received `count` requests of `op` (checked as requests arrive). */
async function received(op: Op, count = 1): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (emu.requestsFor(op).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the emulator never received ${count} ${op} request(s)`);
}

/** Sends `signal` to the action once `when` resolves; records how long the action took to exit after it. */
function signalWhen(when: () => Promise<void>, signal: NodeJS.Signals) {
  const timing = { sentAt: 0, exitedAfterMs: Number.NaN };
  const onSpawn = (child: ActionProcess) => {
    child.on('exit', () => {
      if (timing.sentAt) timing.exitedAfterMs = Date.now() - timing.sentAt;
    });
    when().then(
      () => {
        timing.sentAt = Date.now();
        child.kill(signal);
      },
      () => child.kill('SIGKILL'),
    );
  };
  return { onSpawn, timing };
}

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i + 4 <= size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

describe('cancellation', () => {
  it('SIGTERM during the wait: stops polling, keeps the pushed jobs as running, writes outputs and summary, exits within 5 s', async () => {
    emu.faults.add({ op: 'ListJobs', times: 1, action: { kind: 'delay', ms: 20_000 } });
    const { onSpawn, timing } = signalWhen(() => received('ListJobs'), 'SIGTERM');
    const result = await run({ inputs: baseInputs(emu), onSpawn });

    expect(result.code).toBe(1);
    expect(timing.exitedAfterMs).toBeLessThan(5000);
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGTERM\)/);
    expect(result.stdout).toContain('::warning::Received SIGTERM: cancelling');
    expect(jobsOutput(result).map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'running'],
      ['srv-0002', 'running'],
      ['srv-0003', 'running'],
    ]);
    expect(JSON.parse(result.outputs['job-ids'] ?? '[]')).toHaveLength(3);
    expect(result.outputs['skipped-server-ids']).toBe('[]');
    expect(result.summary).toMatch(/^## cph-publish cancelled: 0 of 3 servers succeeded/);
    // One push, and nothing after the signal but the poll that was in flight.
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
    expect(emu.requestsFor('ListJobs')).toHaveLength(1);
  });

  it('SIGINT while a push batch is in flight: that batch completes, later batches are skipped, no wait', async () => {
    emu.faults.add({ op: 'PushShareFiles', times: 1, action: { kind: 'delay', ms: 1500 } });
    const ids = serverIds(5);
    const { onSpawn, timing } = signalWhen(() => received('PushShareFiles'), 'SIGINT');
    const result = await run({
      inputs: baseInputs(emu, { 'server-ids': ids.join(','), 'batch-size': '2' }),
      onSpawn,
    });

    expect(result.code).toBe(1);
    expect(timing.exitedAfterMs).toBeLessThan(5000);
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGINT\)/);
    // The push already sent is not recalled: its servers have jobs and stay running.
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(1);
    expect(emu.requestsFor('PushShareFiles')[0]?.body).toEqual({
      bucket_name: BUCKET,
      object_path: OBJECT,
      server_ids: ['srv-0001', 'srv-0002'],
    });
    const jobs = jobsOutput(result);
    expect(jobs.map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'running'],
      ['srv-0002', 'running'],
      ['srv-0003', 'skipped'],
      ['srv-0004', 'skipped'],
      ['srv-0005', 'skipped'],
    ]);
    expect(jobs[2]?.error_msg).toBe('not pushed: the run was cancelled');
    expect(JSON.parse(result.outputs['skipped-server-ids'] ?? '')).toEqual([
      'srv-0003',
      'srv-0004',
      'srv-0005',
    ]);
    expect(JSON.parse(result.outputs['request-ids'] ?? '')).toHaveLength(1);
    expect(emu.requestsFor('ListJobs')).toHaveLength(0);
    expect(result.summary).toMatch(/^## cph-publish cancelled/);
  });

  it('SIGINT while the last push is in flight: the run is cancelled everywhere, its jobs stay running', async () => {
    emu.faults.add({ op: 'PushShareFiles', times: 1, action: { kind: 'delay', ms: 1500 } });
    const { onSpawn, timing } = signalWhen(() => received('PushShareFiles'), 'SIGINT');
    const result = await run({ inputs: baseInputs(emu, { 'server-ids': 'srv-0001,srv-0002' }), onSpawn });

    expect(result.code).toBe(1);
    expect(timing.sentAt).toBeGreaterThan(0);
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGINT\)/);
    expect(jobsOutput(result).map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'running'],
      ['srv-0002', 'running'],
    ]);
    expect(result.summary).toMatch(/^## cph-publish cancelled: 0 of 2 servers succeeded/);
    expect(reportFile(result)).toMatchObject({ outcome: 'cancelled', cancelled: true });
    expect(emu.requestsFor('ListJobs')).toHaveLength(0);
  });

  it('SIGINT while stage 2 of 3 is being pushed: stopped after stage 2, stage 3 skipped, with the right numbers', async () => {
    emu.phones.set('srv-0001', { durationMs: 20 });
    // The first push (stage 1) goes through; the second (stage 2) is held while the signal lands.
    emu.faults.add({ op: 'PushShareFiles', times: 1, action: { kind: 'delay', ms: 1 } });
    emu.faults.add({ op: 'PushShareFiles', times: 1, action: { kind: 'delay', ms: 1500 } });
    const { onSpawn } = signalWhen(() => received('PushShareFiles', 2), 'SIGINT');
    const result = await run({
      inputs: baseInputs(emu, { 'server-ids': 'srv-0001,srv-0002,srv-0003', rollout: '1, 2' }),
      onSpawn,
    });

    expect(result.code).toBe(1);
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGINT\)/);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(2);
    const jobs = jobsOutput(result) as Array<
      ReturnType<typeof jobsOutput>[number] & { stage: number | null }
    >;
    expect(jobs.map((j) => [j.server_id, j.stage, j.status])).toEqual([
      ['srv-0001', 1, 'succeeded'],
      ['srv-0002', 2, 'running'],
      ['srv-0003', 3, 'skipped'],
    ]);
    expect(jobs[2]?.error_msg).toBe('not pushed: the rollout stopped after stage 2: the run was cancelled');
    expect(result.stdout).toContain(
      '::warning::The rollout stopped after stage 2 of 3: the run was cancelled; 1 skipped',
    );
    expect(result.summary).toContain(
      'The rollout stopped after stage 2 of 3: the run was cancelled; 1 skipped',
    );
    expect(reportFile(result)).toMatchObject({
      outcome: 'cancelled',
      cancelled: true,
      rollout: { stages: 3, stopped_after_stage: 2, stop_reason: 'the run was cancelled' },
    });
  });

  it('SIGINT during a multipart upload: the upload is aborted, nothing is pushed, outputs are written', async () => {
    const file = path.join(dir, 'big.tar');
    writeFileSync(file, buildTar([{ path: 'data/big.bin', content: bytes(40 * MiB, 7) }]));
    emu.obs.deleteObject(BUCKET, OBJECT);
    emu.faults.add({ op: 'UploadPart', times: 1, partNumber: 2, action: { kind: 'delay', ms: 20_000 } });
    const { onSpawn, timing } = signalWhen(async () => {
      await received('UploadPart', 2);
    }, 'SIGINT');
    const result = await run({ inputs: baseInputs(emu, { file, 'upload-concurrency': '2' }), onSpawn });

    expect(result.code).toBe(1);
    expect(timing.exitedAfterMs).toBeLessThan(5000);
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGINT\)/);
    expect(emu.requestsFor('InitiateMultipartUpload')).toHaveLength(1);
    expect(emu.requestsFor('AbortMultipartUpload').map((r) => r.status)).toEqual([204]);
    expect([...emu.obs.uploads.values()]).toEqual([]);
    expect(emu.obs.getObject(BUCKET, OBJECT)).toBeUndefined();
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    expect(result.outputs.uploaded).toBe('false');
    // Every chosen server is in every output, skipped with the reason.
    expect(jobsOutput(result).map((j) => [j.server_id, j.status, j.error_msg])).toEqual([
      ['srv-0001', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-0002', 'skipped', 'not pushed: the run was cancelled'],
      ['srv-0003', 'skipped', 'not pushed: the run was cancelled'],
    ]);
    expect(JSON.parse(result.outputs['skipped-server-ids'] ?? '')).toEqual([
      'srv-0001',
      'srv-0002',
      'srv-0003',
    ]);
    expect(result.summary).toMatch(/^## cph-publish cancelled: 0 of 3 servers succeeded/);
    expect(result.summary).toContain('not uploaded: the upload was cancelled');
    expect(result.summary).not.toContain('stopped before the upload');
    expect(reportFile(result)).toMatchObject({ outcome: 'cancelled', cancelled: true });
  });
  it('SIGINT while the run waits for the SHA-256 of a big file: the hashing stops, nothing is sent to OBS', async () => {
    // A sparse 8 GiB tar (one header, then zeros): many seconds of hashing on any machine.
    const file = path.join(dir, 'huge.tar');
    const size = 8 * 1024 * MiB;
    writeFileSync(file, buildTar([{ path: 'data/zeros', size, content: '' }], { endBlocks: 0 }));
    truncateSync(file, 512 + size + 1024);
    emu.obs.deleteObject(BUCKET, OBJECT);
    let stdout = '';
    const { onSpawn, timing } = signalWhen(async () => {
      for (let i = 0; i < 6000 && !stdout.includes('3 servers chosen'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }, 'SIGINT');
    const result = await run({
      inputs: baseInputs(emu, { file }),
      onSpawn: (child) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        onSpawn(child);
      },
    });

    expect(result.code).toBe(1);
    expect(timing.exitedAfterMs).toBeLessThan(5000);
    expect(result.stdout).toMatch(
      /huge\.tar: 1 entry, 8192\.0 MiB of file data, top level: data; checked in/,
    );
    expect(result.stdout).not.toContain('SHA-256 of');
    expect(failureLine(result)).toMatch(/^::error::cph-publish: the run was cancelled \(SIGINT\)/);
    expect(emu.requests.filter((r) => r.service === 'OBS')).toEqual([]);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    expect(result.outputs.uploaded).toBe('false');
    expect(jobsOutput(result).map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'skipped'],
      ['srv-0002', 'skipped'],
      ['srv-0003', 'skipped'],
    ]);
    expect(reportFile(result)).toMatchObject({ outcome: 'cancelled', cancelled: true });
  });
});
