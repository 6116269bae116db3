import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAVORS, makeFleet, PHONE_MODELS } from '../helpers/fleet.js';
import { apigPrepare, send } from './client.js';
import {
  CPH_ERRORS,
  DEFAULT_BUCKET,
  DEFAULT_PROJECT_ID,
  type Emulator,
  type JobView,
  startEmulator,
} from './index.js';

const OBJECT = 'apps/app.tar';

interface PushAnswer {
  request_id: string;
  jobs: Array<{ server_id: string; job_id?: string; error_code?: string; error_msg?: string }>;
}

describe('CPH and IAM', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ defaultJobDurationMs: 150 });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.reset();
    // Jobs end when a test moves their clock on, not when the machine gets round to it.
    emu.jobClock.freeze();
    emu.obs.putObject(DEFAULT_BUCKET, OBJECT, 'tar bytes');
  });

  const pushRaw = (body: unknown, project = DEFAULT_PROJECT_ID) =>
    send(
      apigPrepare(emu.url, {
        method: 'POST',
        path: `/v1/${project}/cloud-phone/phones/share-files`,
        json: body,
      }),
    );
  const push = async (serverIds: string[], objectPath = OBJECT) => {
    const res = await pushRaw({
      bucket_name: DEFAULT_BUCKET,
      object_path: objectPath,
      server_ids: serverIds,
    });
    expect(res.status).toBe(200);
    return res.json<PushAnswer>();
  };
  const listJobs = (query: Record<string, string | number>) =>
    send(apigPrepare(emu.url, { method: 'GET', path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/jobs`, query }));
  const showJob = (jobId: string, project = DEFAULT_PROJECT_ID) =>
    send(apigPrepare(emu.url, { method: 'GET', path: `/v1/${project}/cloud-phone/jobs/${jobId}` }));
  const jobStatus = async (jobId: string) => (await showJob(jobId)).json<JobView>();

  async function expectCps400(res: Awaited<ReturnType<typeof send>>, msg: RegExp) {
    expect(res.status).toBe(400);
    const body = res.json<{ error_code: string; error_msg: string; request_id: string }>();
    expect(body).toMatchObject({ error_code: 'CPS.0001', request_id: res.headers['x-request-id'] });
    expect(body.error_msg).toMatch(msg);
    expect(emu.cph.jobs).toHaveLength(0);
  }

  describe('IAM ListProjects', () => {
    const listProjects = (query: Record<string, string>) =>
      send(apigPrepare(emu.url, { method: 'GET', path: '/v3/projects', query }));

    it('filters projects by name', async () => {
      const res = await listProjects({ name: 'cn-east-3' });
      expect(res.status).toBe(200);
      const body = res.json<{ projects: Array<Record<string, unknown>>; links: object }>();
      expect(body.projects).toEqual([
        expect.objectContaining({
          id: DEFAULT_PROJECT_ID,
          name: 'cn-east-3',
          enabled: true,
          domain_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        }),
      ]);
      expect(body.links).toEqual({
        self: `${emu.url}/v3/projects?name=cn-east-3`,
        previous: null,
        next: null,
      });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    it('answers zero or two matches when configured so', async () => {
      expect((await listProjects({ name: 'cn-north-4' })).json<{ projects: unknown[] }>().projects).toEqual(
        [],
      );
      emu.projects.push({ id: 'f'.repeat(32), name: 'cn-east-3' });
      expect(
        (await listProjects({ name: 'cn-east-3' })).json<{ projects: unknown[] }>().projects,
      ).toHaveLength(2);
    });
  });

  describe('PushShareFiles', () => {
    it('creates one job per server and answers the request id in header and body', async () => {
      const res = await pushRaw({
        bucket_name: DEFAULT_BUCKET,
        object_path: OBJECT,
        server_ids: ['s1', 's2', 's3'],
      });
      expect(res.status).toBe(200);
      const body = res.json<PushAnswer>();
      expect(body.request_id).toBe(res.headers['x-request-id']);
      expect(body.jobs.map((j) => j.server_id)).toEqual(['s1', 's2', 's3']);
      for (const job of body.jobs) expect(job.job_id).toMatch(/^[0-9a-f]{32}$/);
      expect(emu.cph.jobs.map((j) => j.requestId)).toEqual([
        body.request_id,
        body.request_id,
        body.request_id,
      ]);
      expect(emu.requestsFor('PushShareFiles')[0]).toMatchObject({
        status: 200,
        authOk: true,
        body: { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['s1', 's2', 's3'] },
      });
      expect(emu.requestsFor('PushShareFiles')[0]?.deleteShareFilesHazard).toBeUndefined();
    });

    it('refuses any key besides bucket_name, object_path and server_ids', async () => {
      await expectCps400(
        await pushRaw({ bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['s1'], extra: 1 }),
        /unexpected key\(s\) extra/,
      );
    });

    it('flags a push that also carries file_paths (a DeleteShareFiles key) loudly in the recording', async () => {
      await expectCps400(
        await pushRaw({
          bucket_name: DEFAULT_BUCKET,
          object_path: OBJECT,
          server_ids: ['s1'],
          file_paths: ['/data/x'],
        }),
        /unexpected key\(s\) file_paths/,
      );
      expect(emu.requests[0]).toMatchObject({ op: 'PushShareFiles', deleteShareFilesHazard: true });
    });

    it('validates keys, types, bucket name, object path and server_ids', async () => {
      const ok = { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['s1'] };
      await expectCps400(
        await pushRaw({ bucket_name: DEFAULT_BUCKET, server_ids: ['s1'] }),
        /missing key\(s\) object_path/,
      );
      await expectCps400(await pushRaw({ ...ok, bucket_name: 'UPPER' }), /bucket_name/);
      await expectCps400(await pushRaw({ ...ok, bucket_name: 'ab' }), /bucket_name/);
      await expectCps400(await pushRaw({ ...ok, object_path: 'apps/app.zip' }), /object_path/);
      await expectCps400(await pushRaw({ ...ok, object_path: 'apps/a b.tar' }), /object_path/);
      await expectCps400(await pushRaw({ ...ok, object_path: `${'a'.repeat(1021)}.tar` }), /object_path/);
      await expectCps400(await pushRaw({ ...ok, server_ids: [] }), /server_ids/);
      await expectCps400(await pushRaw({ ...ok, server_ids: 's1' }), /server_ids/);
      await expectCps400(await pushRaw({ ...ok, server_ids: [1] }), /server_ids/);
      const ids = Array.from({ length: 101 }, (_, i) => `s${i}`);
      await expectCps400(await pushRaw({ ...ok, server_ids: ids }), /1-100/);
      await expectCps400(await pushRaw([ok]), /JSON object/);
      expect((await pushRaw({ ...ok, object_path: 'a/B_c-d+e#f=g.TAR' })).status).toBe(200);
    });

    it('refuses a body that is not JSON or not sent as application/json', async () => {
      const path = `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`;
      const notJson = apigPrepare(emu.url, {
        method: 'POST',
        path,
        body: '{not json',
        headers: { 'content-type': 'application/json' },
      });
      await expectCps400(await send(notJson), /not valid JSON/);
      const textPlain = apigPrepare(emu.url, {
        method: 'POST',
        path,
        body: JSON.stringify({ bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['s1'] }),
        headers: { 'content-type': 'text/plain' },
      });
      await expectCps400(await send(textPlain), /Content-Type/);
    });

    it('answers 404 for an unknown project id', async () => {
      const res = await pushRaw(
        { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['s1'] },
        'a'.repeat(32),
      );
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error_code: CPH_ERRORS.projectNotFound });
    });

    it('answers 404 APIG.0101 for an unknown CPH API', async () => {
      const res = await send(
        apigPrepare(emu.url, { method: 'GET', path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones` }),
      );
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error_code: 'APIG.0101' });
    });

    it('rejects, omits and flags invalid servers per the phone behaviours', async () => {
      emu.phones.set('bad', { reject: { error_code: 'CPS.0005', error_msg: 'Phone not found.' } });
      emu.phones.set('gone', { omit: true });
      const body = await push(['ok', 'bad', 'gone', 'in valid']);
      expect(body.jobs).toEqual([
        { server_id: 'ok', job_id: emu.cph.jobs[0]?.jobId },
        { server_id: 'bad', error_code: 'CPS.0005', error_msg: 'Phone not found.' },
        { server_id: 'in valid', error_code: CPH_ERRORS.invalidServerId, error_msg: 'Invalid server_id.' },
      ]);
      expect(emu.cph.jobs.map((j) => j.serverId)).toEqual(['ok']);
    });

    it('allows a second push to a server whose job still runs', async () => {
      await push(['s1']);
      await push(['s1']);
      expect(emu.cph.jobs).toHaveLength(2);
      expect(emu.cph.runningCount('s1')).toBe(2);
    });
  });

  describe('job lifecycle', () => {
    it('runs (1) then succeeds (2) with begin and end times', async () => {
      const [job] = (await push(['s1'])).jobs;
      const running = await jobStatus(job!.job_id!);
      expect(running).toMatchObject({
        job_id: job!.job_id,
        server_id: 's1',
        status: 1,
        end_time: null,
        error_code: null,
        error_msg: null,
        execute_msg: null,
      });
      expect(running.begin_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      emu.jobClock.advance(149);
      expect((await jobStatus(job!.job_id!)).status).toBe(1);
      emu.jobClock.advance(1);
      const done = await jobStatus(job!.job_id!);
      expect(done.status).toBe(2);
      expect(done.end_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(emu.cph.runningCount('s1')).toBe(0);
    });

    it('fails (-1) with the configured error, stays stuck, or reports an unknown running status', async () => {
      emu.phones.set('f', {
        durationMs: 50,
        outcome: 'failure',
        failure: { error_code: 'CPS.0999', error_msg: 'boom' },
      });
      emu.phones.set('stuck', { durationMs: 10, outcome: 'stuck' });
      emu.phones.set('odd', { durationMs: 120, runningStatus: 3 });
      const ids = Object.fromEntries(
        (await push(['f', 'stuck', 'odd'])).jobs.map((j) => [j.server_id, j.job_id!]),
      );
      expect((await jobStatus(ids['odd']!)).status).toBe(3);
      emu.jobClock.advance(160);
      expect(await jobStatus(ids['f']!)).toMatchObject({
        status: -1,
        error_code: 'CPS.0999',
        error_msg: 'boom',
        execute_msg: null,
      });
      expect((await jobStatus(ids['stuck']!)).status).toBe(1);
      expect((await jobStatus(ids['odd']!)).status).toBe(2);
    });

    it('fails jobs whose object is missing from OBS, unless requireObject is off', async () => {
      emu.settings.defaultJobDurationMs = 20;
      const [missing] = (await push(['s1'], 'apps/none.tar')).jobs;
      emu.settings.requireObject = false;
      const [lenient] = (await push(['s2'], 'apps/none.tar')).jobs;
      emu.jobClock.advance(20);
      expect(await jobStatus(missing!.job_id!)).toMatchObject({
        status: -1,
        error_code: CPH_ERRORS.objectMissing,
      });
      expect((await jobStatus(lenient!.job_id!)).status).toBe(2);
    });
  });

  describe('ListJobs and ShowJob', () => {
    it('pages 250 jobs of three pushes as 100, 100, 50 in creation order, without a total', async () => {
      const ids = Array.from({ length: 250 }, (_, i) => `srv-${String(i).padStart(3, '0')}`);
      const requestIds: string[] = [];
      const created: string[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const answer = await push(ids.slice(i, i + 100));
        requestIds.push(answer.request_id);
        created.push(...answer.jobs.map((j) => j.job_id!));
      }
      const seen: string[] = [];
      const sizes: number[] = [];
      for (let offset = 0; ; offset += 100) {
        const res = await listJobs({ request_ids: requestIds.join(','), offset, limit: 100 });
        expect(res.status).toBe(200);
        const body = res.json<{ request_id: string; jobs: JobView[] }>();
        expect(Object.keys(body).sort()).toEqual(['jobs', 'request_id']);
        sizes.push(body.jobs.length);
        seen.push(...body.jobs.map((j) => j.job_id));
        if (body.jobs.length < 100) break;
      }
      expect(sizes).toEqual([100, 100, 50]);
      expect(seen).toEqual(created);
      const defaultLimit = (await listJobs({ request_ids: requestIds.join(',') })).json<{
        jobs: unknown[];
      }>();
      expect(defaultLimit.jobs).toHaveLength(100);
    });

    it('filters by request_ids (which win over request_id) or request_id', async () => {
      const a = await push(['a1', 'a2']);
      const b = await push(['b1']);
      const byIds = (await listJobs({ request_ids: b.request_id, request_id: a.request_id })).json<{
        jobs: JobView[];
      }>();
      expect(byIds.jobs.map((j) => j.server_id)).toEqual(['b1']);
      const byId = (await listJobs({ request_id: a.request_id })).json<{ jobs: JobView[] }>();
      expect(byId.jobs.map((j) => j.server_id)).toEqual(['a1', 'a2']);
      const unknown = (await listJobs({ request_ids: 'f'.repeat(32) })).json<{ jobs: JobView[] }>();
      expect(unknown.jobs).toEqual([]);
    });

    it('validates request_ids count, limit and offset', async () => {
      const many = Array.from({ length: 21 }, (_, i) => `r${i}`).join(',');
      await expectCps400(await listJobs({ request_ids: many }), /more than 20/);
      await expectCps400(await listJobs({ limit: 0 }), /limit/);
      await expectCps400(await listJobs({ limit: 101 }), /limit/);
      await expectCps400(await listJobs({ limit: 'x' }), /limit/);
      await expectCps400(await listJobs({ offset: -1 }), /offset/);
    });

    it('keeps hidden jobs out of ListJobs while ShowJob finds them', async () => {
      emu.phones.set('hidden', { hiddenFromList: true });
      const answer = await push(['shown', 'hidden']);
      const listed = (await listJobs({ request_ids: answer.request_id })).json<{ jobs: JobView[] }>();
      expect(listed.jobs.map((j) => j.server_id)).toEqual(['shown']);
      const hiddenId = answer.jobs[1]!.job_id!;
      const shown = await showJob(hiddenId);
      expect(shown.status).toBe(200);
      expect(shown.json()).toMatchObject({
        job_id: hiddenId,
        server_id: 'hidden',
        request_id: shown.headers['x-request-id'],
      });
    });

    it('answers 404 for an unknown job or a job of another project', async () => {
      const res = await showJob('0'.repeat(32));
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({
        error_code: CPH_ERRORS.jobNotFound,
        request_id: res.headers['x-request-id'],
      });
      const other = 'e'.repeat(32);
      emu.projects.push({ id: other, name: 'cn-north-4' });
      const [job] = (await push(['s1'])).jobs;
      expect((await showJob(job!.job_id!, other)).status).toBe(404);
    });
  });
});

