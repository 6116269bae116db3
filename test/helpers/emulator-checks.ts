/**
 * What end-to-end tests check on the emulator after a run: which requests it saw (by operation,
 * with their statuses), and that nothing was lost or left behind — no open multipart upload, no
 * DeleteShareFiles-shaped body, no push after a failed upload.
 */
import { expect, vi } from 'vitest';
import type { Emulator, Op, RecordedRequest } from '../emulator/index.js';

/** Statuses answered to `op`, in arrival order (0 = no answer: dropped or aborted). */
export function statusesOf(
  emu: Emulator,
  op: Op,
  where: (r: RecordedRequest) => boolean = () => true,
): number[] {
  return emu
    .requestsFor(op)
    .filter(where)
    .map((r) => r.status);
}

/**
 * Waits until the emulator has finished every request it received, so that nothing spills into the
 * next test after `reset()`: a `delay` fault goes on handling a request (a push included) after
 * the client gave up on it. An event (the handler finished), not a guess at how long it takes.
 */
export async function settled(emu: Emulator, timeoutMs = 30_000): Promise<void> {
  await vi.waitFor(
    () => {
      if (emu.inFlight() > 0) throw new Error(`${emu.inFlight()} requests still being handled`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** The server ids of every PushShareFiles body, flattened in order. */
export function pushedServerIds(emu: Emulator): string[] {
  return emu
    .requestsFor('PushShareFiles')
    .flatMap((r) => ((r.body as { server_ids?: string[] } | undefined)?.server_ids ?? []) as string[]);
}

/**
 * Nothing lost or left behind: no open multipart upload, no DeleteShareFiles hazard, every push body
 * exactly the three keys, and — when an upload was attempted and did not succeed — no push at all.
 */
export function expectNothingLeftBehind(emu: Emulator, options: { uploadFailed?: boolean } = {}): void {
  expect(
    [...emu.obs.uploads.values()].map((u) => u.uploadId),
    'open multipart uploads left behind',
  ).toEqual([]);
  expect(
    emu.requests.filter((r) => r.deleteShareFilesHazard).map((r) => r.seq),
    'DeleteShareFiles hazard',
  ).toEqual([]);
  // A push dropped as it arrived has no recorded body.
  for (const push of emu.requestsFor('PushShareFiles').filter((r) => r.body !== undefined)) {
    expect(Object.keys((push.body ?? {}) as object).sort()).toEqual([
      'bucket_name',
      'object_path',
      'server_ids',
    ]);
  }
  if (options.uploadFailed) {
    expect(emu.requestsFor('PushShareFiles'), 'a push after a failed upload').toEqual([]);
  }
}
