/**
 * The ledger's I/O steps with their effects faked in memory (no socket): reading, skip-current,
 * manifests, prune per stage, writing with a concurrent writer, and the errors that end a run.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import type { JobOutcome, TrackedJob } from '../../../src/jobs/wait.js';
import {
  emptyLedger,
  type LedgerEntry,
  parseLedger,
  recordStage,
  serializeLedger,
} from '../../../src/ledger/ledger.js';
import { type Manifest, type ManifestEntry, serializeManifest } from '../../../src/ledger/manifest.js';
import type { DeleteJobEntry } from '../../../src/ledger/prune-step.js';
import {
  type LedgerDeps,
  type LedgerOptions,
  LedgerSession,
  LedgerSetupError,
} from '../../../src/ledger/session.js';

const V1 = '11'.repeat(32);
const V2 = '22'.repeat(32);
const V3 = '33'.repeat(32);
const KEY = 'state/cph-ledger.json';

function manifest(sha256: string, object: string, ...paths: string[]): Manifest {
  const entries: ManifestEntry[] = paths.map((p) =>
    p.endsWith('/') ? { path: p.slice(0, -1), type: 'dir', size: 0 } : { path: p, type: 'file', size: 1 },
  );
  return { format: 1, sha256, object, size: 100, entries };
}
const M1 = manifest(
  V1,
  'r/v1.tar',
  '/data/game/',
  '/data/game/a',
  '/data/game/old',
  '/data/game/lvl/',
  '/data/game/lvl/1',
);
const M2 = manifest(V2, 'r/v2.tar', '/data/game/', '/data/game/a', '/data/game/new');

function entry(sha256: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    object: `r/${sha256.slice(0, 2)}.tar`,
    sha256,
    size: 100,
    at: '2026-12-01T00:00:00.000Z',
    run: 'o/r/1/1',
    ref: 'refs/tags/v1',
    stale: [],
    ...extra,
  };
}

function ledgerText(servers: Record<string, LedgerEntry>): string {
  return JSON.stringify({ format: 1, servers });
}

function forbidden(operation: string, service: 'OBS' | 'CPH' = 'OBS'): ServiceError {
  return new ServiceError({
    service,
    operation,
    status: 403,
    code: service === 'OBS' ? 'AccessDenied' : 'APIG.0302',
    requestId: 'req-403',
    detail: 'Access Denied',
  });
}

/** An in-memory bucket and CPH; every effect recorded. */
function fakes(
  objects: Record<string, string> = {},
  options: {
    failGet?: Record<string, ServiceError>;
    failPut?: Record<string, ServiceError>;
    failDelete?: (call: number) => ServiceError | undefined;
    jobStates?: Record<string, JobOutcome['state']>;
    rejectServer?: string;
    beforePut?: (key: string) => void;
  } = {},
) {
  const bucket = new Map(Object.entries(objects));
  const log: string[] = [];
  const warnings: string[] = [];
  const deletes: Array<{ serverIds: string[]; filePaths: string[] }> = [];
  let jobSeq = 0;
  const deps: LedgerDeps = {
    objects: {
      async getObjectText(key) {
        log.push(`GET ${key}`);
        const fail = options.failGet?.[key];
        if (fail) throw fail;
        const body = bucket.get(key);
        return body === undefined ? null : { body };
      },
      async putObjectText(key, text) {
        log.push(`PUT ${key}`);
        options.beforePut?.(key);
        const fail = options.failPut?.[key];
        if (fail) throw fail;
        bucket.set(key, text);
      },
      async headObject(key) {
        log.push(`HEAD ${key}`);
        return bucket.has(key) ? {} : undefined;
      },
    },
    async deleteShareFiles(serverIds, filePaths) {
      const n = deletes.length;
      log.push(`DELETE ${serverIds.join(',')} ${filePaths.join(',')}`);
      deletes.push({ serverIds, filePaths });
      const fail = options.failDelete?.(n);
      if (fail) throw fail;
      const jobs: DeleteJobEntry[] = serverIds.map((id) =>
        id === options.rejectServer
          ? { server_id: id, job_id: null, error_code: 'CPS.0005', error_msg: 'Phone not found.' }
          : { server_id: id, job_id: `job-${id}-${++jobSeq}`, error_code: null, error_msg: null },
      );
      return { requestId: `del-${n + 1}`, jobs };
    },
    async waitForJobs(jobs: TrackedJob[]) {
      log.push(`WAIT ${jobs.length}`);
      const outcomes = new Map<string, JobOutcome>();
      for (const job of jobs) {
        const state = options.jobStates?.[job.serverId] ?? 'succeeded';
        outcomes.set(job.jobId, {
          state,
          errorCode: state === 'failed' ? 'CPS.0216' : null,
          errorMsg: state === 'failed' ? 'Delete share file failed.' : null,
        });
      }
      return { outcomes, timedOut: false };
    },
    warn: (m) => warnings.push(m),
    info: () => {},
    now: () => new Date('2026-12-03T12:00:00.000Z'),
  };
  return { bucket, log, warnings, deletes, deps };
}

