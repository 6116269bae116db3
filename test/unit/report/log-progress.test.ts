/** The progress line of a long read or upload, on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { throttledProgress } from '../../../src/report/log.js';

const MiB = 1024 * 1024;

describe('throttledProgress', () => {
  function progress() {
    let now = 1_000_000;
    const lines: string[] = [];
    const report = throttledProgress(
      'Uploaded',
      (line) => lines.push(line),
      () => now,
    );
    return {
      lines,
      at(ms: number, done: number, total: number) {
        now = 1_000_000 + ms;
        report(done, total);
      },
    };
  }

  it('says percent, MiB done of total and the rate, at most once every 5 s', () => {
    const p = progress();
    p.at(1000, 10 * MiB, 100 * MiB);
    p.at(4999, 20 * MiB, 100 * MiB);
    expect(p.lines).toEqual([]);
    p.at(5000, 25 * MiB, 100 * MiB);
    expect(p.lines).toEqual(['Uploaded 25% (25.0 of 100.0 MiB), 5.0 MiB/s']);
    p.at(9999, 40 * MiB, 100 * MiB);
    expect(p.lines).toHaveLength(1);
    p.at(10_000, 50.5 * MiB, 100 * MiB);
    expect(p.lines.at(-1)).toBe('Uploaded 50% (50.5 of 100.0 MiB), 5.0 MiB/s');
  });

  it('rounds the percent down, so 100% is never claimed early, and says nothing once done', () => {
    const p = progress();
    p.at(6000, 100 * MiB - 1, 100 * MiB);
    expect(p.lines).toEqual(['Uploaded 99% (100.0 of 100.0 MiB), 16.7 MiB/s']);
    p.at(20_000, 100 * MiB, 100 * MiB);
    expect(p.lines).toHaveLength(1);
  });

  it('names what it counts', () => {
    const lines: string[] = [];
    let now = 0;
    const report = throttledProgress(
      'Read',
      (line) => lines.push(line),
      () => now,
    );
    now = 5000;
    report(MiB, 4 * MiB);
    expect(lines).toEqual(['Read 25% (1.0 of 4.0 MiB), 0.2 MiB/s']);
  });
});
