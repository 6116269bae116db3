/** ListCloudPhoneServers and ListCloudPhoneModels against the emulator: paging and the 403 hint. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticCredentials } from '../../src/auth/credentials.js';
import { ServiceError } from '../../src/errors.js';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.js';
import { createDispatcher } from '../../src/http/transport.js';
import type { ClientContext } from '../../src/huawei/context.js';
import { type CphTarget, listCloudPhoneModels, listCloudPhoneServers } from '../../src/huawei/cph.js';
import { Redactor } from '../../src/redact.js';
import {
  apigError,
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  startEmulator,
} from '../emulator/index.js';
import { makeFleet, PHONE_MODELS } from '../helpers/fleet.js';

let emu: Emulator;
let ctx: ClientContext;
let target: CphTarget;

beforeAll(async () => {
  emu = await startEmulator();
  ctx = {
    dispatcher: createDispatcher(),
    credentials: staticCredentials(DEFAULT_CREDENTIALS),
    redactor: new Redactor(),
    timeoutMs: 10_000,
    retry: { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1 },
    userAgent: 'cph-publish-test',
  };
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
    const servers = await listCloudPhoneServers(ctx, target);
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
    const error = await listCloudPhoneServers(ctx, target).catch((e: unknown) => e);
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
    const models = await listCloudPhoneModels(ctx, target);
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
    await listCloudPhoneModels(ctx, target);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(1);
  });
});
