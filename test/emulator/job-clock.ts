/**
 * The clock jobs run on: real time, or frozen and moved on by the test, so that "still running"
 * and "done" are facts the test sets, not races against a busy machine.
 */
export class JobClock {
  private frozenAt: number | undefined;
  private offsetMs = 0;

  now(): number {
    return (this.frozenAt ?? Date.now()) + this.offsetMs;
  }

  /** Stop time for jobs: nothing started ends until `advance()` moves the clock past it. */
  freeze(): void {
    this.frozenAt ??= Date.now();
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Back to real time. */
  reset(): void {
    this.frozenAt = undefined;
    this.offsetMs = 0;
  }
}
