/**
 * The HTTP side: one node:http server on loopback, routing by path (`/v1` CPH, `/v3` IAM, the rest
 * OBS), authentication, fault injection and recording of every request.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApigVerifyResult, parseQueryPairs, verifyApigRequest } from './auth-apig.js';
import { verifyObsRequest } from './auth-obs.js';
import { apigErrorResponse, type CphState, shareFilesOperation } from './cph.js';
import { describeFault, type Faults, REQUEST_ID_PLACEHOLDER } from './faults.js';
import type { Federation } from './federation.js';
import { type GitHubOidc, ID_TOKEN_PATH } from './github-oidc.js';
import { handleIam } from './iam.js';
import { drainBody, type ObsStore, obsErrorResponse } from './obs.js';
import { emulatorState, recentLimit, STATE_PATH, type StateSection } from './state.js';
import type {
  Credential,
  EmulatorSettings,
  FaultAction,
  HandlerResponse,
  Op,
  ProjectDef,
  RecordedRequest,
  Service,
} from './types.js';

/** The gateway's limit is about this; CPH and IAM bodies are tiny anyway. */
const MAX_API_BODY = 12 * 1024 * 1024;
const LOCKOUT_MS = 5 * 60 * 1000;

export interface ServerDeps {
  settings: EmulatorSettings;
  credentials: Credential[];
  projects: ProjectDef[];
  faults: Faults;
  cph: CphState;
  obs: ObsStore;
  requests: RecordedRequest[];
  github: GitHubOidc;
  federation: Federation;
}

/** Keyless sign-in: requests that carry no AK/SK signature (a Bearer ID token, an IAM token). */
const UNSIGNED_OPS: ReadonlySet<Op> = new Set([
  'GetIdToken',
  'CreateUnscopedTokenWithIdToken',
  'CreateTemporaryAccessKeyByToken',
]);

