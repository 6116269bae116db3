/**
 * Where the run talks to: the region, the project, and the base URLs of CPH, OBS and IAM (derived
 * from the region unless given).
 */

import { baseUrl, field, fromEnv, optional, type Reader, show } from './reader.js';

export const REGION_PATTERN = /^[a-z]{2,}(-[a-z]+)+-\d+$/;
const PROJECT_ID_PATTERN = /^[0-9a-f]{32}$/;
const any = (raw: string) => ({ value: raw });

export const REGION = field('region', '', any, ['HUAWEI_CLOUD_REGION']);
export const PROJECT_ID = field('project-id', '', any, ['HUAWEI_CLOUD_PROJECT_ID']);
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
  const region = r.find(REGION);
  if (!region) {
    r.report(
      REGION.name,
      "is required: set the 'region' input or the HUAWEI_CLOUD_REGION environment variable, e.g. 'cn-east-3'",
    );
  } else if (!REGION_PATTERN.test(region.value)) {
    r.report(
      REGION.name,
      `must be a region id such as 'cn-east-3', got ${show(region.value)}${fromEnv(region)}`,
    );
  }
  const project = r.find(PROJECT_ID);
  if (project && !PROJECT_ID_PATTERN.test(project.value)) {
    r.report(
      PROJECT_ID.name,
      `must be 32 lowercase hexadecimal characters, got ${show(project.value)}${fromEnv(project)}`,
    );
  }
  return {
    region: region && REGION_PATTERN.test(region.value) ? region.value : undefined,
    projectId: project?.value,
  };
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