function opts(extra: Partial<LedgerOptions> = {}): LedgerOptions {
  return {
    bucket: 'cph-bucket',
    key: KEY,
    object: 'r/v2.tar',
    sha256: V2,
    size: 100,
    skipCurrent: true,
    prune: false,
    batchSize: 100,
    manifest: undefined,
    run: 'o/r/2/1',
    ref: 'refs/tags/v2',
    ...extra,
  };
}

const mkey = (sha: string) => `state/manifests/${sha}.json`;

describe('LedgerSession.open', () => {
  it('a missing ledger is an empty one: nothing is current, everything is pushed', async () => {
    const f = fakes();
    const session = await LedgerSession.open(['s1', 's2'], opts(), f.deps);
    expect(session.current).toEqual([]);
    expect(session.toPush).toEqual(['s1', 's2']);
    expect(session.heldBefore).toEqual({ top: [], other: 0, unknown: 2 });
    expect(f.log).toEqual([`GET ${KEY}`]);
  });

  it('sets aside the servers that hold this bundle, and reads each needed manifest once', async () => {
    const f = fakes({
      [KEY]: ledgerText({
        s1: entry(V2),
        s2: entry(V1),
        s3: entry(V1),
        s4: entry(V2, { stale: ['/data/x'] }),
        s5: entry(V3),
      }),
      [mkey(V1)]: serializeManifest(M1),
    });
    const session = await LedgerSession.open(
      ['s1', 's2', 's3', 's4', 's5', 's6'],
      opts({ prune: true, manifest: M2 }),
      f.deps,
    );
    expect(session.current.map((c) => c.serverId)).toEqual(['s1']);
    expect(session.toPush).toEqual(['s2', 's3', 's4', 's5', 's6']);
    expect(f.log).toEqual([`GET ${KEY}`, `GET ${mkey(V1)}`, `GET ${mkey(V3)}`]);
    expect(session.heldBefore.unknown).toBe(1);
    expect(session.previousOf('s2')).toEqual({ object: 'r/11.tar', sha256: V1 });
  });

  it('a ledger it cannot read ends the run, naming the key, the permission, the code and the request id', async () => {
    const f = fakes({}, { failGet: { [KEY]: forbidden('GetObject') } });
    const error = await LedgerSession.open(['s1'], opts(), f.deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toBe(
      'OBS GetObject failed: reading the ledger obs://cph-bucket/state/cph-ledger.json: Access Denied (HTTP 403, error code AccessDenied, request id req-403)',
    );
    expect((error as ServiceError).hint).toBe(
      'grant obs:object:GetObject on the ledger key (nothing was pushed), or remove the `ledger` input',
    );
  });

  it('a ledger of another format ends the run', async () => {
    const f = fakes({ [KEY]: '{"format":2,"servers":{}}' });
    await expect(LedgerSession.open(['s1'], opts(), f.deps)).rejects.toThrow(
      "ledger 'obs://cph-bucket/state/cph-ledger.json' cannot be used: its format is 2",
    );
  });

  it('prune needs the identity of the bundle, and its manifest', async () => {
    const f = fakes();
    await expect(
      LedgerSession.open(['s1'], opts({ prune: true, sha256: undefined }), f.deps),
    ).rejects.toThrow(LedgerSetupError);
    await expect(LedgerSession.open(['s1'], opts({ prune: true }), f.deps)).rejects.toThrow(
      `prune needs the manifest of this bundle, obs://cph-bucket/state/manifests/${V2}.json, and there is none: it was never published by this action with \`file\` and \`ledger\` set — publish it once with \`file\`, or set \`prune: false\``,
    );
    // Without file, a manifest stored by an earlier run is used.
    f.bucket.set(mkey(V2), serializeManifest(M2));
    const session = await LedgerSession.open(['s1'], opts({ prune: true }), f.deps);
    expect(session.toPush).toEqual(['s1']);
  });

  it('without an identity and without prune: one warning, nothing current', async () => {
    const f = fakes({ [KEY]: ledgerText({ s1: entry(V2) }) });
    const session = await LedgerSession.open(['s1'], opts({ sha256: undefined }), f.deps);
    expect(session.toPush).toEqual(['s1']);
    expect(f.warnings).toEqual([
      'obs://cph-bucket/r/v2.tar has no x-obs-meta-sha256 metadata: the ledger cannot tell which bundle it is, so no server is taken as current and every chosen server is pushed (publish it once with `file` to give it one)',
    ]);
    expect(await session.afterStage(['s1'])).toEqual({ prune: undefined });
    expect(f.log).toEqual([`GET ${KEY}`]);
  });
});

describe('ensureManifest', () => {
  it('HEAD, then PUT only when it is not there: never rewritten', async () => {
    const f = fakes();
    const session = await LedgerSession.open(['s1'], opts({ manifest: M2 }), f.deps);
    expect(await session.ensureManifest()).toBe('written');
    expect(f.bucket.get(mkey(V2))).toBe(serializeManifest(M2));
    expect(await session.ensureManifest()).toBe('exists');
    expect(f.log.filter((l) => l.includes('manifests'))).toEqual([
      `HEAD ${mkey(V2)}`,
      `PUT ${mkey(V2)}`,
      `HEAD ${mkey(V2)}`,
    ]);
    const without = await LedgerSession.open(['s1'], opts(), f.deps);
    expect(await without.ensureManifest()).toBe('none');
  });
});

describe('afterStage', () => {
  it('records the succeeded servers and writes the ledger once per stage, reading it again first', async () => {
    const f = fakes({ [KEY]: ledgerText({ s1: entry(V1), other: entry(V3) }) });
    const session = await LedgerSession.open(['s1', 's2', 's3'], opts(), f.deps);
    f.log.length = 0;
    await session.afterStage(['s1']);
    await session.afterStage([]);
    await session.afterStage(['s3']);
    expect(f.log).toEqual([`GET ${KEY}`, `PUT ${KEY}`, `GET ${KEY}`, `PUT ${KEY}`]);
    expect(session.writes).toBe(2);
    const written = JSON.parse(f.bucket.get(KEY)!);
    expect(Object.keys(written.servers)).toEqual(['s1', 'other', 's3']);
    expect(written.servers.s1).toEqual({
      object: 'r/v2.tar',
      sha256: V2,
      size: 100,
      at: '2026-12-03T12:00:00.000Z',
      run: 'o/r/2/1',
      ref: 'refs/tags/v2',
      stale: [],
    });
    expect(written.servers.other).toEqual(entry(V3));
    expect(f.warnings).toEqual([]);
  });

  it('merges with a ledger another run wrote meanwhile, keeping the later push, with one warning', async () => {
    const f = fakes({ [KEY]: ledgerText({ s1: entry(V1), s2: entry(V1) }) });
    const session = await LedgerSession.open(['s1', 's2'], opts(), f.deps);
    // Another run pushed v3 to s2 (later than this run's stage) and to s9.
    const later = { ...entry(V3), at: '2026-12-03T13:00:00.000Z' };
    f.bucket.set(KEY, ledgerText({ s1: entry(V1), s2: later, s9: later }));
    await session.afterStage(['s1', 's2']);
    f.bucket.set(KEY, ledgerText({ ...JSON.parse(f.bucket.get(KEY)!).servers, s10: later }));
    await session.afterStage([]);
    const written = parseLedger(f.bucket.get(KEY)!, KEY);
    expect([...written.servers.keys()]).toEqual(['s1', 's2', 's9', 's10']);
    expect(f.warnings).toHaveLength(1);
    expect(f.warnings[0]).toMatch(
      /^the ledger obs:\/\/cph-bucket\/state\/cph-ledger.json was changed by another run while this one ran; merged it per server, keeping the later push of each.*`concurrency:` group/,
    );
    const servers = JSON.parse(f.bucket.get(KEY)!).servers;
    expect(servers.s1.sha256).toBe(V2);
    expect(servers.s2.sha256).toBe(V3);
  });

  it('a failed write names obs:object:PutObject and leaves the ledger behind', async () => {
    const f = fakes({}, { failPut: { [KEY]: forbidden('PutObject') } });
    const session = await LedgerSession.open(['s1'], opts(), f.deps);
    const error = (await session.afterStage(['s1']).catch((e: unknown) => e)) as ServiceError;
    expect(error.message).toBe(
      'OBS PutObject failed: writing the ledger obs://cph-bucket/state/cph-ledger.json: Access Denied (HTTP 403, error code AccessDenied, request id req-403)',
    );
    expect(error.hint).toBe(
      'the pushes stand, but the ledger is behind: grant obs:object:PutObject on the ledger key, then run again',
    );
    expect(session.behind).toBe(true);
  });

  it('with prune: deletes what the previous bundle had and this one has not, then records stale paths', async () => {
    const f = fakes(
      {
        [KEY]: ledgerText({
          s1: entry(V1),
          s2: entry(V1),
          s3: entry(V1, { stale: ['/data/left+over', '/data/game/gone'] }),
          s4: entry(V3),
          s5: entry(V2, { stale: ['/data/leftover'] }),
        }),
        [mkey(V1)]: serializeManifest(M1),
      },
      { jobStates: { s2: 'failed' } },
    );
    const session = await LedgerSession.open(
      ['s1', 's2', 's3', 's4', 's5', 's6'],
      opts({ prune: true, manifest: M2 }),
      f.deps,
    );
    f.log.length = 0;
    const { prune } = await session.afterStage(['s1', 's2', 's3', 's4', 's5', 's6']);
    expect(f.deletes).toEqual([
      { serverIds: ['s1', 's2'], filePaths: ['/data/game/lvl', '/data/game/old'] },
      { serverIds: ['s3'], filePaths: ['/data/game/gone', '/data/game/lvl', '/data/game/old'] },
      { serverIds: ['s5'], filePaths: ['/data/leftover'] },
    ]);
    expect(f.log).toEqual([
      'DELETE s1,s2 /data/game/lvl,/data/game/old',
      'DELETE s3 /data/game/gone,/data/game/lvl,/data/game/old',
      'DELETE s5 /data/leftover',
      'WAIT 4',
      `GET ${KEY}`,
      `PUT ${KEY}`,
    ]);
    expect(
      Object.fromEntries(
        [...prune!.servers].map(([id, s]) => [
          id,
          [s.deleted, s.stale, s.jobs.map((j) => `${j.requestId}:${j.status}`)],
        ]),
      ),
    ).toEqual({
      s1: [['/data/game/lvl', '/data/game/old'], [], ['del-1:succeeded']],
      s2: [[], ['/data/game/lvl', '/data/game/old'], ['del-1:failed']],
      s3: [['/data/game/gone', '/data/game/lvl', '/data/game/old'], ['/data/left+over'], ['del-2:succeeded']],
      s4: [[], [], []],
      s5: [['/data/leftover'], [], ['del-3:succeeded']],
      s6: [[], [], []],
    });
    const servers = JSON.parse(f.bucket.get(KEY)!).servers;
    expect(
      Object.fromEntries(Object.entries(servers).map(([id, e]) => [id, (e as LedgerEntry).stale])),
    ).toEqual({
      s1: [],
      s2: ['/data/game/lvl', '/data/game/old'],
      s3: ['/data/left+over'],
      s4: [],
      s5: [],
      s6: [],
    });
    expect(f.warnings).toEqual([
      `prune: no manifest for bundle ${V3}, which 1 server held before: nothing of it can be deleted there (only paths left stale by earlier runs). It was published without \`file\`, or its manifest was removed from the bucket`,
      'prune: DeleteShareFiles cannot delete 1 path (it takes only A-Z a-z 0-9 . / - _ = and space, at most 4096 bytes): "/data/left+over"; they stay in the ledger as stale — rename them in the bundle, or remove them from the phones another way',
      'prune: of 4 delete jobs, 1 failed; the servers keep their new bundle, and the paths those jobs were to delete stay in the ledger as stale for the next run with `prune` (first: CPS.0216 Delete share file failed.)',
    ]);
    expect(session.forbidden).toBeUndefined();
  });

  it('a 403 on DeleteShareFiles stops the prune, writes the ledger, and is kept for the step to fail', async () => {
    const f = fakes(
      {
        [KEY]: ledgerText({ s1: entry(V1), s2: entry(V1, { stale: ['/data/x'] }) }),
        [mkey(V1)]: serializeManifest(M1),
      },
      { failDelete: () => forbidden('DeleteShareFiles', 'CPH') },
    );
    const session = await LedgerSession.open(['s1', 's2'], opts({ prune: true, manifest: M2 }), f.deps);
    await session.afterStage(['s1', 's2']);
    expect(f.deletes).toHaveLength(1); // the second call is not sent
    expect(session.forbidden?.message).toBe(
      'CPH DeleteShareFiles failed: Access Denied; nothing more was pruned, and the paths stay in the ledger as stale (HTTP 403, error code APIG.0302, request id req-403)',
    );
    expect(session.forbidden?.hint).toBe(
      'grant cph:servers:deleteShareFiles to the credentials (the pushes stand), or set `prune: false`',
    );
    const servers = JSON.parse(f.bucket.get(KEY)!).servers;
    expect(servers.s1.stale).toEqual(['/data/game/lvl', '/data/game/old']);
    expect(servers.s2.stale).toEqual(['/data/game/lvl', '/data/game/old', '/data/x']);
    expect(servers.s2.sha256).toBe(V2);
    // A later stage sends no DeleteShareFiles at all: its paths go to stale.
    f.bucket.set(KEY, ledgerText({ ...JSON.parse(f.bucket.get(KEY)!).servers, s3: entry(V1) }));
    const later = await LedgerSession.open(['s3'], opts({ prune: true, manifest: M2 }), f.deps);
    later.forbidden = session.forbidden;
    const { prune } = await later.afterStage(['s3']);
    expect(f.deletes).toHaveLength(1);
    expect(prune?.servers.get('s3')?.stale).toEqual(['/data/game/lvl', '/data/game/old']);
    expect(prune?.forbidden).toBeUndefined();
  });

  it('a server the answer refuses keeps its paths as stale; other call failures are one warning', async () => {
    const f = fakes(
      {
        [KEY]: ledgerText({ s1: entry(V1), s2: entry(V1), s3: entry(V1, { stale: ['/data/y'] }) }),
        [mkey(V1)]: serializeManifest(M1),
      },
      {
        rejectServer: 's2',
        failDelete: (n) =>
          n === 1
            ? new ServiceError({
                service: 'CPH',
                operation: 'DeleteShareFiles',
                status: 500,
                code: 'CPS.0000',
                requestId: 'r5',
                detail: 'Internal error.',
              })
            : undefined,
      },
    );
    const session = await LedgerSession.open(['s1', 's2', 's3'], opts({ prune: true, manifest: M2 }), f.deps);
    const { prune } = await session.afterStage(['s1', 's2', 's3']);
    expect(prune!.servers.get('s2')).toEqual({
      deleted: [],
      stale: ['/data/game/lvl', '/data/game/old'],
      jobs: [
        {
          requestId: 'del-1',
          jobId: null,
          status: 'rejected',
          errorCode: 'CPS.0005',
          errorMsg: 'Phone not found.',
          paths: ['/data/game/lvl', '/data/game/old'],
        },
      ],
    });
    expect(prune!.servers.get('s3')?.stale).toEqual(['/data/game/lvl', '/data/game/old', '/data/y']);
    expect(f.warnings).toEqual([
      'prune: 1 DeleteShareFiles call failed; their paths stay in the ledger as stale and the next run with `prune` tries again: CPH DeleteShareFiles failed: Internal error. (HTTP 500, error code CPS.0000, request id r5)',
      'prune: of 2 delete jobs, 1 refused; the servers keep their new bundle, and the paths those jobs were to delete stay in the ledger as stale for the next run with `prune` (first: CPS.0005 Phone not found.)',
    ]);
  });
});

describe('a re-run after everything succeeded', () => {
  it('finds every server current and writes nothing', async () => {
    const first = recordStage(
      emptyLedger(),
      [
        { serverId: 's1', stale: [] },
        { serverId: 's2', stale: [] },
      ],
      { object: 'r/v2.tar', sha256: V2, size: 100 },
      { at: '2026-12-03T12:00:00.000Z', run: 'o/r/2/1', ref: 'refs/tags/v2' },
    );
    const f = fakes({ [KEY]: serializeLedger(first), [mkey(V2)]: serializeManifest(M2) });
    const session = await LedgerSession.open(['s1', 's2'], opts({ prune: true }), f.deps);
    expect(session.toPush).toEqual([]);
    expect(session.current.map((c) => c.serverId)).toEqual(['s1', 's2']);
    expect(session.heldBefore).toEqual({
      top: [{ object: 'r/v2.tar', sha256: V2, servers: 2 }],
      other: 0,
      unknown: 0,
    });
  });
});