interface Route {
  service: Service;
  op: Op;
  /** CPH: path segments after `/v1/`. */
  segments: string[];
  bucket: string;
  key: string | undefined;
  virtualHosted: boolean;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function isIpOrLocalhost(hostname: string): boolean {
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.includes(':');
}

/** `host[:port]` → hostname (brackets of an IPv6 literal removed). */
function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

export function classify(
  method: string,
  rawPath: string,
  query: Record<string, string>,
  hostHeader: string | undefined,
): Route {
  const route: Route = {
    service: 'OBS',
    op: 'Unknown',
    segments: [],
    bucket: '',
    key: undefined,
    virtualHosted: false,
  };
  if (rawPath.startsWith('/v1/')) {
    route.service = 'CPH';
    route.segments = rawPath.slice(4).split('/').map(safeDecode);
    const [project, cloudPhone, resource, sub, ...rest] = route.segments;
    if (project && cloudPhone === 'cloud-phone' && rest.length === 0) {
      if (method === 'POST' && resource === 'phones' && sub === 'share-files') route.op = 'PushShareFiles';
      else if (method === 'GET' && resource === 'jobs' && sub === undefined) route.op = 'ListJobs';
      else if (method === 'GET' && resource === 'jobs' && sub) route.op = 'ShowJob';
      else if (method === 'GET' && resource === 'servers' && sub === undefined)
        route.op = 'ListCloudPhoneServers';
      else if (method === 'GET' && resource === 'phone-models' && sub === undefined)
        route.op = 'ListCloudPhoneModels';
    }
    return route;
  }
  if (rawPath === ID_TOKEN_PATH) {
    route.service = 'GitHub';
    route.op = 'GetIdToken';
    return route;
  }
  if (rawPath === '/v3' || rawPath.startsWith('/v3/') || rawPath.startsWith('/v3.0/')) {
    route.service = 'IAM';
    route.segments = rawPath.split('/').slice(1).map(safeDecode);
    const [version, ext, providers, idp, protocols, protocol, auth, ...rest] = route.segments;
    if (method === 'GET' && rawPath.replace(/\/+$/, '') === '/v3/projects') route.op = 'ListProjects';
    else if (method === 'POST' && rawPath === '/v3.0/OS-CREDENTIAL/securitytokens')
      route.op = 'CreateTemporaryAccessKeyByToken';
    else if (
      method === 'POST' &&
      version === 'v3' &&
      ext === 'OS-FEDERATION' &&
      providers === 'identity_providers' &&
      idp &&
      protocols === 'protocols' &&
      protocol &&
      auth === 'auth' &&
      rest.length === 0
    )
      route.op = 'CreateUnscopedTokenWithIdToken';
    return route;
  }
  const hostname = hostnameOf(hostHeader);
  if (hostname.includes('.') && !isIpOrLocalhost(hostname)) {
    route.virtualHosted = true;
    route.bucket = hostname.slice(0, hostname.indexOf('.'));
    const rest = rawPath.replace(/^\//, '');
    route.key = rest === '' ? undefined : safeDecode(rest);
  } else {
    const m = /^\/([^/?]*)(?:\/(.*))?$/.exec(rawPath);
    route.bucket = safeDecode(m?.[1] ?? '');
    route.key = m?.[2] === undefined || m[2] === '' ? undefined : safeDecode(m[2]);
  }
  if (!route.bucket) return route;
  const has = (name: string) => query[name] !== undefined;
  if (route.key === undefined) {
    if (method === 'HEAD') route.op = 'HeadBucket';
    if (method === 'GET' && has('uploads')) route.op = 'ListMultipartUploads';
    return route;
  }
  switch (method) {
    case 'HEAD':
      route.op = 'HeadObject';
      break;
    case 'GET':
      route.op = 'GetObject';
      break;
    case 'PUT':
      route.op = has('partNumber') || has('uploadId') ? 'UploadPart' : 'PutObject';
      break;
    case 'POST':
      route.op = has('uploads')
        ? 'InitiateMultipartUpload'
        : has('uploadId')
          ? 'CompleteMultipartUpload'
          : 'Unknown';
      break;
    case 'DELETE':
      route.op = has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
      break;
  }
  return route;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  return size > max ? undefined : Buffer.concat(chunks);
}

function newRequestId(service: Service): string {
  const hex = randomBytes(16).toString('hex');
  return service === 'OBS' ? hex.toUpperCase() : hex;
}

export class EmulatorServer {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private seq = 0;
  /** Requests whose handling has not finished (a delayed one goes on after its client gave up). */
  active = 0;
  private refuseTimer: NodeJS.Timeout | undefined;
  private refusing = false;
  private closed = false;
  private readonly lockouts = new Map<string, { failures: number; lockedUntil: number }>();
  port = 0;
  /** Sections other parts of the emulator add to `GET /_emulator/state`, by name (state.ts). */
  readonly stateSections = new Map<string, StateSection>();

  constructor(
    private readonly deps: ServerDeps,
    private readonly host: string,
    keepAliveTimeoutMs: number,
  ) {
    this.server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
      this.active++;
      void this.onRequest(req, res).finally(() => {
        this.active--;
      });
    });
    this.server.keepAliveTimeout = keepAliveTimeoutMs;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refuseTimer) clearTimeout(this.refuseTimer);
    this.refuseTimer = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Forget lockouts and restart request numbering. */
  reset(): void {
    this.lockouts.clear();
    this.seq = 0;
  }

  /** Listen again now, after a refusal (held or timed). */
  listenAgain(): Promise<void> {
    if (!this.refusing || this.closed) return Promise.resolve();
    this.relistening ??= new Promise<void>((resolve) => {
      this.relistened = resolve;
      if (this.refuseTimer) clearTimeout(this.refuseTimer);
      this.relisten();
    });
    return this.relistening;
  }

  private relistening: Promise<void> | undefined;
  private relistened: (() => void) | undefined;

  private relisten(): void {
    this.refuseTimer = undefined;
    if (this.closed) return;
    const retry = () => {
      // The port was taken meanwhile (rare): try again shortly.
      this.refuseTimer = setTimeout(() => this.relisten(), 50);
    };
    this.server.once('error', retry);
    this.server.listen(this.port, this.host, () => {
      this.server.off('error', retry);
      this.refusing = false;
      this.relistened?.();
      this.relistened = undefined;
      this.relistening = undefined;
    });
  }

