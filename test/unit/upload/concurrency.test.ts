import { describe, expect, it } from 'vitest';
import { AUTO_MAX, AutoConcurrency } from '../../../src/upload/concurrency.js';

const MiB = 1024 * 1024;
const timing = { warmupMs: 500, windowMs: 1000 };

/**
 * Drives the controller with a fake clock: every 100 ms, the bytes a link moves at `rate(limit)`
 * MiB/s with the current limit. Returns the changes, as [time ms, limit, reason].
 */
function drive(rate: (limit: number) => number, untilMs = 20_000): Array<[number, number, string]> {
  const auto = new AutoConcurrency(timing);
  const changes: Array<[number, number, string]> = [[0, auto.limit, auto.start(0).reason]];
  let sent = 0;
  for (let t = 100; t <= untilMs; t += 100) {
    sent += (rate(auto.limit) * MiB) / 10;
    const change = auto.sample(t, sent);
    if (change) changes.push([t, change.limit, change.reason]);
  }
  return changes;
}

describe('AutoConcurrency', () => {
  it('capped link (8 MiB/s per connection, 64 MiB/s in all): grows to 16, sees no gain, settles at 8', () => {
    expect(drive((n) => Math.min(8 * n, 64))).toEqual([
      [0, 4, '4 parts in flight to start (upload-concurrency: auto)'],
      [1500, 8, '8 parts in flight: 4 moved 32.0 MiB/s'],
      [3000, 16, "16 parts in flight: 8 moved 64.0 MiB/s, more than 4's 32.0 MiB/s"],
      [4500, 8, "settled at 8 parts in flight: 16 moved 64.0 MiB/s, not 10 % more than 8's 64.0 MiB/s"],
    ]);
  });

  it('far link (2 MiB/s per connection, no cap): doubles up to 64 and stays there', () => {
    expect(drive((n) => 2 * n).map(([t, limit]) => [t, limit])).toEqual([
      [0, 4],
      [1500, 8],
      [3000, 16],
      [4500, 32],
      [6000, 64],
      [7500, 64],
    ]);
    expect(drive((n) => 2 * n).at(-1)?.[2]).toBe(
      'settled at 64 parts in flight, the most there can be: 64 moved 128.0 MiB/s',
    );
  });

  it('a CPU-bound link (the same rate whatever the limit) settles back at the start', () => {
    expect(drive(() => 300).map(([t, limit]) => [t, limit])).toEqual([
      [0, 4],
      [1500, 8],
      [3000, 4],
    ]);
  });

  it('growth under 10 % is no growth: 4 → 8 at +9 % settles at 4; at +11 % it goes on', () => {
    expect(drive((n) => (n === 4 ? 100 : 109)).at(-1)?.[1]).toBe(4);
    expect(drive((n) => (n === 4 ? 100 : 111)).map(([, limit]) => limit)).toEqual([4, 8, 16, 8]);
  });

  it('measures nothing during the warm-up: a burst right after a change does not count', () => {
    const auto = new AutoConcurrency(timing);
    auto.start(0);
    expect(auto.sample(400, 500 * MiB)).toBeUndefined(); // the burst, in the warm-up
    expect(auto.sample(500, 500 * MiB)).toBeUndefined(); // the window starts here
    expect(auto.sample(1499, 510 * MiB)).toBeUndefined();
    expect(auto.sample(1500, 510 * MiB)).toEqual({
      limit: 8,
      reason: '8 parts in flight: 4 moved 10.0 MiB/s',
    });
    expect(auto.levels).toEqual([{ limit: 4, bytesPerSecond: 10 * MiB }]);
  });

  it('never goes past 64, and says nothing more once settled', () => {
    const changes = drive((n) => n * 100, 60_000);
    expect(Math.max(...changes.map(([, limit]) => limit))).toBe(AUTO_MAX);
    expect(changes).toHaveLength(6);
  });
});
