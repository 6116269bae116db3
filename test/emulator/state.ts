/**
 * `GET /_emulator/state`: what the emulator holds now, as JSON, for a person with curl (or a script)
 * beside a running emulator — the requests it got, open multipart uploads and objects per bucket,
 * the jobs and what each server was given, the faults still pending.
 *
 *   curl -s http://127.0.0.1:8787/_emulator/state | jq .servers
 *   curl -s 'http://127.0.0.1:8787/_emulator/state?requests=all'
 *
 * Not a Huawei API: unsigned, never recorded among `requests`, never hit by a fault. `_` cannot
 * start a bucket name, so no OBS path is shadowed. Parts of the emulator that keep more state
 * (a model of each server's shared storage, say) add a section with `EmulatorServer.stateSections`.
 */
import type { CphState } from './cph.js';
import type { Faults } from './faults.js';
import type { ObsStore } from './obs.js';
import type { EmulatorSettings, FaultRule, RecordedRequest } from './types.js';

export const STATE_PATH = '/_emulator/state';

/** How many of the latest requests and pushes the state lists unless `?requests=` says otherwise. */
export const DEFAULT_RECENT = 50;

/** A section of the state another part of the emulator provides: called on each request. */
export type StateSection = () => unknown;

export interface StateSources {
  settings: EmulatorSettings;
  faults: Faults;
  cph: CphState;
  obs: ObsStore;
  requests: RecordedRequest[];
}

/** One request, as the state lists it (headers and bodies left out: the recording has them). */
interface RequestLine {
  seq: number;
  op: string;
  method: string;
  path: string;
  status: number;
  requestId: string;
  authOk: boolean;
  errorCode?: string;
  fault?: string;
  aborted?: boolean;
}

/** What one server was given, from the jobs pushes created for it. */
interface ServerState {
  name?: string;
  status?: number;
  phoneModel?: string;
  jobs: { running: number; succeeded: number; failed: number };
  /** `obs://bucket/key` of the jobs that succeeded, oldest first, each once (latest position). */
  pushed: string[];
  /** The object of its latest job, and how that job stands. */
  latest?: { jobId: string; object: string; status: 'running' | 'succeeded' | 'failed'; errorCode?: string };
}

/** `?requests=N` (or `all`): how many of the latest requests and pushes to list. */
export function recentLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return DEFAULT_RECENT;
  if (value === 'all') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`requests: a count or 'all', got '${value}'`);
  return n;
}

const latest = <T>(items: readonly T[], limit: number | undefined): T[] =>
  limit === undefined ? [...items] : limit === 0 ? [] : items.slice(-limit);

function requestLine(r: RecordedRequest): RequestLine {
  const line: RequestLine = {
    seq: r.seq,
    op: r.op,
    method: r.method,
    path: r.path,
    status: r.status,
    requestId: r.requestId,
    authOk: r.authOk,
  };
  if (r.errorCode) line.errorCode = r.errorCode;
  if (r.fault) line.fault = r.fault;
  if (r.aborted) line.aborted = true;
  return line;
}

function jobStatus(status: number): 'running' | 'succeeded' | 'failed' {
  return status === 2 ? 'succeeded' : status === -1 ? 'failed' : 'running';
}

function serverStates(cph: CphState): Record<string, ServerState> {
  const byId = new Map<string, ServerState>();
  const fresh = () => ({ jobs: { running: 0, succeeded: 0, failed: 0 }, pushed: [] });
  // The fleet first, in its order; then servers outside it that were pushed to (no fleet, or a wrong id).
  for (const server of cph.servers) {
    byId.set(server.server_id, {
      name: server.server_name,
      status: server.status,
      phoneModel: server.phone_model_name,
      ...fresh(),
    });
  }
  const entry = (id: string): ServerState => {
    let state = byId.get(id);
    if (!state) {
      state = fresh();
      byId.set(id, state);
    }
    return state;
  };
  for (const job of [...cph.jobs].sort((a, b) => a.seq - b.seq)) {
    const state = entry(job.serverId);
    const view = cph.view(job);
    const status = jobStatus(view.status);
    const object = `obs://${job.bucket}/${job.objectPath}`;
    state.jobs[status] += 1;
    if (status === 'succeeded') state.pushed = [...state.pushed.filter((o) => o !== object), object];
    state.latest = { jobId: job.jobId, object, status };
    if (view.error_code) state.latest.errorCode = view.error_code;
  }
  return Object.fromEntries(byId);
}

function pendingFault(rule: FaultRule & { remaining: number }) {
  const { remaining, ...rest } = rule;
  return { ...rest, remaining: Number.isFinite(remaining) ? remaining : null };
}

/** The state document; `limit` caps the requests and pushes listed (undefined: all). */
export function emulatorState(
  sources: StateSources,
  sections: ReadonlyMap<string, StateSection>,
  limit: number | undefined,
): Record<string, unknown> {
  const { cph, obs, requests } = sources;
  const byOp: Record<string, number> = {};
  for (const r of requests) byOp[r.op] = (byOp[r.op] ?? 0) + 1;
  const buckets: Record<string, unknown> = {};
  for (const bucket of [...obs.buckets].sort()) {
    const objects = [...obs.objects.values()]
      .filter((o) => o.bucket === bucket)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((o) => ({ key: o.key, size: o.size, etag: o.etag, parts: o.parts ?? null }));
    const uploads = [...obs.uploads.values()]
      .filter((u) => u.bucket === bucket)
      .map((u) => ({
        key: u.key,
        uploadId: u.uploadId,
        initiated: new Date(u.initiated).toISOString(),
        parts: u.parts.size,
        bytes: [...u.parts.values()].reduce((n, p) => n + p.size, 0),
      }));
    buckets[bucket] = { objects, uploads };
  }
  const state: Record<string, unknown> = {
    requests: {
      total: requests.length,
      byOp,
      listed: limit === undefined ? 'all' : Math.min(limit, requests.length),
      latest: latest(requests, limit).map(requestLine),
    },
    buckets,
    pushes: latest(cph.pushes, limit).map((p) => ({
      requestId: p.requestId,
      object: `obs://${p.bucket}/${p.objectPath}`,
      servers: p.serverIds.length,
      jobs: p.jobIds.length,
    })),
    servers: serverStates(cph),
    faults: sources.faults.pending().map(pendingFault),
    settings: sources.settings,
  };
  for (const [name, section] of sections) state[name] = section();
  return state;
}
