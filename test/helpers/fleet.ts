/**
 * A fleet for the emulator: servers named `<prefix>-NNN` (zero-padded) on a flavor with shared
 * storage, running, unless a server's index is given a different state or flavor.
 */
import { createHash } from 'node:crypto';
import type { PhoneModelDef, ServerDef } from '../emulator/index.js';

export const FLAVORS = {
  shared: 'cph.shared.s1',
  noShared: 'cph.plain.s1',
  garbled: 'cph.garbled.s1',
  noSpec: 'cph.nospec.s1',
} as const;

/** With and without shared storage, one whose extend_spec is not JSON and one with none. */
export const PHONE_MODELS: PhoneModelDef[] = [
  { phone_model_name: FLAVORS.shared, extend_spec: '{"max_share_disk_size_g":64,"cpu":"4"}' },
  { phone_model_name: FLAVORS.noShared, extend_spec: '{"cpu":"4"}' },
  { phone_model_name: FLAVORS.garbled, extend_spec: 'max_share_disk_size_g: 64' },
  { phone_model_name: FLAVORS.noSpec },
];

/** Server id of a fleet index: 32 hex-ish characters like CPH's, recognisable in a failure message. */
export function fleetId(prefix: string, index: number): string {
  const tag = createHash('sha256').update(prefix).digest('hex').slice(0, 8);
  return `${tag}${String(index).padStart(24, '0')}`;
}

export function fleetName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(3, '0')}`;
}

export function makeFleet(
  prefix: string,
  count: number,
  overrides: Record<number, Partial<Pick<ServerDef, 'status' | 'phone_model_name' | 'server_name'>>> = {},
): ServerDef[] {
  return Array.from({ length: count }, (_, i) => ({
    server_id: fleetId(prefix, i),
    server_name: fleetName(prefix, i),
    phone_model_name: FLAVORS.shared,
    status: 5,
    ...overrides[i],
  }));
}
