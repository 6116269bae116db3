/**
 * How many parts an upload keeps in flight. A number fixes it. `auto` starts at 8 and doubles
 * while the measured throughput grows (by at least 10 % from one level to the next), up to 64;
 * when a doubling brings no such growth, the link is full (or the CPU is): it settles back at the
 * level before, which moved as much with fewer connections, and stays there. Each level is
 * measured over one window of sent bytes after a short warm-up (a new connection first fills its
 * socket buffer at memory speed, which says nothing about the link).
 *
 * Pure: it is fed (time, bytes sent so far) samples and says when the limit changes and why, so
 * it is tested with a fake clock and exact tables.
 */

/**
 * esdk starts with 20 in flight; starting at 4 cost a full level (~1 s) on every link that needs more
 * than 4, and 8 connections are still few for a saturated link to settle back on (bench/README.md).
 */
export const AUTO_START = 8;
export const AUTO_MAX = 64;
/** A level must move this much more than the one before to count as growth. */
export const MIN_GAIN = 0.1;

export interface AutoTiming {
  /** Ignored after each change of level, ms. */
  warmupMs: number;
  /** Measured after the warm-up, ms. */
  windowMs: number;
}

/**
 * 250 ms warm-up + 750 ms window per level: 8 → 64 in 3 s. Shorter is not safe: with 150 + 450 ms
 * on the far model (2 MiB/s per connection) 8 parts "moved" 52.7 MiB/s, their socket buffers still
 * filling at memory speed, so 16 looked slower and `auto` settled at 8 (bench/README.md).
 */
export const DEFAULT_TIMING: AutoTiming = { warmupMs: 250, windowMs: 750 };

export interface LimitChange {
  limit: number;
  /** Why, for the log: "8 parts in flight: 4 moved 31.8 MiB/s". */
  reason: string;
}

const MiB = 1024 * 1024;
const rate = (bytesPerSecond: number) => `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`;

export class AutoConcurrency {
  limit = AUTO_START;
  settled = false;
  /** Every level tried with its measured rate (bytes/s), in order. */
  readonly levels: Array<{ limit: number; bytesPerSecond: number }> = [];
  private levelStartMs: number | undefined;
  private windowStart: { ms: number; bytes: number } | undefined;

  constructor(private readonly timing: AutoTiming = DEFAULT_TIMING) {}

  /** The first change (the start), for the log. */
  start(nowMs: number): LimitChange {
    this.levelStartMs = nowMs;
    return { limit: this.limit, reason: `${this.limit} parts in flight to start (upload-concurrency: auto)` };
  }

  /** Feed the bytes sent so far at `nowMs`; returns a change of the limit when there is one. */
  sample(nowMs: number, bytesSent: number): LimitChange | undefined {
    if (this.settled) return undefined;
    this.levelStartMs ??= nowMs;
    if (this.windowStart === undefined) {
      if (nowMs - this.levelStartMs >= this.timing.warmupMs)
        this.windowStart = { ms: nowMs, bytes: bytesSent };
      return undefined;
    }
    const elapsed = nowMs - this.windowStart.ms;
    if (elapsed < this.timing.windowMs) return undefined;
    const bytesPerSecond = ((bytesSent - this.windowStart.bytes) * 1000) / elapsed;
    return this.judge(nowMs, bytesPerSecond);
  }

  private judge(nowMs: number, bytesPerSecond: number): LimitChange {
    const previous = this.levels.at(-1);
    this.levels.push({ limit: this.limit, bytesPerSecond });
    const measured = `${this.limit} moved ${rate(bytesPerSecond)}`;
    if (previous && bytesPerSecond < previous.bytesPerSecond * (1 + MIN_GAIN)) {
      this.settled = true;
      this.limit = previous.limit;
      return {
        limit: this.limit,
        reason: `settled at ${this.limit} parts in flight: ${measured}, not ${MIN_GAIN * 100} % more than ${previous.limit}'s ${rate(previous.bytesPerSecond)}`,
      };
    }
    if (this.limit >= AUTO_MAX) {
      this.settled = true;
      return {
        limit: this.limit,
        reason: `settled at ${this.limit} parts in flight, the most there can be: ${measured}`,
      };
    }
    this.limit = Math.min(AUTO_MAX, this.limit * 2);
    this.levelStartMs = nowMs;
    this.windowStart = undefined;
    const growth = previous ? `, more than ${previous.limit}'s ${rate(previous.bytesPerSecond)}` : '';
    return { limit: this.limit, reason: `${this.limit} parts in flight: ${measured}${growth}` };
  }
}
