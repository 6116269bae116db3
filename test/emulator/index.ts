/**
 * A local emulator of Huawei Cloud CPH, IAM and OBS over real HTTP on loopback, strict like the
 * services: it verifies SDK-HMAC-SHA256 and OBS signatures, validates PushShareFiles bodies, runs
 * jobs on a clock, stores objects on disk, and injects faults on demand.
 *
 *   const emu = await startEmulator();
 *   emu.obs.putObject('cph-bucket', 'apps/app.tar', tarBytes);
 *   emu.phones.set('server-1', { outcome: 'failure' });
 *   emu.faults.add({ op: 'PushShareFiles', action: apigError(429, 'APIG.0308') });
 *   … point the client at emu.url (CPH, IAM and OBS endpoints alike) …
 *   await emu.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CphState } from './cph.js';
import { Faults } from './faults.js';
import { defaultIdentityProvider, Federation, type IdentityProviderDef } from './federation.js';
import { GitHubOidc, ID_TOKEN_PATH } from './github-oidc.js';
import { JobClock } from './job-clock.js';
import { ObsStore } from './obs.js';
import { EmulatorServer } from './server.js';
import type { StateSection } from './state.js';
import { readTarMembers, SharedStorage, type StoredEntry } from './storage.js';
import type {
  Credential,
  EmulatorOptions,
  EmulatorSettings,
  Op,
  PhoneBehaviour,
  PhoneModelDef,
  ProjectDef,
  RecordedRequest,
  ServerDef,
} from './types.js';

export {
  CPH_ERRORS,
  type DeleteRecord,
  type EmulatedJob,
  type JobView,
  type PushRecord,
  type TimelineEvent,
} from './cph.js';
export { apigError, Faults, obsError, REQUEST_ID_PLACEHOLDER, shortPage } from './faults.js';
export {
  DEFAULT_IDENTITY_PROVIDER_ID,
  defaultIdentityProvider,
  type Federation,
  type IdentityProviderDef,
  type IssuedCredential,
  keystoneError,
  type MappingRule,
  type RemoteCondition,
} from './federation.js';
export {
  DEFAULT_GITHUB_JOB,
  GITHUB_ISSUER,
  type GitHubJob,
  type GitHubOidc,
  subjectOf,
} from './github-oidc.js';
export { JobClock } from './job-clock.js';
export type { MultipartUpload, ObjectInfo, ObsStore, StoredObject } from './obs.js';
export { STATE_PATH, type StateSection } from './state.js';
export {
  type HeldEntry,
  readTarMembers,
  SharedStorage,
  type StoredEntry,
  type StoredType,
  type TarMember,
} from './storage.js';
export type * from './types.js';

export const DEFAULT_CREDENTIALS: Credential = {
  accessKeyId: 'EMULATORAK0000000001',
  secretAccessKey: 'emulator-secret-key-do-not-log',
};

/** Temporary credentials: requests must carry the token (`X-Security-Token` / `x-obs-security-token`), signed. */
export const TEMP_CREDENTIALS: Required<Omit<Credential, 'expiresAt'>> = {
  accessKeyId: 'EMULATORTEMPAK000001',
  secretAccessKey: 'emulator-temp-secret-key-do-not-log',
  securityToken:
    'gQpjbi1lYXN0LTOEmulatorSecurityTokenDoNotLog-' +
    'aW1wb3J0YW50OiB0aGlzIGlzIGEgZmFrZSB0b2tlbiBmb3IgdGVzdHM_' +
    '9f8e7d6c5b4a39281706f5e4d3c2b1a0-ZW11bGF0b3ItdG9rZW4=',
};

export const DEFAULT_PROJECT_ID = '0123456789abcdef0123456789abcdef';
export const DEFAULT_REGION = 'cn-east-3';
export const DEFAULT_BUCKET = 'cph-bucket';

export interface Emulator {
  /** `http://127.0.0.1:PORT` — the endpoint for CPH, IAM and OBS alike (OBS path-style). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order (entries are completed when the answer is sent). */
  readonly requests: RecordedRequest[];
  /** Behaviour per server id; `set()` at any time, it applies to jobs created afterwards. */
  readonly phones: Map<string, PhoneBehaviour>;
  readonly obs: ObsStore;
  /** Jobs and pushes seen so far; `view(job)` shows a job as the API would now. */
  readonly cph: CphState;
  /**
   * Each server's shared storage: what the pushes that succeeded put there, minus what the
   * deletes that succeeded removed (`entries(serverId)`, `paths(serverId)`, `wipe(serverId)`).
   */
  readonly storage: SharedStorage;
  /** What a server with empty storage holds after a push of this object (its tar's members). */
  bundle(bucket: string, key: string): StoredEntry[];
  readonly faults: Faults;
  /** Live settings: change `clockSkewMs`, `requireObject`, … between requests. */
  readonly settings: EmulatorSettings;
  /** The clock jobs run on: `freeze()` it and `advance()` it to decide when jobs end. */
  readonly jobClock: JobClock;
  /** Listen again after a `refuse` / `refuse-after` fault without `ms` (no-op when listening). */
  listenAgain(): Promise<void>;
  /** Sections added to `GET /_emulator/state` (state.ts), by name: each called per request. */
  readonly stateSections: Map<string, StateSection>;
  /** Accepted credentials (mutable). */
  readonly credentials: Credential[];
  /** IAM projects (mutable): make zero or two match a region to test the lookup's errors. */
  readonly projects: ProjectDef[];
  /** The fleet ListCloudPhoneServers lists (mutable); empty = no fleet, any id takes a push. */
  readonly servers: ServerDef[];
  /** The phone models ListCloudPhoneModels lists (mutable). */
  readonly phoneModels: PhoneModelDef[];
  /** GitHub's ID-token service: its keys, the job the tokens describe, the tokens issued. */
  readonly github: GitHubOidc;
  /** IAM federation: identity providers (mutable), unscoped tokens and temporary credentials issued. */
  readonly federation: Federation;
  /**
   * What a job with `permissions: id-token: write` finds in its environment:
   * `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` pointing at this emulator.
   */
  readonly idTokenEnv: Record<'ACTIONS_ID_TOKEN_REQUEST_URL' | 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', string>;
  /** Requests per operation. */
  countByOp(): Partial<Record<Op, number>>;
  requestsFor(op: Op | Op[]): RecordedRequest[];
  /**
   * Back to the state right after start: recordings, jobs, phones, faults, settings, credentials,
   * projects, open uploads, and objects (unless `keepObjects`).
   */
  reset(options?: { keepObjects?: boolean }): void;
  /** Requests still being handled: a `delay` fault goes on (a push included) after the client gave up. */
  inFlight(): number;
  /** Forget the recorded requests only. */
  clearRequests(): void;
  close(): Promise<void>;
}

