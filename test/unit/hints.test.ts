import { describe, expect, it } from 'vitest';
import { answerHint, hintFor, JOB_FAILURE_HINT } from '../../src/hints.js';

const CREDENTIALS =
  'check access-key-id and secret-access-key (and security-token for temporary credentials: it expires), ' +
  "and that the runner's clock is within 15 minutes of the real time";
const CLOCK = "the runner's clock is more than 15 minutes off; check its time synchronisation";
const THROTTLED =
  'the service is throttling this account; lower batch-size, poll less often, or run again later';
const API_NOT_FOUND = 'the API was not found at this address: check cph-endpoint / iam-endpoint and region';
const OBS_PERMISSIONS = "check the bucket policy and the IAM user's OBS permissions on this bucket";
const CPH_PERMISSIONS =
  "check that the IAM user has CPH permissions (for example the policy 'CPH FullAccess') in this project";
const SERVICE_FAILED = 'the service failed; run again later, and check the Huawei Cloud status page';
const NETWORK =
  "check the endpoint inputs, the network and the runner's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)";

describe('hintFor', () => {
  it.each([
    // By error code, whatever the status.
    ['CPH', 401, 'APIG.0301', CREDENTIALS],
    ['IAM', 401, 'APIGW.0301', CREDENTIALS],
    ['OBS', 403, 'SignatureDoesNotMatch', CREDENTIALS],
    ['OBS', 403, 'InvalidAccessKeyId', CREDENTIALS],
    ['CPH', 401, 'InvalidSecurity', CREDENTIALS],
    ['OBS', 400, 'InvalidToken', CREDENTIALS],
    ['OBS', 403, 'RequestTimeTooSkewed', CLOCK],
    ['CPH', 404, 'APIG.0101', API_NOT_FOUND],
    ['IAM', 404, 'APIGW.0101', API_NOT_FOUND],
    ['CPH', 429, 'APIG.0308', THROTTLED],
    ['IAM', 429, 'APIGW.0308', THROTTLED],
    [
      'OBS',
      403,
      'AccessDenied',
      "the credentials may not write to this bucket: check the bucket policy and the IAM user's OBS permissions (PutObject, multipart upload)",
    ],
    ['OBS', 404, 'NoSuchBucket', "check the bucket name and that obs-endpoint is in the bucket's region"],
    [
      'OBS',
      400,
      'VirtualHostDomainRequired',
      'OBS needs virtual-hosted addressing: give obs-endpoint as a host name, not an IP address or localhost',
    ],
    [
      'CPH',
      400,
      'CPS.0005',
      'check server-ids: each must be a cloud phone server of this project and region',
    ],
    [
      'CPH',
      400,
      'CPS.0097',
      'check server-ids: each must be a cloud phone server of this project and region',
    ],
    // By status when the code says nothing.
    ['CPH', 401, undefined, CREDENTIALS],
    ['OBS', 429, 'SlowDown', THROTTLED],
    ['OBS', 403, undefined, OBS_PERMISSIONS],
    ['CPH', 403, 'CPS.0004', CPH_PERMISSIONS],
    ['IAM', 403, undefined, CPH_PERMISSIONS],
    ['CPH', 404, 'CPS.0002', 'check project-id and cph-endpoint (region)'],
    ['OBS', 404, 'NoSuchKey', undefined],
    ['IAM', 404, undefined, undefined],
    ['CPH', 500, 'CPS.0000', SERVICE_FAILED],
    ['OBS', 503, 'ServiceUnavailable', SERVICE_FAILED],
    ['CPH', 499, undefined, undefined],
    ['CPH', 400, 'CPS.0001', undefined],
    ['CPH', 200, undefined, undefined],
    // No answer at all.
    ['CPH', undefined, undefined, NETWORK],
    ['OBS', undefined, undefined, NETWORK],
  ] as const)('%s HTTP %s %s', (service, status, code, hint) => {
    expect(hintFor(service, status, code)).toBe(hint);
  });

  it('tells a skewed clock (OBS) apart from bad credentials, which also mention the clock', () => {
    expect(hintFor('OBS', 403, 'RequestTimeTooSkewed')).not.toBe(
      hintFor('OBS', 403, 'SignatureDoesNotMatch'),
    );
    expect(hintFor('OBS', 403, 'RequestTimeTooSkewed')).not.toContain('access-key-id');
  });

  it('the job failure hint names shared storage, CPH delegation and the layout', () => {
    expect(JOB_FAILURE_HINT).toBe(
      "check that each server's flavor supports shared storage (its share_volume_info is not empty), " +
        "that CPH is delegated read access to the bucket, and that the tar's top level holds only data/ and cache/",
    );
  });
});

describe('answerHint', () => {
  it.each([
    ['CPH', 'cph-endpoint'],
    ['IAM', 'iam-endpoint'],
    ['OBS', 'obs-endpoint'],
  ] as const)('%s: names the endpoint input to check', (service, input) => {
    expect(answerHint(service)).toBe(
      `a proxy or gateway may be answering instead of ${service}: check ${input} and the proxy settings`,
    );
  });
});
