/**
 * Tuning knobs for tests and unusual networks, read from the environment: not inputs, since the
 * contract fixes those. A bad value is a problem like a bad input, reported with all the others.
 */

import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../http/retry.js';
import type { Reader } from './reader.js';

export interface Tuning {
  /** Per request. */
  timeoutMs: number;
  retry: RetryPolicy;
}

interface Knob {
  env: string;
  default: number;
  min: number;
  max: number;
}

export const REQUEST_TIMEOUT_MS: Knob = {
  env: 'CPH_PUBLISH_REQUEST_TIMEOUT_MS',
  default: 30_000,
  min: 100,
  max: 600_000,
};
export const MAX_ATTEMPTS: Knob = {
  env: 'CPH_PUBLISH_MAX_ATTEMPTS',
  default: DEFAULT_RETRY_POLICY.maxAttempts,
  min: 1,
  max: 10,
};
export const RETRY_BASE_MS: Knob = {
  env: 'CPH_PUBLISH_RETRY_BASE_MS',
  default: DEFAULT_RETRY_POLICY.baseDelayMs,
  min: 0,
  max: 60_000,
};

export function readTuning(r: Reader): Tuning | undefined {
  const timeoutMs = readKnob(r, REQUEST_TIMEOUT_MS);
  const maxAttempts = readKnob(r, MAX_ATTEMPTS);
  const baseDelayMs = readKnob(r, RETRY_BASE_MS);
  if (timeoutMs === undefined || maxAttempts === undefined || baseDelayMs === undefined) return undefined;
  return { timeoutMs, retry: { maxAttempts, baseDelayMs, maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs } };
}

/** Unset or empty: the default. Otherwise a whole number in range (`Number()` rules: ` 5 `, `5e2` pass). */
function readKnob(r: Reader, knob: Knob): number | undefined {
  const raw = r.envRaw(knob.env);
  if (raw === undefined || raw === '') return knob.default;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < knob.min || value > knob.max) {
    r.report(
      `env ${knob.env}`,
      `must be a whole number from ${knob.min} to ${knob.max}, got '${raw.slice(0, 40)}'`,
    );
    return undefined;
  }
  return value;
}
