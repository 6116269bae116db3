/**
 * The ledger, skip-current and prune, end to end: dist/index.js against the emulator, whose
 * shared-storage model unpacks every pushed tar and applies every delete, so each test compares
 * what every server holds with the bundle it should hold.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apigError, type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, jobsOutput, run } from '../helpers/action-fixture.js';
import { buildTar } from '../helpers/tar-builder.js';

const V123 = 'releases/game-1.2.3.tar';
const V124 = 'releases/game-1.2.4.tar';
const LEDGER = 'state/ledger.json';
const SERVERS = ['srv-0001', 'srv-0002', 'srv-0003'];

const v123 = buildTar([
  { path: 'data/', type: 'directory' },
  { path: 'data/game/', type: 'directory' },
  { path: 'data/game/levels.bin', content: 'L'.repeat(600) },
  { path: 'data/game/intro.mp4', content: 'intro' },
  { path: 'data/game/maps/', type: 'directory' },
  { path: 'data/game/maps/a.map', content: 'a' },
  { path: 'data/game/a+b.txt', content: 'odd' },
]);
const v124 = buildTar([
  { path: 'data/', type: 'directory' },
  { path: 'data/game/', type: 'directory' },
  { path: 'data/game/levels.bin', content: 'L'.repeat(700) },
  { path: 'data/game/new.bin', content: 'new' },
]);

let emu: Emulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 30 });
  dir = mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
  writeFileSync(join(dir, '1.2.3.tar'), v123);
  writeFileSync(join(dir, '1.2.4.tar'), v124);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emu.reset());

function inputs(version: '1.2.3' | '1.2.4', extra: Record<string, string> = {}) {
  return baseInputs(emu, {
    'object-path': version === '1.2.3' ? V123 : V124,
    file: join(dir, `${version}.tar`),
    ledger: LEDGER,
    prune: 'true',
    'server-ids': SERVERS.join(','),
    ...extra,
  });
}
const ledgerServers = () =>
  JSON.parse(emu.obs.storedObject(BUCKET, LEDGER) ? readObject(LEDGER) : '{}').servers as Record<
    string,
    { object: string; sha256: string; stale: string[] }
  >;
function readObject(key: string): string {
  const segments = emu.obs.storedObject(BUCKET, key)?.segments ?? [];
  return segments.map((f) => readFileSync(f, 'utf8')).join('');
}
/** 1.2.4 plus the path DeleteShareFiles cannot take (kept as stale: still on the phone). */
const v124WithStale = () =>
  [...emu.bundle(BUCKET, V124), { path: '/data/game/a+b.txt', type: 'file' as const, size: 3 }].sort(
    (a, b) => (a.path < b.path ? -1 : 1),
  );
const reportOf = (result: Awaited<ReturnType<typeof run>>) =>
  JSON.parse(Object.values(result.runnerTemp)[0] ?? '{}') as { ledger: Record<string, unknown> };