function initialSettings(options: EmulatorOptions): EmulatorSettings {
  return {
    clockSkewMs: options.clockSkewMs ?? 0,
    echoCanonicalRequest: options.echoCanonicalRequest ?? false,
    requireObject: options.requireObject ?? true,
    defaultJobDurationMs: options.defaultJobDurationMs ?? 300,
    defaultPhone: options.defaultPhone ?? {},
    discardObjectData: options.discardObjectData ?? false,
    authLockoutThreshold: options.authLockoutThreshold ?? 0,
    minPartSize: options.minPartSize ?? 100 * 1024,
    listUploadsPageSize: options.listUploadsPageSize ?? 1000,
    throttle: options.throttle,
    phonesDir: options.phonesDir,
    credentialsLifetimeMs: options.credentialsLifetimeMs,
    idTokenLifetimeMs: options.idTokenLifetimeMs ?? 5 * 60 * 1000,
    unscopedTokenLifetimeMs: options.unscopedTokenLifetimeMs ?? 24 * 60 * 60 * 1000,
  };
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const settings = initialSettings(options);
  const credentials: Credential[] = [];
  const projects: ProjectDef[] = [];
  const phones = new Map<string, PhoneBehaviour>();
  const servers: ServerDef[] = [];
  const phoneModels: PhoneModelDef[] = [];
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const clock = () => Date.now() + settings.clockSkewMs;
  const github = new GitHubOidc(clock);
  const federation = new Federation(settings, credentials, clock);
  // As an admin sets it up: GitHub's JWKS pasted into the provider when the emulator starts.
  const providers = (): IdentityProviderDef[] =>
    (options.identityProviders ?? [defaultIdentityProvider()]).map((p) => ({
      ...p,
      signingKeys: p.signingKeys ?? github.jwks(),
    }));
  const fillFromOptions = () => {
    credentials.splice(
      0,
      credentials.length,
      ...(options.credentials ?? [DEFAULT_CREDENTIALS, TEMP_CREDENTIALS]),
    );
    projects.splice(
      0,
      projects.length,
      ...(options.projects ?? [{ id: DEFAULT_PROJECT_ID, name: DEFAULT_REGION }]),
    );
    servers.splice(0, servers.length, ...(options.servers ?? []));
    phoneModels.splice(0, phoneModels.length, ...(options.phoneModels ?? []));
    phones.clear();
    for (const [id, behaviour] of Object.entries(options.phones ?? {})) phones.set(id, behaviour);
    faults.clear();
    for (const rule of options.faults ?? []) faults.add(rule);
    github.reset();
    federation.reset(providers());
  };
  fillFromOptions();

  const dataDir = mkdtempSync(join(options.dataDir ?? tmpdir(), 'cph-emulator-'));
  const obs = new ObsStore(join(dataDir, 'objects'), settings, options.buckets ?? [DEFAULT_BUCKET]);
  const jobClock = new JobClock();
  const cph = new CphState(settings, phones, () => projects, obs, clock, servers, phoneModels, jobClock);
  const server = new EmulatorServer(
    { settings, credentials, projects, faults, cph, obs, requests, github, federation },
    host,
    options.keepAliveTimeoutMs ?? 15_000,
  );
  try {
    await server.listen(options.port ?? 0);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;

  return {
    url,
    port: server.port,
    requests,
    phones,
    obs,
    cph,
    storage: cph.storage,
    bundle(bucket, key) {
      const segments = obs.storedObject(bucket, key)?.segments;
      if (!segments) throw new Error(`emulator OBS: no data for ${bucket}/${key}`);
      return SharedStorage.fresh(readTarMembers(segments));
    },
    faults,
    settings,
    jobClock,
    listenAgain: () => server.listenAgain(),
    stateSections: server.stateSections,
    credentials,
    projects,
    servers,
    phoneModels,
    github,
    federation,
    idTokenEnv: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}${ID_TOKEN_PATH}?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: github.requestToken,
    },
    countByOp() {
      const counts: Partial<Record<Op, number>> = {};
      for (const r of requests) counts[r.op] = (counts[r.op] ?? 0) + 1;
      return counts;
    },
    requestsFor(op) {
      const ops = Array.isArray(op) ? op : [op];
      return requests.filter((r) => ops.includes(r.op));
    },
    reset(resetOptions = {}) {
      requests.length = 0;
      Object.assign(settings, initialSettings(options));
      fillFromOptions();
      cph.reset();
      jobClock.reset();
      obs.reset({ keepObjects: resetOptions.keepObjects === true });
      server.reset();
    },
    inFlight: () => server.active,
    clearRequests() {
      requests.length = 0;
    },
    close() {
      closed ??= (async () => {
        cph.close();
        await server.close();
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
