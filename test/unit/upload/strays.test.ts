import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import type { ListedUpload, ObsClient } from '../../../src/huawei/obs.js';
import { abortStrayUploads, strayUploads } from '../../../src/upload/strays.js';

const KEY = 'releases/app.tar';
/** OBS's clock runs 10 minutes ahead of ours. */
const SKEW = 600_000;
const SENT = Date.parse('2026-11-30T12:00:00.000Z'); // local clock: the first Initiate left
const clock = { serverNowMs: SENT + 5_000 + SKEW, localNowMs: SENT + 5_000 }; // listed 5 s later

const upload = (uploadId: string, key: string, initiatedOffsetMs: number): ListedUpload => ({
  key,
  uploadId,
  initiatedMs: SENT + SKEW + initiatedOffsetMs,
});

describe('strayUploads', () => {
  const listed = [
    upload('KEEP', KEY, 3_000),
    upload('LOST-1', KEY, 50),
    upload('LOST-2', KEY, 1_500),
    upload('EARLY', KEY, -60_000), // an older run's, or another writer's: not ours
    upload('EDGE', KEY, -1_900), // within the 2 s margin for Date's whole seconds
    upload('LONGER', `${KEY}.bak`, 1_000), // the prefix matches a longer key
    upload('UNREADABLE', KEY, Number.NaN),
  ];

  it('keeps to uploads of the key, not in use, initiated since the first Initiate (OBS clock)', () => {
    expect(
      strayUploads(listed, { key: KEY, keep: 'KEEP', firstSentAtMs: SENT }, clock).map((u) => u.uploadId),
    ).toEqual(['LOST-1', 'LOST-2', 'EDGE']);
  });

  it('takes every upload of the window when the Initiate failed for good (none is in use)', () => {
    expect(
      strayUploads(listed, { key: KEY, keep: undefined, firstSentAtMs: SENT }, clock).map((u) => u.uploadId),
    ).toEqual(['KEEP', 'LOST-1', 'LOST-2', 'EDGE']);
  });

  it('the window starts exactly 2 s before the first Initiate (OBS clock): that upload is in, one 1 ms older is not', () => {
    const edge = [upload('AT', KEY, -2_000), upload('BEFORE', KEY, -2_001)];
    expect(
      strayUploads(edge, { key: KEY, keep: undefined, firstSentAtMs: SENT }, clock).map((u) => u.uploadId),
    ).toEqual(['AT']);
  });

  it('does not depend on the runner clock: the same answer whatever the skew', () => {
    for (const skew of [-SKEW, 0, 14 * 60_000]) {
      const shifted = listed.map((u) => ({ ...u, initiatedMs: u.initiatedMs - SKEW + skew }));
      const c = { serverNowMs: clock.serverNowMs - SKEW + skew, localNowMs: clock.localNowMs };
      expect(strayUploads(shifted, { key: KEY, keep: 'KEEP', firstSentAtMs: SENT }, c)).toHaveLength(3);
    }
  });
});

