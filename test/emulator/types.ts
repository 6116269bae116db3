/**
 * Types shared by the emulator's parts. The emulator is a test fixture: it imports nothing from
 * `src/`, so that a bug in the action's signer or client cannot hide behind the same bug here.
 */
import type { IdentityProviderDef } from './federation.js';

export type Service = 'CPH' | 'IAM' | 'OBS' | 'GitHub';

/** Operations the emulator knows. Fault rules and recordings name requests by these. */
export type Op =
  | 'ListProjects'
  | 'CreateUnscopedTokenWithIdToken'
  | 'CreateTemporaryAccessKeyByToken'
  | 'GetIdToken'
  | 'PushShareFiles'
  /** Same method and URI as PushShareFiles; told apart by its body (`server_ids` and `file_paths`). */
  | 'DeleteShareFiles'
  | 'ListJobs'
  | 'ShowJob'
  | 'ListCloudPhoneServers'
  | 'ListCloudPhoneModels'
  | 'HeadObject'
  | 'GetObject'
  | 'PutObject'
  | 'DeleteObject'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'HeadBucket'
  | 'Unknown';

export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  /** Marks the pair as temporary: every request must carry this token, signed. */
  securityToken?: string;
  /** Temporary credentials from IAM: refused from this time on (ms, emulator clock). */
  expiresAt?: number;
}

export interface ProjectDef {
  id: string;
  /** Region name, e.g. `cn-east-3`; IAM filters on it. */
  name: string;
  domainId?: string;
  enabled?: boolean;
}

export interface JobFailure {
  error_code: string;
  error_msg: string;
  execute_msg?: string | null;
}

/**
 * A cloud phone server of the fleet, as ListCloudPhoneServers shows it. With a fleet, a push to a
 * server that is not running, or whose phone model has no shared storage, creates a job that fails
 * (the server could not take the push); a push to an id not in the fleet is refused in the 200.
 */
export interface ServerDef {
  server_id: string;
  server_name: string;
  /** The flavor: a `phone_model_name` of `phoneModels`. */
  phone_model_name: string;
  /** `5` running; `0 1 3 4` creating, `2` abnormal, `8` frozen, `10` shut down, `11` shutting down, `12` shutdown failed, `13` starting. */
  status: number;
  server_model_name?: string;
  availability_zone?: string;
  create_time?: string;
  /** Listed only in this project; default every project. */
  projectId?: string;
}

/** A phone model (flavor) as ListCloudPhoneModels shows it; `extend_spec` left out when undefined. */
export interface PhoneModelDef {
  phone_model_name: string;
  server_model_name?: string;
  /** 1 on sale, 0 withdrawn. Default 1. */
  status?: number;
  /** A JSON string; shared storage when it holds `max_share_disk_size_g`. Any text, null or absent. */
  extend_spec?: string | null;
}

/** How one cloud phone server reacts to PushShareFiles. */
export interface PhoneBehaviour {
  /** Reject the server inside the 200 answer: an entry with this error and no job. */
  reject?: { error_code: string; error_msg: string };
  /** Leave the server out of the answer entirely. */
  omit?: boolean;
  /** How long the job runs; default `defaultJobDurationMs`. */
  durationMs?: number;
  /** `stuck` = status 1 forever. Default `success`. */
  outcome?: 'success' | 'failure' | 'stuck';
  /** Error reported when `outcome` is `failure`. */
  failure?: JobFailure;
  /** The job never shows in ListJobs (ShowJob still finds it). */
  hiddenFromList?: boolean;
  /** Status reported while running instead of 1 (e.g. 3, an undocumented value). */
  runningStatus?: number;
  /** How the server reacts to DeleteShareFiles (same fields); default: success after `defaultJobDurationMs`. */
  onDelete?: Omit<PhoneBehaviour, 'onDelete'>;
}

export type FaultAction =
  /** Answer this instead of handling the request (the request body is read and discarded). */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Read the request, wait, then handle it normally (side effects happen even if the client gave up). */
  | { kind: 'delay'; ms: number }
  /** Destroy the socket as soon as the request head arrives; nothing is processed. */
  | { kind: 'drop' }
  /** Handle the request fully (side effects happen), then destroy the socket without answering. */
  | { kind: 'drop-after' }
  /**
   * Drop this request, close the listener and every open socket for `ms`, then listen again on the
   * same port. Without `ms`, until the test calls `emu.listenAgain()` (on an event, not a timer).
   */
  | { kind: 'refuse'; ms?: number }
  /**
   * Handle and answer this request (with `Connection: close`), but close the listener and every
   * other socket first, for `ms` (or until `emu.listenAgain()`): the client's NEXT request meets
   * ECONNREFUSED, certainly unsent.
   */
  | { kind: 'refuse-after'; ms?: number };

export interface FaultRule {
  op: Op | Op[] | '*';
  /** How many matching requests the rule hits; default 1, `Infinity` allowed (`null` in JSON config). */
  times?: number;
  /** Only UploadPart requests with this part number. */
  partNumber?: number;
  action: FaultAction;
}

