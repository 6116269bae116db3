/**
 * The single HTTP transport: undici with the environment's proxy settings,
 * a deadline on every request, and errors that say whether the request may
 * have reached the server (which decides whether a POST may be repeated).
 */
import { type Dispatcher, EnvHttpProxyAgent } from 'undici';
import { errorMessage } from '../util/text.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Opens a streamed body (a Readable is one too); called once per attempt. */
export type BodySource = () => AsyncIterable<Uint8Array>;

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  /** A factory for streamed bodies, so that a retry can open the data again. */
  body?: string | Uint8Array | BodySource;
  timeoutMs: number;
  /** The run's cancellation: aborting it ends the request at once with a CancelledError. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Error codes of failures that happen before a single byte of the request is written. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** A request that got no HTTP response. */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(
    message: string,
    /** undici's or the OS's error code, or `TIMEOUT`. */
    readonly code: string,
    /** False only when the request certainly never reached the server. */
    readonly maybeSent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reading more than this from one API response means something is wrong. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function createDispatcher(): Dispatcher {
  // EnvHttpProxyAgent reads HTTP(S)_PROXY / NO_PROXY (and lower-case forms).
  // Loopback is proxied too unless NO_PROXY names it, as the contract says.
  return new EnvHttpProxyAgent({
    connect: { timeout: 15_000 },
    keepAliveTimeout: 4_000,
    // Our own deadline (below) covers the whole exchange; these only stop
    // undici's shorter defaults from firing first on slow uploads.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

export async function send(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpResponse> {
  req.signal?.throwIfAborted();
  const controller = new AbortController();
  const onCancel = () => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onCancel, { once: true });
  const timeoutError = new NetworkError(
    `no complete answer from ${req.url.host} within ${(req.timeoutMs / 1000).toFixed(req.timeoutMs < 10_000 ? 1 : 0)} s`,
    'TIMEOUT',
    true,
  );
  const timer = setTimeout(() => controller.abort(timeoutError), req.timeoutMs);
  try {
    // undici takes async iterables as bodies (writeIterable), though its types list only Readable.
    const body = (
      typeof req.body === 'function' ? req.body() : req.body
    ) as Dispatcher.DispatchOptions['body'];
    const res = await dispatcher.request({
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method,
      headers: req.headers,
      body,
      signal: controller.signal,
    });
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      total += chunk.length;
      if (total > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        throw new NetworkError(
          `response from ${req.url.host} is larger than 16 MiB`,
          'RESPONSE_TOO_LARGE',
          true,
        );
      }
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: res.statusCode, headers, body: Buffer.concat(chunks) };
  } catch (error) {
    if (error instanceof NetworkError) throw error;
    if (req.signal?.aborted) throw req.signal.reason;
    if (controller.signal.aborted) throw timeoutError;
    const reason = errorMessage(error);
    // undici's ProxyAgent: the proxy refused the CONNECT tunnel (407, 403, 502…); the request
    // itself was never sent.
    const tunnelRefused = /^Proxy response \(\d+\) !== 200 when HTTP Tunneling/.test(reason);
    const code = tunnelRefused ? 'PROXY_REFUSED' : errorCode(error);
    throw new NetworkError(
      `cannot reach ${req.url.host}${tunnelRefused ? ' through the proxy' : ''}: ${reason} (${code})`,
      code,
      !tunnelRefused && !NOT_SENT_CODES.has(code),
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onCancel);
  }
}
