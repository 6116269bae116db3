import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig, usage } from './cli.js';
import { apigPrepare, obsPrepare, send } from './client.js';
import {
  DEFAULT_BUCKET,
  DEFAULT_PROJECT_ID,
  type Emulator,
  type ServerDef,
  STATE_PATH,
  startEmulator,
} from './index.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'test/emulator/example.json');

/** The CLI as `npm run emulator` starts it, minus npm: node with the tsx loader. */
function startCli(args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(
    process.execPath,
    ['--import', './test/emulator/register.mjs', 'test/emulator/cli.ts', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

async function outputOf(child: ChildProcessByStdio<null, Readable, Readable>) {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

interface Ready {
  url: string;
  projectId: string;
  region: string;
  stateUrl: string;
}

/** Runs `check` against a CLI emulator started with `args`, then stops it with SIGTERM (exit 0). */
async function withCli(args: string[], check: (ready: Ready) => Promise<void>): Promise<void> {
  const child = startCli(args);
  child.stderr.resume();
  try {
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    await check(JSON.parse(first) as Ready);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
}

const getJson = async (url: string) => {
  const res = await send({ method: 'GET', url, headers: { host: new URL(url).host } });
  return { status: res.status, body: res.json<Record<string, unknown>>() };
};

describe('emulator CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('prints its URL as one JSON line, serves the configured projects and exits on SIGTERM', async () => {
    const config = join(work, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        projects: [{ id: 'a'.repeat(32), name: 'ap-southeast-1' }],
        defaultJobDurationMs: 10,
      }),
    );
    await withCli(['--port', '0', '--config', config], async (ready) => {
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready).toMatchObject({
        projectId: 'a'.repeat(32),
        region: 'ap-southeast-1',
        stateUrl: `${ready.url}${STATE_PATH}`,
      });
      const res = await send(
        apigPrepare(ready.url, { method: 'GET', path: '/v3/projects', query: { name: 'ap-southeast-1' } }),
      );
      expect(res.json<{ projects: Array<{ id: string }> }>().projects.map((p) => p.id)).toEqual([
        'a'.repeat(32),
      ]);
    });
  });

  it('describes every option and every config key in --help', async () => {
    const run = await outputOf(startCli(['--help']));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(usage());
    for (const flag of ['--port N', '--host ADDR', '--config FILE', '--phones-dir DIR', '--help, -h']) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\S`, 'm'));
    }
    const keyLines = run.stdout.slice(run.stdout.indexOf('Config file keys')).split('\n').slice(1);
    const documented = keyLines.map((line) => /^ {2}(\w+) {2,}\S/.exec(line)?.[1]).filter(Boolean);
    // The keys an example uses, and the ones people ask for first, are explained.
    const example = Object.keys(JSON.parse(readFileSync(EXAMPLE, 'utf8'))).filter((k) => !k.startsWith('$'));
    expect(documented).toEqual(expect.arrayContaining([...example, 'phonesDir', 'credentials', 'projects']));
    expect(run.stdout).toContain(STATE_PATH);
  });

  it('starts from example.json: the fleet it lists, with its flavors, phones and faults', async () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { servers: ServerDef[]; faults: unknown[] };
    expect(example.servers.length).toBeGreaterThanOrEqual(3);
    await withCli(['--port', '0', '--config', EXAMPLE], async (ready) => {
      const list = await send(
        apigPrepare(ready.url, {
          method: 'GET',
          path: `/v1/${ready.projectId}/cloud-phone/servers`,
          query: { offset: '0', limit: '100' },
        }),
      );
      expect(list.status).toBe(200);
      const listed = list.json<{
        servers: Array<{ server_id: string; server_name: string; status: number }>;
      }>();
      expect(listed.servers.map((s) => [s.server_id, s.server_name, s.status])).toEqual(
        example.servers.map((s) => [s.server_id, s.server_name, s.status]),
      );

      const state = await getJson(ready.stateUrl);
      expect(state.status).toBe(200);
      expect(Object.keys(state.body['servers'] as object)).toEqual(example.servers.map((s) => s.server_id));
      expect(state.body['faults']).toHaveLength(example.faults.length);
      // The state is no service call: only the listing above was recorded.
      expect(state.body['requests']).toMatchObject({ total: 1, byOp: { ListCloudPhoneServers: 1 } });
    });
  });

  it('refuses a config it cannot read, naming the file and the key', async () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ servers: [], fleet: [], $comment: 'ignored' }));
    expect(() => readConfig(bad)).toThrow(
      `--config ${bad}: unknown key fleet (npm run emulator -- --help lists the keys)`,
    );
    writeFileSync(join(work, 'two.json'), JSON.stringify({ fleet: [], jobMs: 1 }));
    expect(() => readConfig(join(work, 'two.json'))).toThrow(/unknown keys fleet, jobMs/);
    writeFileSync(join(work, 'broken.json'), '{"servers": [');
    expect(() => readConfig(join(work, 'broken.json'))).toThrow(
      new RegExp(`^--config ${join(work, 'broken.json')}: `),
    );
    writeFileSync(join(work, 'list.json'), '[]');
    expect(() => readConfig(join(work, 'list.json'))).toThrow(/expected a JSON object/);
    writeFileSync(join(work, 'ok.json'), JSON.stringify({ $comment: 'x', defaultJobDurationMs: 5 }));
    expect(readConfig(join(work, 'ok.json'))).toEqual({ defaultJobDurationMs: 5 });

    const run = await outputOf(startCli(['--config', bad]));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown key fleet');
    expect(run.stdout).toBe('');
  });
});

describe('GET /_emulator/state', () => {
  let emu: Emulator;
  const OBJECT = 'releases/game.tar';
  beforeAll(async () => {
    emu = await startEmulator({ defaultJobDurationMs: 1000 });
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.reset());

  const state = (query = '') => getJson(`${emu.url}${STATE_PATH}${query}`);
  const push = (serverIds: string[]) =>
    send(
      apigPrepare(emu.url, {
        method: 'POST',
        path: `/v1/${DEFAULT_PROJECT_ID}/cloud-phone/phones/share-files`,
        json: { bucket_name: DEFAULT_BUCKET, object_path: OBJECT, server_ids: serverIds },
      }),
    );

  it('shows objects, open multipart uploads, pushes and what each server was given, as they are now', async () => {
    emu.jobClock.freeze();
    emu.obs.putObject(DEFAULT_BUCKET, OBJECT, Buffer.from('tar bytes'));
    const initiate = await send(
      obsPrepare(emu.url, {
        method: 'POST',
        bucket: DEFAULT_BUCKET,
        key: 'releases/next.tar',
        query: { uploads: '' },
      }),
    );
    expect(initiate.status).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(initiate.text)?.[1];
    expect((await push(['srv-1', 'srv-2'])).status).toBe(200);
    emu.phones.set('srv-2', { outcome: 'failure' });
    expect((await push(['srv-2'])).status).toBe(200);

    const running = await state();
    expect(running.body['buckets']).toEqual({
      [DEFAULT_BUCKET]: {
        objects: [{ key: OBJECT, size: 9, etag: expect.any(String), parts: null }],
        uploads: [{ key: 'releases/next.tar', uploadId, initiated: expect.any(String), parts: 0, bytes: 0 }],
      },
    });
    expect(running.body['pushes']).toEqual([
      { requestId: expect.any(String), object: `obs://${DEFAULT_BUCKET}/${OBJECT}`, servers: 2, jobs: 2 },
      { requestId: expect.any(String), object: `obs://${DEFAULT_BUCKET}/${OBJECT}`, servers: 1, jobs: 1 },
    ]);
    expect(running.body['servers']).toMatchObject({
      'srv-1': { jobs: { running: 1, succeeded: 0, failed: 0 }, pushed: [] },
      'srv-2': { jobs: { running: 2, succeeded: 0, failed: 0 }, pushed: [] },
    });

    emu.jobClock.advance(1000);
    const ended = await state();
    expect(ended.body['servers']).toEqual({
      'srv-1': {
        jobs: { running: 0, succeeded: 1, failed: 0 },
        pushed: [`obs://${DEFAULT_BUCKET}/${OBJECT}`],
        latest: {
          jobId: expect.any(String),
          object: `obs://${DEFAULT_BUCKET}/${OBJECT}`,
          status: 'succeeded',
        },
      },
      'srv-2': {
        jobs: { running: 0, succeeded: 1, failed: 1 },
        pushed: [`obs://${DEFAULT_BUCKET}/${OBJECT}`],
        latest: {
          jobId: expect.any(String),
          object: `obs://${DEFAULT_BUCKET}/${OBJECT}`,
          status: 'failed',
          errorCode: 'CPS.0212',
        },
      },
    });
  });

  it('lists the latest requests (?requests=N or all), and is itself neither recorded nor faulted', async () => {
    emu.faults.add({ op: '*', times: Number.POSITIVE_INFINITY, action: { kind: 'status', status: 503 } });
    for (const id of ['a', 'b', 'c']) await push([`srv-${id}`]);
    expect(emu.requests).toHaveLength(3);

    const two = await state('?requests=2');
    expect(two.status).toBe(200);
    expect(two.body['requests']).toMatchObject({ total: 3, byOp: { PushShareFiles: 3 }, listed: 2 });
    const latest = (two.body['requests'] as { latest: Array<{ seq: number; status: number; fault: string }> })
      .latest;
    expect(latest.map((r) => [r.seq, r.status, r.fault])).toEqual([
      [2, 503, 'status:503'],
      [3, 503, 'status:503'],
    ]);
    expect(((await state('?requests=all')).body['requests'] as { latest: unknown[] }).latest).toHaveLength(3);
    expect(((await state()).body['requests'] as { latest: unknown[] }).latest).toHaveLength(3);
    expect((await state()).body['faults']).toEqual([
      { op: '*', times: null, action: { kind: 'status', status: 503 }, remaining: null },
    ]);
    expect(emu.requests).toHaveLength(3);
  });

  it('says what is wrong with a bad query or method', async () => {
    expect(await state('?requests=-1')).toEqual({
      status: 400,
      body: { error: "requests: a count or 'all', got '-1'" },
    });
    const post = await send({
      method: 'POST',
      url: `${emu.url}${STATE_PATH}`,
      headers: { host: new URL(emu.url).host },
    });
    expect(post.status).toBe(405);
    expect(post.json()).toEqual({ error: `${STATE_PATH} answers GET only, not POST` });
  });

  it('carries the sections other parts of the emulator add', async () => {
    let calls = 0;
    emu.stateSections.set('storage', () => ({ 'srv-1': [`/data/${++calls}`] }));
    try {
      expect((await state()).body['storage']).toEqual({ 'srv-1': ['/data/1'] });
      expect((await state()).body['storage']).toEqual({ 'srv-1': ['/data/2'] });
    } finally {
      emu.stateSections.delete('storage');
    }
    expect((await state()).body).not.toHaveProperty('storage');
  });
});
