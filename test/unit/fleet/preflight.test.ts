import { describe, expect, it } from 'vitest';
import { preflight } from '../../../src/fleet/preflight.js';
import { type ChosenServer, describeState } from '../../../src/fleet/servers.js';
import type { FleetServer, PhoneModel } from '../../../src/huawei/types.js';
import { unknownStorageWarning } from '../../../src/report/fleet.js';

const where = { projectId: 'p0123', region: 'cn-east-3' };
const models: PhoneModel[] = [
  { name: 'shared', extendSpec: '{"max_share_disk_size_g": 64, "cpu": 4}' },
  { name: 'no-shared', extendSpec: '{"cpu": 4}' },
  { name: 'garbled', extendSpec: 'max_share_disk_size_g=64' },
  { name: 'array', extendSpec: '[1,2]' },
  { name: 'empty', extendSpec: null },
  // JSON, but not an object: `in` would throw on the first two.
  { name: 'json-null', extendSpec: 'null' },
  { name: 'json-number', extendSpec: '5' },
  { name: 'json-string', extendSpec: '"max_share_disk_size_g"' },
  { name: 'json-empty-array', extendSpec: '[]' },
];
const fleet: FleetServer[] = [
  { id: 'run', name: 'n-run', status: 5, phoneModel: 'shared' },
  { id: 'off', name: 'n-off', status: 10, phoneModel: 'shared' },
  { id: 'frozen', name: 'n-frozen', status: 8, phoneModel: 'no-shared' },
  { id: 'noshare', name: 'n-noshare', status: 5, phoneModel: 'no-shared' },
  { id: 'garbled', name: 'n-garbled', status: 5, phoneModel: 'garbled' },
  { id: 'garbled2', name: 'n-garbled2', status: 5, phoneModel: 'garbled' },
  { id: 'array', name: 'n-array', status: 5, phoneModel: 'array' },
  { id: 'empty', name: 'n-empty', status: 5, phoneModel: 'empty' },
  { id: 'ghost', name: 'n-ghost', status: 5, phoneModel: 'gone' },
  { id: 'weird', name: 'n-weird', status: 42, phoneModel: 'shared' },
  { id: 'jnull', name: 'n-jnull', status: 5, phoneModel: 'json-null' },
  { id: 'jnumber', name: 'n-jnumber', status: 5, phoneModel: 'json-number' },
  { id: 'jstring', name: 'n-jstring', status: 5, phoneModel: 'json-string' },
  { id: 'jarray', name: 'n-jarray', status: 5, phoneModel: 'json-empty-array' },
];
const given = (id: string): ChosenServer => ({ id, name: null, given: true });
const named = (id: string): ChosenServer => ({ id, name: `n-${id}`, given: false });

describe('describeState', () => {
  it.each([
    [0, 'being created (status 0)'],
    [2, 'abnormal (status 2)'],
    [5, 'running (status 5)'],
    [8, 'frozen (status 8)'],
    [10, 'shut down (status 10)'],
    [11, 'shutting down (status 11)'],
    [12, 'failed to shut down (status 12)'],
    [13, 'starting (status 13)'],
    [7, 'in an unknown state (status 7)'],
  ])('%i → %s', (status, text) => expect(describeState(status)).toBe(text));
});