describe('phonesDir', () => {
  let emu: Emulator;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'emulator-phones-'));
    emu = await startEmulator({ phonesDir: join(work, 'phones'), defaultJobDurationMs: 30 });
  });
  afterAll(async () => {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('unpacks the pushed tar into phonesDir/<server_id>/ when the job succeeds', async () => {
    mkdirSync(join(work, 'src/data/local/tmp'), { recursive: true });
    writeFileSync(join(work, 'src/data/local/tmp/hello.txt'), 'hello phone');
    execFileSync('tar', ['-cf', join(work, 'app.tar'), '-C', join(work, 'src'), 'data']);
    emu.obs.putObject(DEFAULT_BUCKET, OBJECT, readFileSync(join(work, 'app.tar')));
    emu.phones.set('p2', { outcome: 'failure' });
    const res = await send(
      apigPrepare(emu.url, {
        method: 'POST',
        path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`,
        json: { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: ['p1', 'p2'] },
      }),
    );
    expect(res.status).toBe(200);
    const [p1, p2] = emu.cph.jobs;
    for (let i = 0; i < 100 && emu.cph.view(p1!).status !== 2; i++) await sleep(20);
    expect(emu.cph.view(p1!).status).toBe(2);
    expect(readFileSync(join(work, 'phones/p1/data/local/tmp/hello.txt'), 'utf8')).toBe('hello phone');
    expect(emu.cph.view(p2!).status).toBe(-1);
    expect(existsSync(join(work, 'phones/p2'))).toBe(false);
  });
});

describe('CPH fleet: servers, phone models, jobs that cannot run, the timeline', () => {
  let emu: Emulator;
  const servers = makeFleet('fleet', 250, {
    3: { status: 10 },
    4: { phone_model_name: FLAVORS.noShared },
    5: { phone_model_name: FLAVORS.garbled },
  });
  beforeAll(async () => {
    emu = await startEmulator({ defaultJobDurationMs: 30, servers, phoneModels: PHONE_MODELS });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.reset();
    emu.obs.putObject(DEFAULT_BUCKET, OBJECT, 'tar bytes');
  });
  const get = (resource: string, query: Record<string, string | number> = {}) =>
    send(
      apigPrepare(emu.url, {
        method: 'GET',
        path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/${resource}`,
        query,
      }),
    );

  const push = async (serverIds: string[]) => {
    const res = await send(
      apigPrepare(emu.url, {
        method: 'POST',
        path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`,
        json: { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: serverIds },
      }),
    );
    expect(res.status).toBe(200);
    return res.json<PushAnswer>();
  };
  const jobStatus = async (jobId: string) => (await get(`jobs/${jobId}`)).json<JobView>();

  it('ListCloudPhoneServers pages with offset and limit and gives the total in count', async () => {
    const pages: Array<{
      count: number;
      servers: Array<{ server_id: string; server_name: string; status: number }>;
    }> = [];
    for (let offset = 0; offset < 250; offset += 100) {
      const res = await get('servers', { offset, limit: 100 });
      expect(res.status).toBe(200);
      pages.push(res.json());
    }
    expect(pages.map((p) => [p.count, p.servers.length])).toEqual([
      [250, 100],
      [250, 100],
      [250, 50],
    ]);
    const all = pages.flatMap((p) => p.servers);
    expect(all.map((s) => s.server_id)).toEqual(servers.map((s) => s.server_id));
    expect(all[3]).toMatchObject({ server_name: 'fleet-003', status: 10, phone_model_name: FLAVORS.shared });
    expect(emu.countByOp().ListCloudPhoneServers).toBe(3);
    expect((await get('servers', { offset: 300 })).json<{ servers: unknown[] }>().servers).toEqual([]);
    expect((await get('servers', { limit: 101 })).status).toBe(400);
  });

  it('ListCloudPhoneServers filters by status and fuzzy name', async () => {
    const off = (await get('servers', { status: 10 })).json<{
      count: number;
      servers: Array<{ server_id: string }>;
    }>();
    expect(off.count).toBe(1);
    expect(off.servers[0]!.server_id).toBe(servers[3]!.server_id);
    expect((await get('servers', { server_name: 'eet-24' })).json<{ count: number }>().count).toBe(10);
  });

  it('ListCloudPhoneModels lists the flavors, extend_spec as given (or absent)', async () => {
    const res = await get('phone-models');
    const models = res.json<{ phone_models: Array<Record<string, unknown>> }>().phone_models;
    expect(models.map((m) => [m.phone_model_name, m.extend_spec])).toEqual(
      PHONE_MODELS.map((m) => [m.phone_model_name, m.extend_spec]),
    );
    expect('extend_spec' in models[3]!).toBe(false);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(1);
  });

  it('jobs fail on servers that could not take the push; unknown ids are refused in the 200', async () => {
    const ids = [0, 3, 4, 5].map((i) => servers[i]!.server_id);
    const answer = await push([...ids, 'not-in-the-fleet']);
    expect(answer.jobs[4]).toEqual({
      server_id: 'not-in-the-fleet',
      error_code: CPH_ERRORS.phoneNotFound,
      error_msg: 'Phone not found.',
    });
    await sleep(60);
    const views = await Promise.all(answer.jobs.slice(0, 4).map((j) => jobStatus(j.job_id!)));
    expect(views.map((v) => [v.status, v.error_code])).toEqual([
      [2, null],
      [-1, CPH_ERRORS.serverNotRunning],
      [-1, CPH_ERRORS.noSharedStorage],
      [2, null], // a garbled listing does not make the flavor lack storage
    ]);
  });

  it('the timeline records each push and each job end on the emulator clock', async () => {
    emu.phones.set(servers[1]!.server_id, { durationMs: 10 });
    emu.phones.set(servers[2]!.server_id, { outcome: 'stuck' });
    const first = await push([servers[0]!.server_id, servers[1]!.server_id, servers[2]!.server_id]);
    await sleep(60);
    const second = await push([servers[6]!.server_id]);
    const events = emu.cph.timeline();
    expect(
      events.map((e) => (e.kind === 'push' ? `push ${e.requestId}` : `end ${e.serverId} ${e.status}`)),
    ).toEqual([
      `push ${first.request_id}`,
      `end ${servers[1]!.server_id} 2`,
      `end ${servers[0]!.server_id} 2`,
      `push ${second.request_id}`,
    ]);
    const job = emu.cph.jobs[0]!;
    expect(emu.cph.endedAt(job)).toBe(job.reportedStart + job.durationMs);
    expect(emu.cph.endedAt(emu.cph.jobs[2]!)).toBeUndefined();
  });
});