describe('abortStrayUploads', () => {
  const NOW = Date.parse('2026-11-30T12:00:10.000Z');
  const query = { key: KEY, keep: 'KEEP', firstSentAtMs: NOW - 5_000 };
  const listed = (uploadId: string, agoMs: number): ListedUpload => ({
    key: KEY,
    uploadId,
    initiatedMs: NOW - agoMs,
  });

  /** A scripted ObsClient: the listing (or its failure) and which aborts fail. */
  function obs(listing: ListedUpload[] | Error, failing: Record<string, Error> = {}) {
    const calls: string[] = [];
    const client = {
      async listMultipartUploads(prefix: string) {
        calls.push(`list ${prefix}`);
        if (listing instanceof Error) throw listing;
        return { uploads: listing, serverNowMs: NOW, localNowMs: NOW };
      },
      async abortMultipartUpload(key: string, uploadId: string) {
        calls.push(`abort ${key} ${uploadId}`);
        const failure = failing[uploadId];
        if (failure) throw failure;
      },
    } as unknown as ObsClient;
    return { client, calls };
  }

  function recorder() {
    const logs: string[] = [];
    const warnings: string[] = [];
    return {
      logs,
      warnings,
      events: { log: (m: string) => logs.push(m), warn: (m: string) => warnings.push(m) },
    };
  }

  it("aborts this run's strays in the listing's order, each with a line, and leaves the rest", async () => {
    const { client, calls } = obs([
      listed('OLD', 60_000),
      listed('LOST-1', 4_000),
      listed('KEEP', 3_000),
      listed('LOST-2', 2_000),
    ]);
    const { logs, warnings, events } = recorder();
    await abortStrayUploads(client, query, events);
    expect(calls).toEqual([`list ${KEY}`, `abort ${KEY} LOST-1`, `abort ${KEY} LOST-2`]);
    expect(logs).toEqual([
      `Aborted multipart upload LOST-1 of ${KEY}, opened by a repeated InitiateMultipartUpload.`,
      `Aborted multipart upload LOST-2 of ${KEY}, opened by a repeated InitiateMultipartUpload.`,
    ]);
    expect(warnings).toEqual([]);
  });

  it('no strays: nothing aborted, nothing said', async () => {
    const { client, calls } = obs([listed('KEEP', 3_000)]);
    const { logs, warnings, events } = recorder();
    await abortStrayUploads(client, query, events);
    expect(calls).toEqual([`list ${KEY}`]);
    expect([...logs, ...warnings]).toEqual([]);
  });

  it('an abort that fails is a warning; the next strays are still aborted', async () => {
    const { client, calls } = obs([listed('LOST-1', 4_000), listed('LOST-2', 2_000)], {
      'LOST-1': new Error('connection reset'),
    });
    const { logs, warnings, events } = recorder();
    await abortStrayUploads(client, query, events);
    expect(calls).toEqual([`list ${KEY}`, `abort ${KEY} LOST-1`, `abort ${KEY} LOST-2`]);
    expect(warnings).toEqual([
      `could not abort the extra multipart upload LOST-1 of ${KEY}: connection reset; ` +
        'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
    ]);
    expect(logs).toEqual([
      `Aborted multipart upload LOST-2 of ${KEY}, opened by a repeated InitiateMultipartUpload.`,
    ]);
  });

  const listError = (status: number | undefined) =>
    new ServiceError({
      service: 'OBS',
      operation: 'ListMultipartUploads',
      detail: 'refused',
      ...(status === undefined ? {} : { status, code: status === 403 ? 'AccessDenied' : 'InternalError' }),
    });

  it('a listing refused with 403: a warning that names the permission to grant; nothing aborted', async () => {
    const { client, calls } = obs(listError(403));
    const { logs, warnings, events } = recorder();
    await abortStrayUploads(client, query, events);
    expect(calls).toEqual([`list ${KEY}`]);
    expect(logs).toEqual([]);
    expect(warnings).toEqual([
      `InitiateMultipartUpload was sent more than once for ${KEY}, and the extra uploads it may have opened ` +
        'could not be listed: OBS ListMultipartUploads failed: refused (HTTP 403, error code AccessDenied). ' +
        'Grant obs:bucket:ListBucketMultipartUploads on the bucket so that the action can clean them up; ' +
        'until then, abort them by hand or let a lifecycle rule for incomplete multipart uploads remove them.',
    ]);
  });

  it.each([
    [
      'another status',
      listError(500),
      'OBS ListMultipartUploads failed: refused (HTTP 500, error code InternalError)',
    ],
    ['no answer', listError(undefined), 'OBS ListMultipartUploads failed: refused'],
    ['not an OBS error', new Error('bad XML'), 'bad XML'],
  ])('a listing that fails with %s: a warning without the permission', async (_, error, message) => {
    const { client } = obs(error);
    const { warnings, events } = recorder();
    await abortStrayUploads(client, query, events);
    expect(warnings).toEqual([
      `InitiateMultipartUpload was sent more than once for ${KEY}, and the extra uploads it may have opened ` +
        `could not be listed: ${message}. ` +
        'until then, abort them by hand or let a lifecycle rule for incomplete multipart uploads remove them.',
    ]);
  });

  it('without events it still aborts, silently', async () => {
    const { client, calls } = obs([listed('LOST-1', 4_000)], { 'LOST-1': new Error('x') });
    await abortStrayUploads(client, query);
    expect(calls).toEqual([`list ${KEY}`, `abort ${KEY} LOST-1`]);
    await abortStrayUploads(obs(new Error('x')).client, query);
  });
});
