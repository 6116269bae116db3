/**
 * What to check next, by the service's error code or HTTP status. Kept in one
 * table so every failure message gives the same advice for the same cause.
 */
import type { ServiceName } from './errors.js';

const CREDENTIALS =
  'check access-key-id and secret-access-key (and security-token for temporary credentials: it expires), ' +
  "and that the runner's clock is within 15 minutes of the real time";
const CLOCK = "the runner's clock is more than 15 minutes off; check its time synchronisation";
const EXPIRED =
  'the temporary credentials expired: with a security-token input, pass fresh ones; with keyless sign-in, ' +
  "check that the runner's clock did not jump";
const THROTTLED =
  'the service is throttling this account; lower batch-size, poll less often, or run again later';

export function hintFor(
  service: ServiceName,
  status: number | undefined,
  code: string | undefined,
): string | undefined {
  switch (code) {
    case 'APIG.0301':
    case 'APIGW.0301':
    case 'SignatureDoesNotMatch':
    case 'InvalidAccessKeyId':
    case 'InvalidSecurity':
    case 'InvalidToken':
      return CREDENTIALS;
    case 'APIG.0307':
    case 'APIGW.0307':
      return EXPIRED;
    case 'RequestTimeTooSkewed':
      return CLOCK;
    case 'APIG.0101':
    case 'APIGW.0101':
      return 'the API was not found at this address: check cph-endpoint / iam-endpoint and region';
    case 'APIG.0308':
    case 'APIGW.0308':
      return THROTTLED;
    case 'AccessDenied':
      return "the credentials may not write to this bucket: check the bucket policy and the IAM user's OBS permissions (PutObject, multipart upload)";
    case 'NoSuchBucket':
      return "check the bucket name and that obs-endpoint is in the bucket's region";
    case 'VirtualHostDomainRequired':
      return 'OBS needs virtual-hosted addressing: give obs-endpoint as a host name, not an IP address or localhost';
    case 'CPS.0005':
    case 'CPS.0097':
      return 'check server-ids: each must be a cloud phone server of this project and region';
  }
  if (status === 401) return CREDENTIALS;
  if (status === 429) return THROTTLED;
  if (status === 403) {
    return service === 'OBS'
      ? "check the bucket policy and the IAM user's OBS permissions on this bucket"
      : "check that the IAM user has CPH permissions (for example the policy 'CPH FullAccess') in this project";
  }
  if (status === 404 && service === 'CPH') return 'check project-id and cph-endpoint (region)';
  if (status !== undefined && status >= 500)
    return 'the service failed; run again later, and check the Huawei Cloud status page';
  if (status === undefined) {
    return "check the endpoint inputs, the network and the runner's proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)";
  }
  return undefined;
}

export const JOB_FAILURE_HINT =
  "check that each server's flavor supports shared storage (its share_volume_info is not empty), " +
  "that CPH is delegated read access to the bucket, and that the tar's top level holds only data/ and cache/";

const ENDPOINT_INPUT: Record<ServiceName, string> = {
  CPH: 'cph-endpoint',
  IAM: 'iam-endpoint',
  OBS: 'obs-endpoint',
};

/** A 2xx answer without what the API promises: something other than the service may be answering. */
export function answerHint(service: ServiceName): string {
  return `a proxy or gateway may be answering instead of ${service}: check ${ENDPOINT_INPUT[service]} and the proxy settings`;
}
