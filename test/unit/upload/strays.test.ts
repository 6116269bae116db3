import { describe, expect, it } from 'vitest';
import type { ListedUpload } from '../../../src/huawei/obs.js';
import { strayUploads } from '../../../src/upload/strays.js';

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

  it('does not depend on the runner clock: the same answer whatever the skew', () => {
    for (const skew of [-SKEW, 0, 14 * 60_000]) {
      const shifted = listed.map((u) => ({ ...u, initiatedMs: u.initiatedMs - SKEW + skew }));
      const c = { serverNowMs: clock.serverNowMs - SKEW + skew, localNowMs: clock.localNowMs };
      expect(strayUploads(shifted, { key: KEY, keep: 'KEEP', firstSentAtMs: SENT }, c)).toHaveLength(3);
    }
  });
});