describe('ledger, skip-current, prune', () => {
  it('1.2.3 then 1.2.4 with prune: every server holds exactly 1.2.4; a re-run pushes nothing; rollback brings 1.2.3 back', async () => {
    const first = await run({ inputs: inputs('1.2.3') });
    expect(first.code, first.stdout).toBe(0);
    for (const id of SERVERS) expect(emu.storage.entries(id)).toEqual(emu.bundle(BUCKET, V123));
    expect(Object.keys(ledgerServers())).toEqual(SERVERS);
    expect(emu.requestsFor('DeleteShareFiles')).toHaveLength(0);

    emu.clearRequests();
    const second = await run({ inputs: inputs('1.2.4') });
    expect(second.code, second.stdout).toBe(0);
    for (const id of SERVERS) expect(emu.storage.entries(id)).toEqual(v124WithStale());
    // One call for the three servers: the same paths; the refused path stays stale.
    expect(emu.requestsFor('DeleteShareFiles').map((r) => r.body)).toEqual([
      { server_ids: SERVERS, file_paths: ['/data/game/intro.mp4', '/data/game/maps'] },
    ]);
    expect(second.stdout).toMatch(
      /::warning::prune: DeleteShareFiles cannot delete 1 path .*"\/data\/game\/a\+b\.txt"/,
    );
    expect(Object.values(ledgerServers()).map((e) => [e.object, e.stale])).toEqual(
      SERVERS.map(() => [V124, ['/data/game/a+b.txt']]),
    );
    expect(second.summary).toContain('What the chosen servers held before this run');
    expect(second.summary).toContain(`<code>${V123}</code>`);
    expect(reportOf(second).ledger).toMatchObject({
      servers: SERVERS.map((id) => ({
        server_id: id,
        previous_object: V123,
        deleted: ['/data/game/intro.mp4', '/data/game/maps'],
        stale: ['/data/game/a+b.txt'],
      })),
    });
    // One ledger read, then per stage one re-read and one write.
    expect(
      emu
        .requestsFor(['GetObject', 'PutObject'])
        .filter((r) => r.path.endsWith(LEDGER))
        .map((r) => r.op),
    ).toEqual(['GetObject', 'GetObject', 'PutObject']);

    // Re-run of 1.2.4 without prune: the ledger says they hold it.
    emu.clearRequests();
    const again = await run({ inputs: inputs('1.2.4', { prune: 'false' }) });
    expect(again.code, again.stdout).toBe(0);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
    expect(jobsOutput(again).map((j) => j.status)).toEqual(['current', 'current', 'current']);
    expect(again.stdout).toContain('Nothing to push');

    // Rollback: 1.2.3's object again, without file, with prune.
    emu.clearRequests();
    const back = await run({ inputs: { ...inputs('1.2.3'), file: '' } });
    expect(back.code, back.stdout).toBe(0);
    for (const id of SERVERS) expect(emu.storage.entries(id)).toEqual(emu.bundle(BUCKET, V123));
    expect(emu.requestsFor('DeleteShareFiles').map((r) => r.body)).toEqual([
      { server_ids: SERVERS, file_paths: ['/data/game/new.bin'] },
    ]);
  });

  it('a 403 on DeleteShareFiles fails the step naming cph:servers:deleteShareFiles, after the ledger is written', async () => {
    expect((await run({ inputs: inputs('1.2.3') })).code).toBe(0);
    emu.faults.add({
      op: 'DeleteShareFiles',
      action: apigError(403, 'APIG.0302', 'Insufficient permissions.'),
    });
    const result = await run({ inputs: inputs('1.2.4') });
    expect(result.code).toBe(1);
    expect(failureLine(result)).toMatch(
      /CPH DeleteShareFiles failed.*HTTP 403.*cph:servers:deleteShareFiles/,
    );
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(Object.values(ledgerServers()).map((e) => [e.object, e.stale])).toEqual(
      SERVERS.map(() => [V124, ['/data/game/a+b.txt', '/data/game/intro.mp4', '/data/game/maps']]),
    );
    expect(emu.storage.paths('srv-0001')).toContain('/data/game/intro.mp4');
  });

  it('a failed delete job is a warning: the server stays succeeded and its paths stay stale', async () => {
    expect((await run({ inputs: inputs('1.2.3') })).code).toBe(0);
    emu.phones.set('srv-0002', { onDelete: { outcome: 'failure' } });
    const result = await run({ inputs: inputs('1.2.4') });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/::warning::prune: of 3 delete jobs, 1 failed/);
    expect(emu.storage.entries('srv-0001')).toEqual(v124WithStale());
    expect(emu.storage.paths('srv-0002')).toContain('/data/game/intro.mp4');
    expect(ledgerServers()['srv-0002']?.stale).toEqual([
      '/data/game/a+b.txt',
      '/data/game/intro.mp4',
      '/data/game/maps',
    ]);
    // The next run with prune pushes again every server with something stale (all three here: the
    // refused path stays stale for ever, as the contract says) and finishes srv-0002's prune.
    emu.phones.delete('srv-0002');
    emu.clearRequests();
    const next = await run({ inputs: inputs('1.2.4') });
    expect(next.code, next.stdout).toBe(0);
    expect(emu.requestsFor('DeleteShareFiles').map((r) => r.body)).toEqual([
      { server_ids: ['srv-0002'], file_paths: ['/data/game/intro.mp4', '/data/game/maps'] },
    ]);
    expect(emu.storage.entries('srv-0002')).toEqual(v124WithStale());
  });

  it('prune without a manifest for the bundle stops before any push', async () => {
    emu.obs.putObject(BUCKET, V124, v124, { metadata: { sha256: 'ab'.repeat(32) } });
    const result = await run({ inputs: { ...inputs('1.2.4'), file: '' } });
    expect(result.code).toBe(1);
    expect(failureLine(result)).toMatch(
      /prune needs the manifest of this bundle.*publish it once with `file`, or set `prune: false`/,
    );
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
  });

  it('another run writing the ledger meanwhile is merged, with one warning recommending a concurrency: group', async () => {
    const other = {
      object: V123,
      sha256: 'ab'.repeat(32),
      size: 1,
      at: '2099-01-01T00:00:00.000Z',
      run: 'example/game/9/1',
      ref: 'refs/tags/v0',
      stale: [],
    };
    let wrote = false;
    // The jobs end only once the other run has written: the order is the test's, not the machine's.
    emu.jobClock.freeze();
    const result = await run({
      inputs: inputs('1.2.3'),
      onLine: (line) => {
        if (wrote || !line.startsWith('Waiting for')) return;
        wrote = true;
        // Another run records srv-9999, and a later push to srv-0003, while this one waits.
        emu.obs.putObject(
          BUCKET,
          LEDGER,
          JSON.stringify({ format: 1, servers: { 'srv-9999': other, 'srv-0003': other } }),
        );
        emu.jobClock.advance(60_000);
      },
    });
    expect(result.code, result.stdout).toBe(0);
    expect(wrote).toBe(true);
    const servers = ledgerServers();
    expect(Object.keys(servers).sort()).toEqual(['srv-0001', 'srv-0002', 'srv-0003', 'srv-9999']);
    expect(servers['srv-0003']?.sha256).toBe('ab'.repeat(32)); // the later push wins
    expect(servers['srv-0001']?.object).toBe(V123);
    expect(result.stdout.match(/::warning::the ledger .* was changed by another run/g)).toHaveLength(1);
    expect(result.stdout).toContain('`concurrency:` group');
  });

  it('a staged rollout that stops half-way records the stages that ran; the re-run pushes only what is missing', async () => {
    const four = ['srv-0001', 'srv-0002', 'srv-0003', 'srv-0004'];
    emu.phones.set('srv-0002', { outcome: 'failure' });
    const stopped = await run({
      inputs: inputs('1.2.3', { 'server-ids': four.join(','), rollout: '1, 50%' }),
    });
    expect(stopped.code).toBe(1);
    expect(jobsOutput(stopped).map((j) => j.status)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    expect(Object.keys(ledgerServers())).toEqual(['srv-0001']);
    emu.phones.delete('srv-0002');
    emu.clearRequests();
    const rerun = await run({ inputs: inputs('1.2.3', { 'server-ids': four.join(','), rollout: '1, 50%' }) });
    expect(rerun.code, rerun.stdout).toBe(0);
    expect(jobsOutput(rerun).map((j) => [j.server_id, j.status])).toEqual([
      ['srv-0001', 'current'],
      ['srv-0002', 'succeeded'],
      ['srv-0003', 'succeeded'],
      ['srv-0004', 'succeeded'],
    ]);
    expect(
      emu.requestsFor('PushShareFiles').flatMap((r) => (r.body as { server_ids: string[] }).server_ids),
    ).toEqual(['srv-0002', 'srv-0003', 'srv-0004']);
    for (const id of four) expect(emu.storage.entries(id)).toEqual(emu.bundle(BUCKET, V123));
  });

  it('250 servers with the same paths to prune share 3 DeleteShareFiles calls', async () => {
    const many = Array.from({ length: 250 }, (_, i) => `srv-${String(i + 1).padStart(4, '0')}`);
    const ids = many.join(',');
    expect((await run({ inputs: inputs('1.2.3', { 'server-ids': ids }) })).code).toBe(0);
    emu.clearRequests();
    const result = await run({ inputs: inputs('1.2.4', { 'server-ids': ids }) });
    expect(result.code, result.stdout).toBe(0);
    expect(
      emu.requestsFor('DeleteShareFiles').map((r) => (r.body as { server_ids: string[] }).server_ids.length),
    ).toEqual([100, 100, 50]);
    expect(emu.storage.entries('srv-0250')).toEqual(v124WithStale());
  });

  it('a dry run reads no ledger and says the decisions wait for a real run', async () => {
    const result = await run({ inputs: inputs('1.2.4', { 'dry-run': 'true' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests).toEqual([]);
    expect(result.stdout).toContain(
      'Ledger obs://cph-bucket/state/ledger.json: not read in a dry run; which servers are current and what to prune is decided at run time',
    );
  });

  it('nothing to push because every server is current still judges the servers pre-flight refused', async () => {
    emu.phoneModels.push({ phone_model_name: 'cph.shared', extend_spec: '{"max_share_disk_size_g":64}' });
    for (const [i, id] of [...SERVERS, 'srv-0004'].entries()) {
      emu.servers.push({
        server_id: id,
        server_name: `game-${i}`,
        phone_model_name: 'cph.shared',
        status: i === 3 ? 10 : 5,
      });
    }
    const four = { 'server-ids': [...SERVERS, 'srv-0004'].join(','), preflight: 'true', prune: 'false' };
    expect((await run({ inputs: inputs('1.2.3', { ...four, 'max-failures': '1' }) })).code).toBe(0);
    emu.clearRequests();
    const tolerated = await run({ inputs: inputs('1.2.3', { ...four, 'max-failures': '1' }) });
    expect(tolerated.code, tolerated.stdout).toBe(0);
    expect(tolerated.stdout).toContain('Nothing to push');
    expect(jobsOutput(tolerated).map((j) => j.status)).toEqual(['current', 'current', 'current', 'rejected']);
    const strict = await run({ inputs: inputs('1.2.3', four) });
    expect(strict.code).toBe(1);
    expect(failureLine(strict)).toMatch(/1 server rejected or failed, more than max-failures 0/);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
  });
});
