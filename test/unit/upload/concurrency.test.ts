import { describe, expect, it } from 'vitest';
import { AUTO_MAX, AutoConcurrency } from '../../../src/upload/concurrency.js';
import { chunkBytesFor } from '../../../src/upload/upload.js';

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
  it('capped link (8 MiB/s per connection, 64 MiB/s in all): tries 16, sees no gain, settles at 8', () => {
    expect(drive((n) => Math.min(8 * n, 64))).toEqual([
      [0, 8, '8 parts in flight to start (upload-concurrency: auto)'],
      [1500, 16, '16 parts in flight: 8 moved 64.0 MiB/s'],
      [3000, 8, "settled at 8 parts in flight: 16 moved 64.0 MiB/s, not 10 % more than 8's 64.0 MiB/s"],
    ]);
  });

  it('far link (2 MiB/s per connection, no cap): doubles up to 64 and stays there', () => {
    expect(drive((n) => 2 * n).map(([t, limit]) => [t, limit])).toEqual([
      [0, 8],
      [1500, 16],
      [3000, 32],
      [4500, 64],
      [6000, 64],
    ]);
    expect(drive((n) => 2 * n).at(-1)?.[2]).toBe(
      'settled at 64 parts in flight, the most there can be: 64 moved 128.0 MiB/s',
    );
  });

  it('a CPU-bound link (the same rate whatever the limit) settles back at the start', () => {
    expect(drive(() => 300).map(([t, limit]) => [t, limit])).toEqual([
      [0, 8],
      [1500, 16],
      [3000, 8],
    ]);
  });

  it('growth under 10 % is no growth: 8 → 16 at +9 % settles at 8; at +11 % it goes on', () => {
    expect(drive((n) => (n === 8 ? 100 : 109)).at(-1)?.[1]).toBe(8);
    expect(drive((n) => (n === 8 ? 100 : 111)).map(([, limit]) => limit)).toEqual([8, 16, 32, 16]);
  });

  it('exactly 10 % more is growth: 8 moved 10 MiB/s, 16 moved 11 MiB/s → 32', () => {
    const auto = new AutoConcurrency(timing);
    auto.start(0);
    auto.sample(500, 0);
    expect(auto.sample(1500, 10 * MiB)).toEqual({
      limit: 16,
      reason: '16 parts in flight: 8 moved 10.0 MiB/s',
    });
    auto.sample(2000, 10 * MiB);
    expect(auto.sample(3000, 21 * MiB)).toEqual({
      limit: 32,
      reason: "32 parts in flight: 16 moved 11.0 MiB/s, more than 8's 10.0 MiB/s",
    });
  });

  it('measures nothing during the warm-up: a burst right after a change does not count', () => {
    const auto = new AutoConcurrency(timing);
    auto.start(0);
    expect(auto.sample(400, 500 * MiB)).toBeUndefined(); // the burst, in the warm-up
    expect(auto.sample(500, 500 * MiB)).toBeUndefined(); // the window starts here
    expect(auto.sample(1499, 510 * MiB)).toBeUndefined();
    expect(auto.sample(1500, 510 * MiB)).toEqual({
      limit: 16,
      reason: '16 parts in flight: 8 moved 10.0 MiB/s',
    });
    expect(auto.levels).toEqual([{ limit: 8, bytesPerSecond: 10 * MiB }]);
  });

  it('never goes past 64, and says nothing more once settled', () => {
    const changes = drive((n) => n * 100, 60_000);
    expect(Math.max(...changes.map(([, limit]) => limit))).toBe(AUTO_MAX);
    expect(changes).toHaveLength(5);
  });
});

describe('chunkBytesFor', () => {
  it('reads 256 KiB chunks up to 16 parts in flight, halving above so the rings never pass 12 MiB', () => {
    expect([1, 8, 16, 17, 32, 33, 64].map(chunkBytesFor)).toEqual([
      256 * 1024,
      256 * 1024,
      256 * 1024,
      128 * 1024,
      128 * 1024,
      64 * 1024,
      64 * 1024,
    ]);
    for (const n of [16, 32, 64]) expect(n * 3 * chunkBytesFor(n)).toBe(12 * MiB);
    expect(200 * 3 * chunkBytesFor(200)).toBe(200 * 3 * 64 * 1024);
  });
});