describe('preflight verdicts', () => {
  it.each([
    [given('run'), 'push', undefined],
    [named('run'), 'push', undefined],
    [given('missing'), 'rejected', 'not found in project p0123 of region cn-east-3'],
    [given('off'), 'rejected', 'not running: shut down (status 10)'],
    [named('off'), 'skipped', 'not running: shut down (status 10)'],
    [named('frozen'), 'skipped', 'not running: frozen (status 8)'],
    [named('weird'), 'skipped', 'not running: in an unknown state (status 42)'],
    [
      given('noshare'),
      'rejected',
      'flavor no-shared has no shared storage (its extend_spec has no max_share_disk_size_g)',
    ],
    [
      named('noshare'),
      'rejected',
      'flavor no-shared has no shared storage (its extend_spec has no max_share_disk_size_g)',
    ],
    [named('garbled'), 'push', undefined],
    [named('empty'), 'push', undefined],
    [named('ghost'), 'push', undefined],
  ])('%o → %s', (server, verdict, reason) => {
    const [result] = preflight([server], fleet, models, where).verdicts;
    expect(result).toEqual(reason ? { server, verdict, reason } : { server, verdict });
  });

  it('warns once per flavor whose shared storage cannot be told, naming its servers', () => {
    const chosen = ['garbled', 'garbled2', 'array', 'empty', 'ghost', 'run'].map(named);
    const { verdicts, unknownStorage } = preflight(chosen, fleet, models, where);
    const flavorWarnings = unknownStorage.map(unknownStorageWarning);
    expect(verdicts.every((v) => v.verdict === 'push')).toBe(true);
    expect(flavorWarnings).toEqual([
      'flavor garbled has an extend_spec that is not a JSON object: cannot tell whether it has shared storage; pushing anyway to its 2 servers (garbled, garbled2)',
      'flavor array has an extend_spec that is not a JSON object: cannot tell whether it has shared storage; pushing anyway to its 1 server (array)',
      'flavor empty has no extend_spec: cannot tell whether it has shared storage; pushing anyway to its 1 server (empty)',
      'flavor gone is not in the phone models list: cannot tell whether it has shared storage; pushing anyway to its 1 server (ghost)',
    ]);
  });

  it('takes an empty or blank extend_spec as none, and the first of a listed id or flavor twice', () => {
    const specs: PhoneModel[] = [
      { name: 'blank', extendSpec: '  \t' },
      { name: 'nothing', extendSpec: '' },
      // A flavor listed twice: the first entry counts (it has shared storage), not the second.
      { name: 'twice', extendSpec: '{"max_share_disk_size_g": 8}' },
      { name: 'twice', extendSpec: '{"cpu": 2}' },
    ];
    const servers: FleetServer[] = [
      { id: 'b', name: 'n-b', status: 5, phoneModel: 'blank' },
      { id: 'e', name: 'n-e', status: 5, phoneModel: 'nothing' },
      { id: 't', name: 'n-t', status: 5, phoneModel: 'twice' },
      // A server listed twice: the first entry counts (running), not the second (shut down).
      { id: 'd', name: 'n-d', status: 5, phoneModel: 'twice' },
      { id: 'd', name: 'n-d', status: 10, phoneModel: 'blank' },
    ];
    const chosen = ['b', 'e', 't', 'd'].map(given);
    const { verdicts, unknownStorage } = preflight(chosen, servers, specs, where);
    expect(verdicts).toEqual(chosen.map((server) => ({ server, verdict: 'push' })));
    expect(unknownStorage.map(unknownStorageWarning)).toEqual([
      'flavor blank has no extend_spec: cannot tell whether it has shared storage; pushing anyway to its 1 server (b)',
      'flavor nothing has no extend_spec: cannot tell whether it has shared storage; pushing anyway to its 1 server (e)',
    ]);
  });

  it('pushes a server whose extend_spec is JSON but not an object, with the warning of an unreadable one', () => {
    const chosen = [given('jnull'), given('jnumber'), named('jstring'), named('jarray')];
    const { verdicts, unknownStorage } = preflight(chosen, fleet, models, where);
    expect(verdicts).toEqual(chosen.map((server) => ({ server, verdict: 'push' })));
    expect(unknownStorage.map(unknownStorageWarning)).toEqual(
      ['json-null', 'json-number', 'json-string', 'json-empty-array'].map(
        (flavor, i) =>
          `flavor ${flavor} has an extend_spec that is not a JSON object: cannot tell whether it has shared storage; pushing anyway to its 1 server (${chosen[i]?.id})`,
      ),
    );
  });

  it('keeps the order of the servers chosen', () => {
    const chosen = [named('run'), given('missing'), named('off')];
    expect(preflight(chosen, fleet, models, where).verdicts.map((v) => v.verdict)).toEqual([
      'push',
      'rejected',
      'skipped',
    ]);
  });
});
