/**
 * Choosing servers and the pre-flight check, end to end: dist/index.js against an emulated fleet
 * of 330 servers over 4 pages.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apigError, DEFAULT_PROJECT_ID, type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, failureLine, OBJECT, run } from '../helpers/action-fixture.js';
import { PHONE_MODELS } from '../helpers/fleet.js';
import {
  FLEET,
  fleetInputs,
  id,
  jobs,
  jsonOutput,
  MINE,
  PROD,
  pushedIds,
  TEST,
  warnings,
} from '../helpers/fleet-e2e.js';
import { buildTar } from '../helpers/tar-builder.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 100, servers: FLEET, phoneModels: PHONE_MODELS });
});
afterAll(async () => emu.close());
beforeEach(() => {
  emu.reset();
  emu.obs.putObject(BUCKET, OBJECT, Buffer.from('seeded object'));
});

const MISSING = 'deadbeef00000000000000000000beef';

describe('choosing servers by name', () => {
  it('pushes the ids given, then the name matches in list order minus exclusions, each once', async () => {
    const result = await run({
      inputs: fleetInputs(emu, {
        'server-ids': `${id(TEST[5]!)}\n${id(PROD[20]!)}`,
        'server-names': 'game-prod-0*, game-test-05?\n!game-prod-00?, !*-07?',
        preflight: 'false',
        wait: 'false',
        'batch-size': '40',
      }),
    });
    expect(result.code, result.stdout).toBe(0);
    const byName = FLEET.filter(
      (s) =>
        (s.server_name.startsWith('game-prod-0') &&
          !s.server_name.startsWith('game-prod-00') &&
          !s.server_name.startsWith('game-prod-07')) ||
        s.server_name.startsWith('game-test-05'),
    );
    const expected = [id(TEST[5]!), id(PROD[20]!), ...byName.map(id).filter((i) => i !== id(PROD[20]!))];
    expect(expected).toHaveLength(2 + 80 + 10 - 1);
    expect(pushedIds(emu)).toEqual(expected);
    expect(emu.cph.pushes.map((p) => p.serverIds.length)).toEqual([40, 40, 11]);
    // Whole names: my-game-prod-0xx never matched.
    expect(pushedIds(emu).some((i) => MINE.some((m) => m.server_id === i))).toBe(false);
    const entries = jobs(result);
    expect(entries.map((e) => e.server_id)).toEqual(expected);
    expect(entries[0]).toMatchObject({ server_name: 'game-test-005', stage: 1, status: 'submitted' });
    expect(entries[2]).toMatchObject({ server_name: 'game-prod-010', stage: 1 });
    // Every page read once, 100 a page; no phone models without pre-flight.
    const lists = emu.requestsFor('ListCloudPhoneServers');
    expect(lists.map((r) => [r.query.offset, r.query.limit])).toEqual([
      ['0', '100'],
      ['100', '100'],
      ['200', '100'],
      ['300', '100'],
    ]);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(0);
  });

  it('reads neither list with ids only and pre-flight off; server_name is then null', async () => {
    const result = await run({
      inputs: fleetInputs(emu, { 'server-ids': id(PROD[0]!), preflight: 'false', wait: 'false' }),
    });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requestsFor(['ListCloudPhoneServers', 'ListCloudPhoneModels'])).toHaveLength(0);
    expect(jobs(result)[0]).toMatchObject({ server_id: id(PROD[0]!), server_name: null, stage: 1 });
  });
});

describe('pre-flight', () => {
  const inputs = (extra: Record<string, string> = {}) =>
    fleetInputs(emu, {
      'server-ids': `${MISSING}, ${id(PROD[7]!)}`,
      'server-names': 'game-prod-00?, game-prod-01?',
      ...extra,
    });
  // game-prod-000..019, 007 also given: 007 off (given), 008 frozen (named), 009 no shared storage,
  // 010-012 flavors whose storage cannot be told (pushed, with a warning).
  const refused = [MISSING, id(PROD[7]!), id(PROD[8]!), id(PROD[9]!)];

  it('refuses what cannot take the push, before any push, with messages a person understands', async () => {
    const result = await run({ inputs: inputs({ 'max-failures': '3' }) });
    expect(result.code, result.stdout).toBe(0);
    for (const refusedId of refused) expect(pushedIds(emu)).not.toContain(refusedId);
    const pushed = PROD.slice(0, 20).filter((s) => !refused.includes(id(s)));
    expect(pushedIds(emu)).toEqual(pushed.map(id));
    const entries = new Map(jobs(result).map((e) => [e.server_id, e]));
    expect(entries.get(MISSING)).toEqual({
      server_id: MISSING,
      server_name: null,
      stage: null,
      job_id: null,
      status: 'rejected',
      error_code: null,
      error_msg: `not found in project ${DEFAULT_PROJECT_ID} of region cn-east-3`,
    });
    expect(entries.get(id(PROD[7]!))).toMatchObject({
      server_name: 'game-prod-007',
      stage: null,
      status: 'rejected',
      error_msg: 'not running: shut down (status 10)',
    });
    expect(entries.get(id(PROD[8]!))).toMatchObject({
      stage: null,
      status: 'skipped',
      error_msg: 'not running: frozen (status 8)',
    });
    expect(entries.get(id(PROD[9]!))?.error_msg).toMatch(/^flavor cph\.plain\.s1 has no shared storage/);
    expect(entries.get(id(PROD[9]!))?.status).toBe('rejected');
    expect(jobs(result).map((e) => e.server_id)).toEqual([
      MISSING,
      id(PROD[7]!),
      ...PROD.slice(0, 20)
        .map(id)
        .filter((i) => i !== id(PROD[7]!)),
    ]);
    expect(jsonOutput(result, 'skipped-server-ids')).toEqual([id(PROD[8]!)]);
    expect(jsonOutput(result, 'failed-server-ids')).toEqual([MISSING, id(PROD[7]!), id(PROD[9]!)]);
    expect(jsonOutput(result, 'succeeded-server-ids')).toHaveLength(17);

    const warned = warnings(result);
    expect(warned.some((w) => w.includes(id(PROD[8]!)) && w.includes('frozen (status 8)'))).toBe(true);
    for (const flavor of ['cph.garbled.s1', 'cph.nospec.s1', 'cph.withdrawn.s9']) {
      expect(warned.some((w) => w.includes(`flavor ${flavor}`) && w.includes('pushing anyway'))).toBe(true);
    }
    // Within the budget: failures are warnings, the step stays green.
    expect(warned.some((w) => w.includes('3 servers') && w.includes('max-failures'))).toBe(true);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(1);
    expect(emu.requestsFor('ListCloudPhoneServers')).toHaveLength(4);
    expect(result.summary).toMatch(
      /^## cph-publish: 17 of 21 servers succeeded \(3 failed within max-failures, 1 skipped\)/,
    );
  });

  it('preflight: false pushes every server chosen, and the phones that could not take it fail', async () => {
    const result = await run({ inputs: inputs({ preflight: 'false', 'max-failures': '4' }) });
    expect(result.code, result.stdout).toBe(0);
    expect(new Set(pushedIds(emu))).toEqual(new Set([MISSING, ...PROD.slice(0, 20).map(id)]));
    const entries = new Map(jobs(result).map((e) => [e.server_id, e]));
    expect(entries.get(MISSING)).toMatchObject({ status: 'rejected', error_code: 'CPS.0005' });
    expect(entries.get(id(PROD[7]!))).toMatchObject({ status: 'failed', error_code: 'CPS.0214', stage: 1 });
    expect(entries.get(id(PROD[8]!))).toMatchObject({ status: 'failed', error_code: 'CPS.0214' });
    expect(entries.get(id(PROD[9]!))).toMatchObject({ status: 'failed', error_code: 'CPS.0215' });
    expect(jsonOutput(result, 'skipped-server-ids')).toEqual([]);
    expect(emu.requestsFor('ListCloudPhoneModels')).toHaveLength(0);
  });

  it('pre-flight refusals count against max-failures from the start: the first stage still runs', async () => {
    const result = await run({ inputs: inputs({ rollout: '2' }) });
    expect(result.code).toBe(1);
    // 3 refused > 0 allowed: stage 1 (2 servers) is pushed, the rest skipped.
    expect(emu.cph.pushes).toHaveLength(1);
    expect(pushedIds(emu)).toEqual([id(PROD[0]!), id(PROD[1]!)]);
    const skipped = jobs(result).filter((e) => e.status === 'skipped' && e.stage === 2);
    expect(skipped).toHaveLength(15);
    expect(skipped[0]?.error_msg).toMatch(/^not pushed: the rollout stopped after stage 1: /);
    expect(failureLine(result)).toMatch(/3 .*max-failures 0/);
  });

  it('a 403 on the server list says which permission to grant, or to set preflight: false', async () => {
    emu.faults.add({ op: 'ListCloudPhoneServers', action: apigError(403, 'CPS.0004', 'Forbidden.') });
    const result = await run({ inputs: inputs() });
    expect(result.code).toBe(1);
    const line = failureLine(result);
    expect(line).toContain('cph:servers:list');
    expect(line).toContain('preflight: false');
    expect(line).toContain('CPS.0004');
    expect(emu.requestsFor(['PushShareFiles', 'PutObject', 'ListCloudPhoneModels'])).toHaveLength(0);
  });

  it('a 403 on the phone models names their permission', async () => {
    emu.faults.add({ op: 'ListCloudPhoneModels', action: apigError(403, 'CPS.0004', 'Forbidden.') });
    const result = await run({ inputs: inputs() });
    expect(result.code).toBe(1);
    expect(failureLine(result)).toContain('cph:system:listPhoneSpecifications');
    expect(failureLine(result)).toContain('preflight: false');
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
  });

  it('no server left to push: fails before uploading anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
    const file = join(dir, 'app.tar');
    writeFileSync(file, buildTar([{ path: 'data/', type: 'directory' }]));
    try {
      const result = await run({
        inputs: fleetInputs(emu, {
          'server-ids': '',
          'server-names': 'game-prod-007, game-prod-008, nothing-*',
          file,
        }),
      });
      expect(result.code).toBe(1);
      expect(failureLine(result)).toMatch(/no server to push: /);
      expect(
        emu.requestsFor(['PutObject', 'HeadObject', 'InitiateMultipartUpload', 'PushShareFiles']),
      ).toHaveLength(0);
      expect(jsonOutput(result, 'skipped-server-ids')).toEqual([id(PROD[7]!), id(PROD[8]!)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names that match nothing: no server to push', async () => {
    const result = await run({
      inputs: fleetInputs(emu, { 'server-ids': '', 'server-names': 'Game-prod-*' }),
    });
    expect(result.code).toBe(1);
    expect(failureLine(result)).toMatch(/no server to push: .*Game-prod-\*/);
    expect(emu.requestsFor('PushShareFiles')).toHaveLength(0);
  });
});

describe('dry run', () => {
  it('prints the stages it can know from the ids given and says names are resolved at run time', async () => {
    const result = await run({
      inputs: fleetInputs(emu, {
        'server-ids': 'a1,a2,a3,a4',
        'server-names': 'game-prod-*',
        rollout: '1, 50%',
        'dry-run': 'true',
      }),
    });
    expect(result.code, result.stdout).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(result.stdout).toMatch(/resolved at run time/);
    expect(result.stdout).toMatch(/Stage 1: 1 server\b/);
    expect(result.stdout).toMatch(/Stage 2: 1 server\b/);
    expect(result.stdout).toMatch(/Stage 3: 2 servers\b/);
    expect(jobs(result).map((e) => [e.server_id, e.stage, e.status])).toEqual([
      ['a1', 1, 'planned'],
      ['a2', 2, 'planned'],
      ['a3', 3, 'planned'],
      ['a4', 3, 'planned'],
    ]);
  });
});
