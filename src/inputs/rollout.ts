/** How the servers are pushed and waited for: stages, failure budget, batches, waiting. */

import type { Budget, StageSize } from '../fleet/types.js';
import { show } from '../util/text.js';
import { boolean, field, type Parsed, type Reader, whole, wholeNumber } from './reader.js';

const MAX_STAGES = 10;

export const ROLLOUT = field('rollout', '', stages);
export const MAX_FAILURES = field('max-failures', '0', budget);
export const BATCH_SIZE = field('batch-size', '100', wholeNumber(1, 100));
export const WAIT = field('wait', 'true', boolean);
export const WAIT_TIMEOUT = field('wait-timeout', '1800', wholeNumber(1, 21600));
export const POLL_INTERVAL = field('poll-interval', '10', wholeNumber(1, 300));

export const ROLLOUT_FIELDS = [ROLLOUT, MAX_FAILURES, BATCH_SIZE, WAIT, WAIT_TIMEOUT, POLL_INTERVAL];

export interface Rollout {
  /** Cumulative stage sizes; empty: one stage. */
  rollout: StageSize[];
  maxFailures: Budget;
  batchSize: number;
  wait: boolean;
  waitTimeoutSeconds: number;
  pollIntervalSeconds: number;
}

export function readRollout(r: Reader): Rollout | undefined {
  const read = {
    rollout: r.read(ROLLOUT),
    maxFailures: r.read(MAX_FAILURES),
    batchSize: r.read(BATCH_SIZE),
    wait: r.read(WAIT),
    waitTimeoutSeconds: r.read(WAIT_TIMEOUT),
    pollIntervalSeconds: r.read(POLL_INTERVAL),
  };
  if (read.rollout && read.rollout.length > 0 && read.wait === false) {
    r.report(ROLLOUT.name, "needs 'wait: true': each stage is waited for before the next one is pushed");
  }
  return whole(read);
}

/** `1, 10%, 50%`: cumulative stage sizes, counts or percentages. */
function stages(raw: string): Parsed<StageSize[]> {
  if (!raw) return { value: [] };
  const entries = raw.split(/[,\s]+/).filter(Boolean);
  const bad = (why: string): Parsed<StageSize[]> => ({
    problem: `${why}; write cumulative stage sizes such as '1, 10%, 50%', got ${show(raw)}`,
  });
  if (entries.length > MAX_STAGES)
    return bad(`has ${entries.length} stages, at most ${MAX_STAGES} are allowed`);
  const sizes: StageSize[] = [];
  for (const entry of entries) {
    const size = parseAmount(entry);
    if (!size) return bad(`stage ${show(entry)} is neither a whole number nor a percentage`);
    if ('count' in size && size.count < 1) return bad(`stage ${show(entry)} must be at least 1 server`);
    if ('percent' in size && !(size.percent > 0 && size.percent <= 100)) {
      return bad(`stage ${show(entry)} must be a percentage above 0 and at most 100`);
    }
    const shrinks = sizes.some((earlier) =>
      'count' in size
        ? 'count' in earlier && earlier.count > size.count
        : 'percent' in earlier && earlier.percent > size.percent,
    );
    if (shrinks) return bad(`stage ${show(entry)} is smaller than an earlier stage (sizes are cumulative)`);
    sizes.push(size);
  }
  return { value: sizes };
}

/** `N` servers or `P%` of the servers chosen. */
function budget(raw: string): Parsed<Budget> {
  const size = parseAmount(raw);
  if (!size || ('percent' in size && !(size.percent >= 0 && size.percent <= 100))) {
    return {
      problem: `must be a whole number of servers (0 or more) or a percentage from 0% to 100% such as '2%', got ${show(raw)}`,
    };
  }
  return { value: size };
}

/** `12` → a count, `2.5%` → a percentage; anything else → undefined. */
function parseAmount(raw: string): { count: number } | { percent: number } | undefined {
  if (/^\d+$/.test(raw)) return { count: Number(raw) };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(raw);
  return percent ? { percent: Number(percent[1]) } : undefined;
}
