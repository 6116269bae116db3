/**
 * The fleet the end-to-end fleet tests share: 330 servers over 4 pages of ListCloudPhoneServers,
 * three name families interleaved (so "list order" means something), and a few servers that
 * cannot take a push.
 */
import type { Emulator, ServerDef } from '../emulator/index.js';
import { baseInputs } from './action-fixture.js';
import { FLAVORS, makeFleet } from './fleet.js';
import type { ActionRun } from './run-action.js';

export const PROD = makeFleet('game-prod', 240, {
  7: { status: 10 }, // shut down
  8: { status: 8 }, // frozen
  9: { phone_model_name: FLAVORS.noShared },
  10: { phone_model_name: FLAVORS.garbled },
  11: { phone_model_name: FLAVORS.noSpec },
  12: { phone_model_name: 'cph.withdrawn.s9' }, // not in the phone models list
});
export const TEST = makeFleet('game-test', 60);
/** Names that a `game-prod-*` pattern must not match: matching is whole-name. */
export const MINE = makeFleet('my-game-prod', 30);

/** prod, with a test server after every 4th and a "my-" server after every 8th. */
export const FLEET: ServerDef[] = PROD.flatMap((s, i) => [
  s,
  ...(i % 4 === 0 && TEST[i / 4] ? [TEST[i / 4]!] : []),
  ...(i % 8 === 0 && MINE[i / 8] ? [MINE[i / 8]!] : []),
]);

export const id = (s: ServerDef) => s.server_id;

/** baseInputs with `preflight` left to its default (true) unless given. */
export function fleetInputs(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  const { preflight: _, ...inputs } = baseInputs(emu);
  return { ...inputs, ...extra };
}

/** Every server id PushShareFiles was sent, in the order sent. */
export function pushedIds(emu: Emulator): string[] {
  return emu.cph.pushes.flatMap((p) => p.serverIds);
}

export interface JobEntry {
  server_id: string;
  server_name: string | null;
  stage: number | null;
  job_id: string | null;
  status: string;
  error_code: string | null;
  error_msg: string | null;
}

export function jobs(result: ActionRun): JobEntry[] {
  return JSON.parse(result.outputs.jobs ?? 'null');
}

export function jsonOutput(result: ActionRun, name: string): string[] {
  return JSON.parse(result.outputs[name] ?? 'null');
}

export function warnings(result: ActionRun): string[] {
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning'))
    .map((l) => l.replace(/^::warning[^:]*::/, ''));
}
