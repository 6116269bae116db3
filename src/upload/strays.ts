/**
 * Stray multipart uploads: when the answer to an InitiateMultipartUpload is lost and the request
 * is sent again, OBS has opened one upload per request that arrived, and only the last one's id
 * reached us. The others would stay open (and billed) forever, so they are found with
 * ListMultipartUploads and aborted.
 *
 * Which listed uploads are this run's: an upload of exactly our key, other than the one in use,
 * initiated (OBS's clock) after our first Initiate was sent. ListMultipartUploads shows no
 * metadata, so a marker sent with the Initiate could not be read back; time is what the listing
 * has. Our send time is moved to OBS's clock with the listing's own `Date` header and the
 * local time it arrived, so a runner whose clock is off does not matter, and it is moved 2 s
 * earlier for the `Date` header's whole seconds. What this cannot tell apart is another writer
 * starting an upload of the same key in the same few seconds; two runs writing one object at
 * once already race for the result, and aborting the other's upload makes that one fail loudly
 * rather than leave a stray.
 */
import { ServiceError } from '../errors.js';
import type { ListedUpload, ObsClient } from '../huawei/obs.js';
import { errorMessage } from '../util/text.js';

/** `Date` has whole seconds; a second more for the time between OBS's clock and ours. */
const CLOCK_MARGIN_MS = 2000;

export interface StrayQuery {
  key: string;
  /** The upload this run goes on with; absent when the Initiate failed for good. */
  keep: string | undefined;
  /** Local clock: when the first Initiate request was sent. */
  firstSentAtMs: number;
}

/** The listed uploads that are this run's strays (pure: see the file comment for the rule). */
export function strayUploads(
  listed: readonly ListedUpload[],
  query: StrayQuery,
  clock: { serverNowMs: number; localNowMs: number },
): ListedUpload[] {
  const sinceMs = clock.serverNowMs - (clock.localNowMs - query.firstSentAtMs) - CLOCK_MARGIN_MS;
  return listed.filter((u) => u.key === query.key && u.uploadId !== query.keep && u.initiatedMs >= sinceMs);
}

export interface StrayEvents {
  log?(message: string): void;
  warn?(message: string): void;
}

/** Finds and aborts this run's stray uploads of `query.key`; never throws (a failure is a warning). */
export async function abortStrayUploads(
  obs: ObsClient,
  query: StrayQuery,
  events: StrayEvents = {},
): Promise<void> {
  let strays: ListedUpload[];
  try {
    const listing = await obs.listMultipartUploads(query.key);
    strays = strayUploads(listing.uploads, query, listing);
  } catch (error) {
    const denied = error instanceof ServiceError && error.status === 403;
    events.warn?.(
      `InitiateMultipartUpload was sent more than once for ${query.key}, and the extra uploads it may have ` +
        `opened could not be listed: ${errorMessage(error)}. ` +
        (denied
          ? 'Grant obs:bucket:ListBucketMultipartUploads on the bucket so that the action can clean them up; '
          : '') +
        'until then, abort them by hand or let a lifecycle rule for incomplete multipart uploads remove them.',
    );
    return;
  }
  for (const stray of strays) {
    try {
      await obs.abortMultipartUpload(stray.key, stray.uploadId);
      events.log?.(
        `Aborted multipart upload ${stray.uploadId} of ${stray.key}, opened by a repeated InitiateMultipartUpload.`,
      );
    } catch (error) {
      events.warn?.(
        `could not abort the extra multipart upload ${stray.uploadId} of ${stray.key}: ${errorMessage(error)}; ` +
          'its parts stay in the bucket until a lifecycle rule or a manual abort removes them',
      );
    }
  }
}
