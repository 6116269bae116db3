/**
 * The emulator's DeleteShareFiles and its per-server shared-storage model: a push merges the
 * pushed tar (read from the emulated bucket) into each server's storage when its job succeeds, a
 * delete removes paths when its job succeeds, so tests can assert what every server holds.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTar } from '../helpers/tar-builder.js';
import { apigPrepare, send } from './client.js';
import {
  apigError,
  CPH_ERRORS,
  DEFAULT_BUCKET,
  DEFAULT_PROJECT_ID,
  type Emulator,
  type JobView,
  readTarMembers,
  SharedStorage,
  startEmulator,
} from './index.js';

const V1 = 'releases/game-1.2.3.tar';
const V2 = 'releases/game-1.2.4.tar';
const SHARE_FILES = `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`;

const v1Tar = buildTar([
  { path: 'data/', type: 'directory' },
  { path: 'data/game/', type: 'directory' },
  { path: 'data/game/levels.bin', content: 'L'.repeat(700) },
  { path: 'data/game/old-intro.mp4', content: 'old' },
  { path: 'data/game/maps/a.map', content: 'a' },
  { path: 'data/game/maps/b.map', content: 'bb' },
  { path: 'cache/tmp.txt', content: 'x' },
]);
const v2Tar = buildTar([
  { path: 'data/', type: 'directory' },
  { path: 'data/game/', type: 'directory' },
  { path: 'data/game/levels.bin', content: 'L'.repeat(800) },
  { path: 'data/game/current', type: 'symlink', linkTarget: 'levels.bin' },
  { path: 'cache/tmp.txt', content: 'y' },
]);

interface Answer {
  request_id: string;
  jobs: Array<{ server_id: string; job_id?: string; error_code?: string; error_msg?: string }>;
}

describe('emulated shared storage and DeleteShareFiles', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ defaultJobDurationMs: 100 });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.reset();
    emu.jobClock.freeze();
    emu.obs.putObject(DEFAULT_BUCKET, V1, v1Tar);
    emu.obs.putObject(DEFAULT_BUCKET, V2, v2Tar);
  });

  const post = (json: unknown) => send(apigPrepare(emu.url, { method: 'POST', path: SHARE_FILES, json }));
  const push = async (object: string, serverIds: string[]) => {
    const res = await post({ bucket_name: DEFAULT_BUCKET, object_path: object, server_ids: serverIds });
    expect(res.status).toBe(200);
    return res.json<Answer>();
  };
  const del = async (serverIds: string[], filePaths: string[]) => {
    const res = await post({ server_ids: serverIds, file_paths: filePaths });
    expect(res.status).toBe(200);
    return res.json<Answer>();
  };
  const listJobs = async (requestId: string) =>
    (
      await send(
        apigPrepare(emu.url, {
          method: 'GET',
          path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs`,
          query: { request_ids: requestId },
        }),
      )
    ).json<{ jobs: JobView[] }>().jobs;

  it('a push that succeeded puts its tar into each server; a running or failed one puts nothing', async () => {
    emu.phones.set('s3', { outcome: 'failure' });
    await push(V1, ['s1', 's2', 's3']);
    expect(emu.storage.paths('s1')).toEqual([]);
    emu.jobClock.advance(100);
    expect(emu.storage.entries('s1')).toEqual([
      { path: '/cache/tmp.txt', type: 'file', size: 1 },
      { path: '/data/game', type: 'dir', size: 0 },
      { path: '/data/game/levels.bin', type: 'file', size: 700 },
      { path: '/data/game/maps', type: 'dir', size: 0 },
      { path: '/data/game/maps/a.map', type: 'file', size: 1 },
      { path: '/data/game/maps/b.map', type: 'file', size: 2 },
      { path: '/data/game/old-intro.mp4', type: 'file', size: 3 },
    ]);
    expect(emu.storage.entries('s2')).toEqual(emu.bundle(DEFAULT_BUCKET, V1));
    expect(emu.storage.entries('s3')).toEqual([]);
    expect(emu.storage.servers()).toEqual(['s1', 's2']);
  });

  it('a push adds and overwrites, never removes; a delete removes paths and what lies under them', async () => {
    await push(V1, ['s1', 's2']);
    emu.jobClock.advance(100);
    await push(V2, ['s1', 's2']);
    emu.jobClock.advance(100);
    expect(emu.storage.held('s1').map((e) => [e.path, e.size, e.object])).toEqual([
      ['/cache/tmp.txt', 1, V2],
      ['/data/game', 0, V2],
      ['/data/game/current', 0, V2],
      ['/data/game/levels.bin', 800, V2],
      ['/data/game/maps', 0, V1],
      ['/data/game/maps/a.map', 1, V1],
      ['/data/game/maps/b.map', 2, V1],
      ['/data/game/old-intro.mp4', 3, V1],
    ]);
    expect(emu.storage.held('s1').find((e) => e.path === '/data/game/current')?.target).toBe('levels.bin');

    const answer = await del(
      ['s1', 's2'],
      ['/data/game/maps', '/data/game/old-intro.mp4', '/data/never-there'],
    );
    expect(answer.jobs.map((j) => j.server_id)).toEqual(['s1', 's2']);
    expect(emu.storage.paths('s1')).toContain('/data/game/maps/a.map'); // the job is still running
    const jobs = await listJobs(answer.request_id);
    expect(jobs.map((j) => [j.server_id, j.status])).toEqual([
      ['s1', 1],
      ['s2', 1],
    ]);
    emu.jobClock.advance(100);
    expect((await listJobs(answer.request_id)).map((j) => j.status)).toEqual([2, 2]);
    expect(emu.storage.entries('s1')).toEqual(emu.bundle(DEFAULT_BUCKET, V2));
    expect(emu.storage.entries('s2')).toEqual(emu.bundle(DEFAULT_BUCKET, V2));
    expect(emu.requestsFor('DeleteShareFiles')).toHaveLength(1);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(2);
    expect(emu.cph.deletes).toEqual([
      expect.objectContaining({
        requestId: answer.request_id,
        serverIds: ['s1', 's2'],
        filePaths: ['/data/game/maps', '/data/game/old-intro.mp4', '/data/never-there'],
      }),
    ]);
  });

  it('applies jobs in the order they end, not the order they were made', async () => {
    emu.phones.set('s1', { durationMs: 300 });
    await push(V1, ['s1']);
    emu.jobClock.advance(100);
    // The delete was made while the push still ran; it ends first, so the push's files stay.
    await del(['s1'], ['/data/game/maps']);
    emu.jobClock.advance(300);
    expect(emu.storage.paths('s1')).toContain('/data/game/maps/a.map');
  });

  it('onDelete: a failed delete job leaves the storage as it was; a rejected server gets no job', async () => {
    emu.phones.set('s1', {
      onDelete: {
        outcome: 'failure',
        failure: { error_code: 'CPS.0216', error_msg: 'no', execute_msg: 'rm failed' },
      },
    });
    emu.phones.set('s2', { onDelete: { reject: { error_code: 'CPS.0005', error_msg: 'Phone not found.' } } });
    emu.phones.set('s3', { onDelete: { outcome: 'failure' } });
    await push(V1, ['s1', 's2', 's3']);
    emu.jobClock.advance(100);
    const answer = await del(['s1', 's2', 's3'], ['/data/game/maps']);
    expect(answer.jobs).toEqual([
      { server_id: 's1', job_id: expect.stringMatching(/^[0-9a-f]{32}$/) },
      { server_id: 's2', error_code: 'CPS.0005', error_msg: 'Phone not found.' },
      { server_id: 's3', job_id: expect.stringMatching(/^[0-9a-f]{32}$/) },
    ]);
    emu.jobClock.advance(100);
    const jobs = await listJobs(answer.request_id);
    expect(jobs.map((j) => [j.server_id, j.status, j.error_code, j.execute_msg])).toEqual([
      ['s1', -1, 'CPS.0216', 'rm failed'],
      ['s3', -1, CPH_ERRORS.deleteFailed, 'emulated failure'],
    ]);
    for (const id of ['s1', 's2', 's3']) expect(emu.storage.paths(id)).toContain('/data/game/maps/a.map');
  });

  it('a fault rule aimed at DeleteShareFiles hits the delete, not the push on the same URI', async () => {
    emu.faults.add({
      op: 'DeleteShareFiles',
      action: apigError(403, 'APIG.0302', 'Insufficient permissions.'),
    });
    await push(V1, ['s1']);
    emu.jobClock.advance(100);
    const refused = await post({ server_ids: ['s1'], file_paths: ['/data/game'] });
    expect(refused.status).toBe(403);
    expect(refused.json<{ error_code: string }>().error_code).toBe('APIG.0302');
    expect(emu.requests.map((r) => [r.op, r.status, r.fault ?? null])).toEqual([
      ['PushShareFiles', 200, null],
      ['DeleteShareFiles', 403, 'status:403'],
    ]);
    expect(emu.storage.paths('s1')).toContain('/data/game');
  });

  describe('DeleteShareFiles body and path rules', () => {
    async function expect400(body: unknown, message: string) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.json<{ error_code: string; error_msg: string }>()).toMatchObject({
        error_code: CPH_ERRORS.invalidParameter,
        error_msg: `Invalid parameter: ${message}`,
      });
      expect(emu.cph.jobs).toHaveLength(0);
      expect(emu.requests.at(-1)?.op).toBe('DeleteShareFiles');
    }

    it.each([
      ['/data', 'file_paths[0] is not inside /data or /cache'],
      ['/cache/', 'file_paths[0] is not inside /data or /cache'],
      ['/', 'file_paths[0] is not inside /data or /cache'],
      ['/system/app', 'file_paths[0] is not inside /data or /cache'],
      ['/database/x', 'file_paths[0] is not inside /data or /cache'],
      ['data/x', 'file_paths[0] is not absolute'],
      ['/data/a+b', 'file_paths[0] has a character other than A-Z a-z 0-9 . / - _ = and space'],
      ['/data/关卡', 'file_paths[0] has a character other than A-Z a-z 0-9 . / - _ = and space'],
      ['/data/../etc', 'file_paths[0] has a .. segment'],
      [`/data/${'x'.repeat(4091)}`, 'file_paths[0] is longer than 4096 bytes'],
    ])('refuses the path %s', async (path, message) => {
      await expect400({ server_ids: ['s1'], file_paths: [path] }, message);
    });

    it('takes every allowed character, and a path of exactly 4096 bytes', async () => {
      const answer = await del(['s1'], ['/data/A-z_0.9=x y', `/cache/${'x'.repeat(4089)}`]);
      expect(answer.jobs).toHaveLength(1);
    });

    it.each([
      [{ server_ids: ['s1'], file_paths: ['/data/x'], force: true }, 'unexpected key(s) force'],
      [{ file_paths: ['/data/x'] }, 'missing key(s) server_ids'],
      [{ server_ids: [], file_paths: ['/data/x'] }, 'server_ids must be an array of 1-100 server ids'],
      [{ server_ids: ['s1'], file_paths: [] }, 'file_paths must be an array of 1-100 paths'],
      [
        { server_ids: ['s1'], file_paths: Array.from({ length: 101 }, (_, i) => `/data/${i}`) },
        'file_paths must be an array of 1-100 paths',
      ],
      [{ server_ids: ['s1'], file_paths: ['/data/ok', 7] }, 'file_paths[1] is not a string'],
    ])('refuses the body %j', async (body, message) => {
      await expect400(body, message);
    });
  });
});

describe('readTarMembers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-storage-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ustar, GNU long names, pax names and hard links, across segment files', () => {
    const long = `data/${'d'.repeat(130)}/f.txt`;
    const tar = buildTar([
      { path: './data/', type: 'directory' },
      { path: long, content: 'gnu', format: 'gnu' },
      { path: 'data/pax-é.txt', content: 'pax!!', format: 'pax' },
      { path: `data/${'p'.repeat(120)}/u.txt`, content: 'ustar' },
      { path: 'data/hard', type: 'link', linkTarget: 'data/pax-é.txt' },
      { path: 'data/fifo', type: 'fifo' },
    ]);
    const cuts = [0, 700, 1500, tar.length];
    const files = cuts.slice(1).map((end, i) => {
      const file = join(dir, `seg-${i}`);
      writeFileSync(file, tar.subarray(cuts[i], end));
      return file;
    });
    const members = readTarMembers(files);
    expect(members).toEqual([
      { path: '/data', type: 'dir', size: 0 },
      { path: `/${long}`, type: 'file', size: 3 },
      { path: '/data/pax-é.txt', type: 'file', size: 5 },
      { path: `/data/${'p'.repeat(120)}/u.txt`, type: 'file', size: 5 },
      { path: '/data/hard', type: 'hardlink', size: 0, target: 'data/pax-é.txt' },
    ]);
    const whole = join(dir, 'whole.tar');
    writeFileSync(whole, tar);
    expect(readTarMembers([whole])).toEqual(members);
  });

  it('throws on a bad checksum or a truncated archive', () => {
    const bad = join(dir, 'bad.tar');
    writeFileSync(bad, buildTar([{ path: 'data/x', content: 'x', checksum: 'bad' }]));
    expect(() => readTarMembers([bad])).toThrow(/bad tar header checksum at byte 0/);
    const short = join(dir, 'short.tar');
    writeFileSync(short, buildTar([{ path: 'data/x', content: 'x'.repeat(2000) }]).subarray(0, 1024));
    expect(() => readTarMembers([short])).toThrow(/truncated tar/);
  });

  it('SharedStorage: a directory replaced by a file loses what was under it; a file in the way of a directory is replaced', () => {
    const storage = new SharedStorage();
    storage.merge('s', [{ path: '/data/conf/a.ini', type: 'file', size: 1 }], 'v1');
    storage.merge(
      's',
      [
        { path: '/data/conf', type: 'file', size: 9 },
        { path: '/data/x/y', type: 'file', size: 2 },
      ],
      'v2',
    );
    expect(storage.entries('s')).toEqual([
      { path: '/data/conf', type: 'file', size: 9 },
      { path: '/data/x', type: 'dir', size: 0 },
      { path: '/data/x/y', type: 'file', size: 2 },
    ]);
    storage.merge('s', [{ path: '/data/conf/b.ini', type: 'file', size: 3 }], 'v3');
    expect(storage.paths('s')).toEqual(['/data/conf', '/data/conf/b.ini', '/data/x', '/data/x/y']);
    expect(storage.entries('s')[0]).toEqual({ path: '/data/conf', type: 'dir', size: 0 });
    expect(storage.delete('s', ['/data/x', '/data/gone'])).toEqual(['/data/gone']);
    expect(storage.paths('s')).toEqual(['/data/conf', '/data/conf/b.ini']);
  });
});

describe('phonesDir follows deletes', () => {
  let emu: Emulator;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'emulator-phones-del-'));
    emu = await startEmulator({ phonesDir: join(work, 'phones'), defaultJobDurationMs: 20 });
  });
  afterAll(async () => {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('removes a deleted path from phonesDir/<server_id>/ when the delete job succeeds', async () => {
    emu.obs.putObject(DEFAULT_BUCKET, V1, v1Tar);
    const request = (json: unknown) =>
      send(apigPrepare(emu.url, { method: 'POST', path: SHARE_FILES, json }));
    await request({ bucket_name: DEFAULT_BUCKET, object_path: V1, server_ids: ['p1'] });
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 250 && !done(); i++) await sleep(20);
      expect(done()).toBe(true);
    };
    await until(() => emu.cph.view(emu.cph.jobs[0]!).status === 2);
    expect(readFileSync(join(work, 'phones/p1/data/game/old-intro.mp4'), 'utf8')).toBe('old');
    await request({ server_ids: ['p1'], file_paths: ['/data/game/old-intro.mp4', '/data/game/maps'] });
    await until(() => emu.cph.view(emu.cph.jobs[1]!).status === 2);
    expect(emu.storage.paths('p1')).not.toContain('/data/game/maps');
    expect(existsSync(join(work, 'phones/p1/data/game/old-intro.mp4'))).toBe(false);
    expect(existsSync(join(work, 'phones/p1/data/game/maps'))).toBe(false);
    expect(existsSync(join(work, 'phones/p1/data/game/levels.bin'))).toBe(true);
  });
});
