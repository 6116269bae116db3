/**
 * Where the run talks to: the region, the project, and the base URLs of CPH, OBS and IAM (derived
 * from the region unless given).
 */

import { baseUrl, field, matching, optional, type Reader } from './reader.js';

export const REGION = field(
  'region',
  '',
  matching(/^[a-z]{2,}(-[a-z]+)+-\d+$/, "a region id such as 'cn-east-3'"),
  ['HUAWEI_CLOUD_REGION'],
);
export const PROJECT_ID = field(
  'project-id',
  '',
  matching(/^[0-9a-f]{32}$/, '32 lowercase hexadecimal characters'),
  ['HUAWEI_CLOUD_PROJECT_ID'],
);
export const CPH_ENDPOINT = field('cph-endpoint', '', optional(baseUrl));
export const OBS_ENDPOINT = field('obs-endpoint', '', optional(baseUrl));
export const IAM_ENDPOINT = field('iam-endpoint', '', optional(baseUrl));

export const PLACE_FIELDS = [REGION, PROJECT_ID];
export const ENDPOINT_FIELDS = [CPH_ENDPOINT, OBS_ENDPOINT, IAM_ENDPOINT];

export interface Place {
  region: string;
  /** Undefined: looked up through IAM later. */
  projectId: string | undefined;
}

export interface Endpoints {
  /** Base URLs, always with the path `/`. */
  cphEndpoint: URL;
  obsEndpoint: URL;
  iamEndpoint: URL;
}

/** `region` (required) and `project-id` (optional): the input, else the environment. */
export function readPlace(r: Reader): Partial<Place> {
  const region = r.readWithEnv(REGION);
  if (!region && !r.hasProblem(REGION.name)) {
    r.report(
      REGION.name,
      "is required: set the 'region' input or the HUAWEI_CLOUD_REGION environment variable, e.g. 'cn-east-3'",
    );
  }
  return { region: region?.value, projectId: r.readWithEnv(PROJECT_ID)?.value };
}

/** Each endpoint as given, else derived from a valid region; undefined when neither is possible. */
export function readEndpoints(r: Reader, region: string | undefined): Partial<Endpoints> {
  const endpoint = (f: typeof CPH_ENDPOINT, service: 'cph' | 'obs' | 'iam'): URL | undefined => {
    const given = r.raw(f);
    const url = r.read(f);
    if (given) return url;
    return region ? new URL(`https://${service}.${region}.myhuaweicloud.com/`) : undefined;
  };
  return {
    cphEndpoint: endpoint(CPH_ENDPOINT, 'cph'),
    obsEndpoint: endpoint(OBS_ENDPOINT, 'obs'),
    iamEndpoint: endpoint(IAM_ENDPOINT, 'iam'),
  };
}
