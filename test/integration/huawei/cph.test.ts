/** ListCloudPhoneServers and ListCloudPhoneModels against the emulator: paging and the 403 hint. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/http/retry.js';
import type { ClientContext } from '../../../src/huawei/context.js';
import { CphClient, type CphTarget } from '../../../src/huawei/cph.js';
import {
  apigError,
  DEFAULT_PROJECT_ID,
  type Emulator,
  shortPage,
  startEmulator,
} from '../../emulator/index.js';
import { testContext } from '../../helpers/client-context.js';
import { makeFleet, PHONE_MODELS } from '../../helpers/fleet.js';
import { rejectionOf } from '../../helpers/rejection.js';

let emu: Emulator;
let ctx: ClientContext;
let target: CphTarget;

beforeAll(async () => {
  emu = await startEmulator();
  ctx = testContext({ retry: { baseDelayMs: 1 } }).ctx;
  target = { endpoint: new URL(emu.url), projectId: DEFAULT_PROJECT_ID };
});
afterAll(async () => {
  await ctx.dispatcher.close();
  await emu.close();
});
beforeEach(() => emu.reset());

describe('listCloudPhoneServers', () => {
  it.each([
    [0, 1],
    [99, 1],
    [100, 1],
    [101, 2],
    [250, 3],
  ])('%i servers take %i calls, stopping at count', async (n, calls) => {
    emu.servers.push(...makeFleet('p', n, { 1: { status: 10 } }));
    const servers = await new CphClient(ctx, target).listServers();
    expect(servers.map((s) => s.id)).toEqual(emu.servers.map((s) => s.server_id));
    if (n > 1)
      expect(servers[1]).toEqual({
        id: emu.servers[1]!.server_id,
        name: 'p-001',
        status: 10,
        phoneModel: 'cph.shared.s1',
      });
    expect(emu.requestsFor('ListCloudPhoneServers').map((r) => r.query.offset)).toEqual(
      Array.from({ length: calls }, (_, i) => String(i * 100)),
    );
  });

  it('a 403 names cph:servers:list and preflight: false, with the code and request id', async () => {
    emu.faults.add({ op: 'ListCloudPhoneServers', action: apigError(403, 'CPS.0004', 'Forbidden.') });
    const error = await new CphClient(ctx, target).listServers().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    const e = error as ServiceError;
    expect([e.status, e.code, e.operation]).toEqual([403, 'CPS.0004', 'ListCloudPhoneServers']);
    expect(e.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(e.hint).toBe(
      'the credentials may not list this (IAM action cph:servers:list): grant it, or set preflight: false to push without checking the servers',
    );
  });
});

describe('listCloudPhoneModels', () => {
  it('reads every page while pages come back full', async () => {
    const many = Array.from({ length: 130 }, (_, i) => ({ phone_model_name: `m${i}`, extend_spec: '{}' }));
    emu.phoneModels.push(...PHONE_MODELS, ...many);
    const models = await new CphClient(ctx, target).listPhoneModels();
    expect(models).toHaveLength(134);
    expect(models.slice(0, 4)).toEqual([
      { name: 'cph.shared.s1', extendSpec: '{"max_share_disk_size_g":64,"cpu":"4"}' },
      { name: 'cph.plain.s1', extendSpec: '{"cpu":"4"}' },
      { name: 'cph.garbled.s1', extendSpec: 'max_share_disk_size_g: 64' },
      { name: 'cph.nospec.s1', extendSpec: null },
    ]);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(2);
  });

  it('one call for a project with few models', async () => {
    emu.phoneModels.push(...PHONE_MODELS);
    await new CphClient(ctx, target).listPhoneModels();
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(1);
  });
});

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, ServiceError);

describe('a list that comes back short (issue 19)', () => {
  it('an empty second page is read again, and the whole fleet is returned', async () => {
    emu.servers.push(...makeFleet('p', 250));
    // The first page is real; the second comes back empty twice, then whole.
    emu.faults.add({ op: 'ListCloudPhoneServers', times: 1, action: { kind: 'delay', ms: 0 } });
    emu.faults.add({ op: 'ListCloudPhoneServers', times: 2, action: shortPage('servers', { count: 250 }) });
    const servers = await new CphClient(ctx, target).listServers();
    expect(servers).toHaveLength(250);
    expect(servers.map((s) => s.id)).toEqual(emu.servers.map((s) => s.server_id));
    expect(emu.requestsFor('ListCloudPhoneServers').map((r) => r.query.offset)).toEqual([
      '0',
      '100',
      '100',
      '100',
      '200',
    ]);
  });

  it('a page short on every attempt fails, naming the list, how far it got and the request id', async () => {
    emu.servers.push(...makeFleet('p', 3000));
    emu.faults.add({ op: 'ListCloudPhoneServers', times: 1, action: { kind: 'delay', ms: 0 } });
    emu.faults.add({
      op: 'ListCloudPhoneServers',
      times: Number.POSITIVE_INFINITY,
      action: shortPage('servers', { count: 3022 }),
    });
    const error = await failure(new CphClient(ctx, target).listServers());
    expect(error.operation).toBe('ListCloudPhoneServers');
    expect(error.detail).toBe(
      'the list came back short: 100 of 3022 servers collected, the page at offset 100 had 0',
    );
    const last = emu.requestsFor('ListCloudPhoneServers').at(-1)!;
    expect(error.requestId).toBe(last.requestId);
    expect(error.message).toContain(`request id ${last.requestId}`);
    // The first page, then the short one as often as a failed read is tried.
    expect(emu.requestsFor('ListCloudPhoneServers')).toHaveLength(1 + DEFAULT_RETRY_POLICY.maxAttempts);
  });

  it('a page with some entries missing before count is short too', async () => {
    const entries = makeFleet('p', 30);
    emu.faults.add({
      op: 'ListCloudPhoneServers',
      times: Number.POSITIVE_INFINITY,
      action: shortPage('servers', { count: 31, entries }),
    });
    const error = await failure(new CphClient(ctx, target).listServers());
    expect(error.detail).toBe(
      'the list came back short: 30 of 31 servers collected, the page at offset 0 had 30',
    );
  });

  it('an entry without a string server_id fails the list instead of being dropped', async () => {
    emu.faults.add({
      op: 'ListCloudPhoneServers',
      action: shortPage('servers', {
        count: 2,
        entries: [{ server_id: 's-1', server_name: 'a' }, { server_id: 7 }],
      }),
    });
    const error = await failure(new CphClient(ctx, target).listServers());
    expect(error.detail).toBe('unexpected answer: servers[1] has no server_id');
    expect(error.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(error.hint).toBe(
      'a proxy or gateway may be answering instead of CPH: check cph-endpoint and the proxy settings',
    );
  });

  it('an answer without count fails: there is no knowing the list is whole', async () => {
    emu.faults.add({ op: 'ListCloudPhoneServers', action: shortPage('servers', { entries: [] }) });
    const error = await failure(new CphClient(ctx, target).listServers());
    expect(error.detail).toBe('unexpected answer: no count');
  });

  it('a phone model without phone_model_name fails the list', async () => {
    emu.faults.add({
      op: 'ListCloudPhoneModels',
      action: shortPage('phone_models', { entries: [{ phone_model_name: 'm1' }, { extend_spec: '{}' }] }),
    });
    const error = await failure(new CphClient(ctx, target).listPhoneModels());
    expect([error.operation, error.detail]).toEqual([
      'ListCloudPhoneModels',
      'unexpected answer: phone_models[1] has no phone_model_name',
    ]);
  });
});

describe('CphClient.listJobs', () => {
  it('an entry without job_id fails the page, naming it', async () => {
    emu.faults.add({
      op: 'ListJobs',
      action: shortPage('jobs', { entries: [{ job_id: 'j1', status: 1 }, { status: 2 }] }),
    });
    const error = await failure(
      new CphClient(ctx, target).listJobs({ requestIds: ['r1'], offset: 0, limit: 100 }),
    );
    expect([error.operation, error.detail]).toEqual(['ListJobs', 'unexpected answer: jobs[1] has no job_id']);
  });
});
