import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortable, CLEANUP_GRACE_MS, cancelledError, cleanupSignal } from '../../../src/upload/cancel.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Resolves with the signal's reason once it aborts (no deadline: the test's own timeout is the guard). */
const abortReason = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason));
  });

describe('cancelledError', () => {
  it("is the signal's reason", () => {
    const reason = new Error('SIGTERM');
    const controller = new AbortController();
    controller.abort(reason);
    expect(cancelledError(controller.signal)).toBe(reason);
  });

  it('is an AbortError saying the upload was cancelled when the signal has no reason', () => {
    const error = cancelledError({ aborted: true, reason: undefined } as AbortSignal);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect((error as DOMException).message).toBe('The upload was cancelled.');
  });
});

describe('abortable', () => {
  it('without a signal is the promise itself', () => {
    const promise = Promise.resolve(1);
    expect(abortable(promise, undefined)).toBe(promise);
  });

  it('rejects at once with the reason when the signal has already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(abortable(new Promise(() => {}), controller.signal)).rejects.toBe(reason);
  });

  it('rejects with the reason as soon as the signal aborts, without waiting for the promise', async () => {
    const controller = new AbortController();
    const reason = new Error('gone');
    const pending = abortable(new Promise(() => {}), controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("passes the promise's value and its error, and lets go of the signal after either", async () => {
    const controller = new AbortController();
    const removed = vi.spyOn(controller.signal, 'removeEventListener');
    const added = vi.spyOn(controller.signal, 'addEventListener');
    await expect(abortable(Promise.resolve('digest'), controller.signal)).resolves.toBe('digest');
    const failure = new Error('worker died');
    await expect(abortable(Promise.reject(failure), controller.signal)).rejects.toBe(failure);
    expect(added.mock.calls.map(([type, , options]) => [type, options])).toEqual([
      ['abort', { once: true }],
      ['abort', { once: true }],
    ]);
    expect(removed.mock.calls.map(([type, listener]) => [type, listener])).toEqual(
      added.mock.calls.map(([type, listener]) => [type, listener]),
    );
  });
});

describe('cleanupSignal', () => {
  it('the grace is 3 s: the runner gives a cancelled job a few seconds before it kills it', () => {
    expect(CLEANUP_GRACE_MS).toBe(3000);
  });

  it('without a run signal there is none', () => {
    expect(cleanupSignal(undefined)).toBeUndefined();
  });

  it('follows the run: untouched until it aborts, then aborted the grace later with a TimeoutError', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const run = new AbortController();
    const signal = cleanupSignal(run.signal) as AbortSignal;
    expect(signal).not.toBe(run.signal);
    vi.advanceTimersByTime(10 * CLEANUP_GRACE_MS);
    expect(signal.aborted).toBe(false);
    run.abort(new Error('cancelled'));
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(CLEANUP_GRACE_MS - 1);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect((signal.reason as DOMException).message).toBe('The clean-up ran out of time.');
  });

  it('listens to the run once: nothing stays attached to it after it aborted', () => {
    const run = new AbortController();
    const added = vi.spyOn(run.signal, 'addEventListener');
    cleanupSignal(run.signal, 60_000);
    expect(added.mock.calls.map(([type, , options]) => [type, options])).toEqual([['abort', { once: true }]]);
  });

  it('a grace of its own', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const run = new AbortController();
    const signal = cleanupSignal(run.signal, 50) as AbortSignal;
    run.abort();
    vi.advanceTimersByTime(49);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
  });

  it('its timer does not keep the process alive', () => {
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    const run = new AbortController();
    cleanupSignal(run.signal, 60_000);
    run.abort();
    expect(timeouts).toHaveBeenCalledTimes(1);
    const timer = timeouts.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });

  it('a run already cancelled: a signal that is not aborted yet, and aborts the grace later with a TimeoutError', async () => {
    const run = new AbortController();
    run.abort(new Error('cancelled'));
    const later = cleanupSignal(run.signal) as AbortSignal;
    expect(later.aborted).toBe(false);
    const soon = cleanupSignal(run.signal, 1) as AbortSignal;
    expect(soon.aborted).toBe(false);
    const reason = await abortReason(soon);
    expect((reason as DOMException).name).toBe('TimeoutError');
  });
});