export interface RecordedRequest {
  seq: number;
  op: Op;
  service: Service;
  method: string;
  /** Path as received, without the query. */
  path: string;
  /** Decoded query parameters (first value of a repeated name). */
  query: Record<string, string>;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** CPH/IAM: the parsed JSON body (the raw text when it is no JSON); absent when empty. */
  body?: unknown;
  /** OBS: bytes received in the body and their hex MD5. */
  bodyBytes?: number;
  bodyMd5?: string;
  /** HTTP status answered; 0 while in flight or when the socket was dropped/aborted. */
  status: number;
  /** Service error code answered (`APIG.0301`, `NoSuchKey`, …), if any. */
  errorCode?: string;
  /** Request id sent back (`X-Request-Id` / `x-obs-request-id`). */
  requestId: string;
  authOk: boolean;
  /** Why authentication failed. */
  authError?: string;
  /** The request was signed with temporary credentials expiring at this time (ms, emulator clock). */
  credentialExpiresAt?: number;
  /** …and they had expired when it arrived: refused (APIG 401 / OBS 403). */
  expiredCredentials?: boolean;
  /** The fault that hit this request, e.g. `status:503`, `delay:200`, `drop`, `drop-after`, `refuse:300`, `refuse-after:300`. */
  fault?: string;
  /** The client went away before the request was handled. */
  aborted?: boolean;
  /** Arrival time (ms since epoch, real clock). */
  time: number;
  /** When the answer was finished (or the socket dropped). */
  endTime?: number;
  /**
   * A PushShareFiles body that also carried `file_paths`: a push and a DeleteShareFiles mixed on
   * their shared URI. Must never happen.
   */
  deleteShareFilesHazard?: boolean;
}

export interface EmulatorOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Accepted credentials; default `[DEFAULT_CREDENTIALS, TEMP_CREDENTIALS]`. */
  credentials?: Credential[];
  /** IAM projects; default one project `DEFAULT_PROJECT_ID` named `cn-east-3`. */
  projects?: ProjectDef[];
  /** OBS buckets; default `['cph-bucket']`. */
  buckets?: string[];
  /** Per-server behaviours. */
  phones?: Record<string, PhoneBehaviour>;
  /** Behaviour of servers not in `phones`; default success after `defaultJobDurationMs`. */
  defaultPhone?: PhoneBehaviour;
  /** Default 300. */
  defaultJobDurationMs?: number;
  /** The fleet ListCloudPhoneServers lists (in this order, "newest first"); default none. */
  servers?: ServerDef[];
  /** The phone models ListCloudPhoneModels lists; default none. */
  phoneModels?: PhoneModelDef[];
  /** Jobs fail when the pushed object is absent from the emulator's OBS at push time. Default true. */
  requireObject?: boolean;
  /** When set, a successful job unpacks the tar into `phonesDir/<server_id>/`. */
  phonesDir?: string;
  /** Parent directory for object data; default the OS temp dir. A fresh sub-directory is used and removed on close. */
  dataDir?: string;
  /** Hash and count object bodies but keep no bytes (benchmarks). */
  discardObjectData?: boolean;
  /** Shift of the emulator's clock against the real one, ms (signature date checks). */
  clockSkewMs?: number;
  /** Put the canonical request / string to sign in signature-mismatch messages, as the real services may. */
  echoCanonicalRequest?: boolean;
  faults?: FaultRule[];
  /** Default 15000 (longer than undici's 4 s, so the client always closes an idle socket first). */
  keepAliveTimeoutMs?: number;
  /** Lock an AK for 5 minutes after this many APIG auth failures in a row, like the gateway. Default 0 = off. */
  authLockoutThreshold?: number;
  /** Minimum size of every multipart part but the last; default 100 KB (102400). */
  minPartSize?: number;
  /** Uploads per ListMultipartUploads page when the request asks for more (or nothing); default 1000. */
  listUploadsPageSize?: number;
  /** Model a long link: OBS request bodies read at most this fast per connection, answers delayed. */
  throttle?: LinkThrottle;
  /** IAM identity providers for keyless sign-in; default one, `github-actions` (see federation.ts). */
  identityProviders?: IdentityProviderDef[];
  /** Lifetime of temporary credentials from securitytokens; default the `duration_seconds` asked. */
  credentialsLifetimeMs?: number;
  /** Lifetime of GitHub ID tokens; default 5 minutes. */
  idTokenLifetimeMs?: number;
  /** Lifetime of IAM unscoped tokens; default 24 hours. */
  unscopedTokenLifetimeMs?: number;
}

/** A long, slow link, per connection: what one TCP stream to a far-away region gets. */
export interface LinkThrottle {
  /** Upper bound on how fast one request's body is read, bytes per second. */
  bytesPerSecond: number;
  /** Wait before each OBS answer (the round trips a request costs on a long link). */
  answerDelayMs: number;
  /** Upper bound on all bodies together, bytes per second (a capped link); none when absent. */
  totalBytesPerSecond?: number;
}

/** The mutable part of the configuration; changes take effect on the next request. */
export interface EmulatorSettings {
  clockSkewMs: number;
  echoCanonicalRequest: boolean;
  requireObject: boolean;
  defaultJobDurationMs: number;
  defaultPhone: PhoneBehaviour;
  discardObjectData: boolean;
  authLockoutThreshold: number;
  minPartSize: number;
  listUploadsPageSize: number;
  throttle: LinkThrottle | undefined;
  phonesDir: string | undefined;
  credentialsLifetimeMs: number | undefined;
  idTokenLifetimeMs: number;
  unscopedTokenLifetimeMs: number;
}

/** What a handler answers; the server adds request ids and records it. */
export interface HandlerResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Stream this file range instead of `body` (GetObject). */
  files?: string[];
  errorCode?: string;
  /** Answer with `Connection: close` (the request body was not read). */
  closeConnection?: boolean;
}