  /**
   * Stop accepting connections for `ms` (or until `listenAgain()`), then listen again on the same
   * port. `keep` stays open (refuse-after).
   */
  private refuse(ms: number | undefined, keep?: Socket): void {
    if (this.refusing || this.closed) return;
    this.refusing = true;
    this.server.close();
    for (const socket of this.sockets) if (socket !== keep) socket.destroy();
    if (ms !== undefined) this.refuseTimer = setTimeout(() => this.relisten(), ms);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => {});
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    const query: Record<string, string> = {};
    try {
      for (const [name, value] of parseQueryPairs(rawQuery))
        if (!Object.hasOwn(query, name)) query[name] = value;
    } catch {
      // Malformed escapes: left out of the recording; the signature check reports them.
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (rawPath === STATE_PATH) {
      this.answerState(method, query, res);
      return;
    }
    const route = classify(method, rawPath, query, req.headers.host);
    this.seq += 1;
    const record: RecordedRequest = {
      seq: this.seq,
      op: route.op,
      service: route.service,
      method,
      path: rawPath,
      query,
      headers: flatHeaders(req),
      status: 0,
      requestId: newRequestId(route.service),
      authOk: false,
      time: Date.now(),
    };
    this.deps.requests.push(record);
    let preread: { body: Buffer | undefined } | undefined;
    if (route.op === 'PushShareFiles') {
      // DeleteShareFiles shares PushShareFiles' method and URI: only the body tells them apart,
      // so it is read before the operation is named (and a fault rule picks its target).
      preread = { body: await readBody(req, MAX_API_BODY) };
      if (preread.body && shareFilesOperation(preread.body) === 'DeleteShareFiles') {
        route.op = record.op = 'DeleteShareFiles';
      }
    }
    const partNumber = route.op === 'UploadPart' ? Number(query['partNumber']) : undefined;
    const fault = this.deps.faults.take(route.op, partNumber);
    if (fault) record.fault = describeFault(fault);
    res.on('close', () => {
      record.endTime ??= Date.now();
      if (!res.writableFinished && !fault?.kind.startsWith('drop') && !fault?.kind.startsWith('refuse'))
        record.aborted = true;
    });

    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'refuse') {
      req.socket.destroy();
      this.refuse(fault.ms);
      return;
    }
    try {
      const response =
        route.service === 'OBS'
          ? await this.handleObs(req, route, rawPath, rawQuery, query, record, fault)
          : await this.handleApig(req, route, rawPath, rawQuery, query, record, fault, preread);
      if (!response) return;
      record.status = response.status;
      if (response.errorCode) record.errorCode = response.errorCode;
      if (fault?.kind === 'drop-after' || this.closed) {
        record.endTime = Date.now();
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'refuse-after') {
        // The listener closes before the answer leaves, and the answer closes its connection,
        // so whatever the client sends next needs a new connection and is refused.
        this.refuse(fault.ms, req.socket);
        response.closeConnection = true;
      }
      await this.send(req, res, route.service, record.requestId, response);
    } catch {
      // The client went away mid-request, or the emulator closed under it.
      record.aborted = true;
      if (!res.headersSent && !req.socket.destroyed) {
        const internal =
          route.service === 'OBS'
            ? obsErrorResponse(
                500,
                'InternalError',
                'We encountered an internal error. Please try again.',
                record.requestId,
              )
            : apigErrorResponse(500, 'CPS.0000', 'Internal error.', record.requestId);
        record.status = 500;
        record.aborted = false;
        await this.send(req, res, route.service, record.requestId, {
          ...internal,
          closeConnection: true,
        }).catch(() => {});
      }
    }
  }

  /** `GET /_emulator/state`: not a service call, so neither recorded nor hit by a fault. */
  private answerState(method: string, query: Record<string, string>, res: ServerResponse): void {
    let status = 200;
    let body: unknown;
    try {
      if (method !== 'GET') {
        status = 405;
        body = { error: `${STATE_PATH} answers GET only, not ${method}` };
      } else {
        body = emulatorState(this.deps, this.stateSections, recentLimit(query['requests']));
      }
    } catch (err) {
      status = 400;
      body = { error: err instanceof Error ? err.message : String(err) };
    }
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify(body, null, 2)}\n`);
  }

  private faultResponse(action: Extract<FaultAction, { kind: 'status' }>): HandlerResponse {
    const response: HandlerResponse = { status: action.status };
    if (action.headers) response.headers = { ...action.headers };
    if (action.body !== undefined) response.body = action.body;
    const code = action.body ? /"error_code"\s*:\s*"([^"]+)"|<Code>([^<]+)<\/Code>/.exec(action.body) : null;
    if (code) response.errorCode = code[1] ?? code[2]!;
    return response;
  }

  private async pause(fault: FaultAction | undefined): Promise<void> {
    if (fault?.kind === 'delay') await sleep(fault.ms, undefined, { ref: false });
  }

  private findCredential = (accessKeyId: string): Credential | undefined =>
    this.deps.credentials.find((c) => c.accessKeyId === accessKeyId);

  private async handleApig(
    req: IncomingMessage,
    route: Route,
    rawPath: string,
    rawQuery: string,
    query: Record<string, string>,
    record: RecordedRequest,
    fault: FaultAction | undefined,
    preread?: { body: Buffer | undefined },
  ): Promise<HandlerResponse | undefined> {
    const { settings } = this.deps;
    const body = preread ? preread.body : await readBody(req, MAX_API_BODY);
    if (body === undefined) {
      return {
        ...apigErrorResponse(413, 'APIG.0201', 'Request entity too large.', record.requestId),
        closeConnection: true,
      };
    }
    if (body.length > 0) {
      const text = body.toString('utf8');
      try {
        record.body = JSON.parse(text);
      } catch {
        record.body = text;
      }
      if (
        route.op === 'PushShareFiles' &&
        typeof record.body === 'object' &&
        record.body !== null &&
        'file_paths' in record.body
      ) {
        record.deleteShareFilesHazard = true;
        process.emitWarning(
          `cph emulator: request #${record.seq} sent file_paths to PushShareFiles — that is DeleteShareFiles`,
        );
      }
    }

    if (UNSIGNED_OPS.has(route.op)) {
      if (fault?.kind === 'status') return this.faultResponse(fault);
      await this.pause(fault);
      if (this.closed) return undefined;
      const response = this.handleUnsigned(req, route, query, record.body);
      record.authOk = response.status < 400;
      return response;
    }

    const auth = this.verifyApig(req, rawPath, rawQuery, body);
    record.authOk = auth.ok;
    if (!auth.ok) record.authError = auth.reason;
    const expired = auth.ok && this.expired(auth.credential, record);
    if (fault?.kind === 'status') return this.faultResponse(fault);
    await this.pause(fault);
    if (this.closed) return undefined;
    if (expired) return apigErrorResponse(401, 'APIG.0307', 'The token must be updated.', record.requestId);
    if (!auth.ok) {
      let msg = `Incorrect IAM authentication information: ${auth.reason}`;
      if (settings.echoCanonicalRequest && auth.canonicalRequest) {
        msg += `, CanonicalRequest: ${auth.canonicalRequest}, StringToSign: ${auth.stringToSign}`;
      }
      return apigErrorResponse(401, 'APIG.0301', msg, record.requestId);
    }
    if (route.service === 'IAM') {
      return handleIam(
        req.method ?? 'GET',
        rawPath,
        query,
        this.deps.projects,
        `http://${req.headers.host ?? `${this.host}:${this.port}`}`,
        record.requestId,
      );
    }
    return this.deps.cph.handle({
      method: req.method ?? 'GET',
      segments: route.segments,
      query,
      contentType: req.headers['content-type'],
      body,
      requestId: record.requestId,
    });
  }

  private handleUnsigned(
    req: IncomingMessage,
    route: Route,
    query: Record<string, string>,
    body: unknown,
  ): HandlerResponse {
    const { github, federation, settings } = this.deps;
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    if (route.op === 'GetIdToken') {
      return github.handle(req.method ?? 'GET', query, header('authorization'), settings.idTokenLifetimeMs);
    }
    if (route.op === 'CreateUnscopedTokenWithIdToken') {
      return federation.authenticate(
        route.segments[3] ?? '',
        route.segments[5] ?? '',
        header('authorization'),
      );
    }
    return federation.securityTokens(header('x-auth-token'), body);
  }

  /**
   * Temporary credentials from IAM stop working at their expiry: the request is recorded as
   * signed with expired credentials, and refused (APIG 401 APIG.0307, OBS 403 InvalidAccessKeyId).
   */
  private expired(credential: Credential, record: RecordedRequest): boolean {
    if (credential.expiresAt === undefined) return false;
    record.credentialExpiresAt = credential.expiresAt;
    if (Date.now() + this.deps.settings.clockSkewMs < credential.expiresAt) return false;
    record.expiredCredentials = true;
    record.authOk = false;
    record.authError = 'the temporary credentials have expired';
    return true;
  }

  private verifyApig(
    req: IncomingMessage,
    rawPath: string,
    rawQuery: string,
    body: Buffer,
  ): ApigVerifyResult {
    const { settings } = this.deps;
    const now = Date.now();
    const claimed = /Access=([^,\s]+)/.exec(String(req.headers.authorization ?? ''))?.[1];
    const lock = claimed ? this.lockouts.get(claimed) : undefined;
    if (lock && lock.lockedUntil > now) {
      return { ok: false, reason: 'AK access failed to reach the limit,forbidden.' };
    }
    const result = verifyApigRequest(
      { method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers, body },
      this.findCredential,
      { nowMs: now + settings.clockSkewMs },
    );
    if (result.ok) {
      if (claimed) this.lockouts.delete(claimed);
    } else if (result.accessKeyId && settings.authLockoutThreshold > 0) {
      const entry = this.lockouts.get(result.accessKeyId) ?? { failures: 0, lockedUntil: 0 };
      entry.failures += 1;
      if (entry.failures >= settings.authLockoutThreshold) {
        entry.lockedUntil = now + LOCKOUT_MS;
        entry.failures = 0;
      }
      this.lockouts.set(result.accessKeyId, entry);
    }
    return result;
  }

  private async handleObs(
    req: IncomingMessage,
    route: Route,
    rawPath: string,
    rawQuery: string,
    query: Record<string, string>,
    record: RecordedRequest,
    fault: FaultAction | undefined,
  ): Promise<HandlerResponse | undefined> {
    const { settings, obs } = this.deps;
    const bodyStats = { bytes: 0, md5Hex: '' };
    const finish = (response: HandlerResponse | undefined) => {
      record.bodyBytes = bodyStats.bytes;
      record.bodyMd5 = bodyStats.md5Hex;
      return response;
    };
    const auth = verifyObsRequest(
      {
        method: req.method ?? 'GET',
        rawPath,
        rawQuery,
        headers: req.headers,
        bucket: route.bucket,
        key: route.key,
        virtualHosted: route.virtualHosted,
      },
      this.findCredential,
      Date.now() + settings.clockSkewMs,
    );
    record.authOk = auth.ok;
    if (!auth.ok) record.authError = `${auth.code}: ${auth.reason}`;
    const expired = auth.ok && this.expired(auth.credential, record);
    if (fault?.kind === 'status') {
      await drainBody(req, bodyStats);
      return finish(this.faultResponse(fault));
    }
    if (expired) {
      await drainBody(req, bodyStats);
      await this.pause(fault);
      const response = obsErrorResponse(
        403,
        'InvalidAccessKeyId',
        'The access key Id you provided does not exist in our records.',
        record.requestId,
      );
      if (req.method === 'HEAD') delete response.body;
      return finish(response);
    }
    if (!auth.ok) {
      await drainBody(req, bodyStats);
      await this.pause(fault);
      let extra = '';
      let message = auth.reason;
      if (auth.stringToSign !== undefined && settings.echoCanonicalRequest) {
        extra = `<StringToSign>${auth.stringToSign.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</StringToSign>`;
        // In the message too, where a client shows it (the element alone would never be seen).
        message += `, StringToSign: ${auth.stringToSign}`;
      }
      const response = obsErrorResponse(auth.status, auth.code, message, record.requestId, extra);
      if (req.method === 'HEAD') delete response.body;
      return finish(response);
    }
    if (!route.bucket || route.op === 'Unknown') {
      await drainBody(req, bodyStats);
      await this.pause(fault);
      return finish(
        obsErrorResponse(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          record.requestId,
        ),
      );
    }
    let paused = false;
    const response = await obs.handle(req, {
      op: route.op,
      method: req.method ?? 'GET',
      bucket: route.bucket,
      key: route.key,
      query,
      headers: req.headers,
      requestId: record.requestId,
      afterBody: () => {
        paused = true;
        return this.pause(fault);
      },
      bodyStats,
    });
    if (!paused) await this.pause(fault);
    if (req.method === 'HEAD') delete response.body;
    return finish(this.closed ? undefined : response);
  }

  private async send(
    req: IncomingMessage,
    res: ServerResponse,
    service: Service,
    requestId: string,
    response: HandlerResponse,
  ): Promise<void> {
    // The emulator's clock, skew included: clients may read it to correct their own.
    const headers: Record<string, string> = {
      date: new Date(Date.now() + this.deps.settings.clockSkewMs).toUTCString(),
    };
    if (service === 'OBS') {
      headers['server'] = 'OBS';
      headers['x-obs-request-id'] = requestId;
      headers['x-obs-id-2'] = `${requestId.toLowerCase()}emulator`;
    } else {
      headers['x-request-id'] = requestId;
    }
    Object.assign(headers, response.headers ?? {});
    if (response.closeConnection) headers['connection'] = 'close';
    const body =
      typeof response.body === 'string'
        ? Buffer.from(response.body.split(REQUEST_ID_PLACEHOLDER).join(requestId))
        : response.body;
    if (response.files) {
      res.writeHead(response.status, headers);
      for (const file of response.files) await pipeline(createReadStream(file), res, { end: false });
      res.end();
      return;
    }
    const throttle = this.deps.settings.throttle;
    if (service === 'OBS' && throttle && throttle.answerDelayMs > 0) {
      await sleep(throttle.answerDelayMs, undefined, { ref: false });
    }
    if (!('content-length' in headers)) headers['content-length'] = String(body?.length ?? 0);
    res.writeHead(response.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
