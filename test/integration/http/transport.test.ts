/**
 * The transport's judgement "was anything sent?", which decides whether PushShareFiles may be sent
 * again, and its limits (deadline, response size). Real sockets on loopback wherever the failure
 * can be produced there; the failures that need a network this machine must not reach (a DNS
 * server, an unreachable host, a SYN that is never answered) are fed to `send()` as the errors
 * undici raises for them, through a dispatcher that fails the way undici's own does.
 */

import { getEventListeners } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { judgeNonIdempotent } from '../../../src/http/retry.js';
import { type HttpRequest, NetworkError, send } from '../../../src/http/transport.js';
import { refusingPort } from '../../helpers/proxy-servers.js';
import { rejectionOf } from '../../helpers/rejection.js';

const BODY = JSON.stringify({ server_ids: ['srv-0001'], bucket_name: 'b', object_path: 'o.tar' });

let dispatcher: Agent;
const servers: Array<Server | NetServer> = [];

beforeAll(() => {
  dispatcher = new Agent({ connect: { timeout: 5_000 }, headersTimeout: 0, bodyTimeout: 0 });
});
afterAll(async () => {
  await dispatcher.close();
});
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  }
});

function listen<T extends Server | NetServer>(server: T): Promise<number> {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A raw TCP server: `onRequest` runs once the whole request (head and BODY) has arrived. */
async function rawServer(onRequest: (socket: Socket) => void): Promise<number> {
  const server = createNetServer((socket) => {
    let seen = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      seen += d.toString('latin1');
      if (seen.includes('\r\n\r\n') && seen.endsWith(BODY)) onRequest(socket);
    });
  });
  return listen(server);
}

function push(port: number, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'POST',
    url: new URL(`http://127.0.0.1:${port}/v1/p/cloud-phone/phones/batch-push`),
    headers: { 'content-type': 'application/json' },
    body: BODY,
    timeoutMs: 10_000,
    ...overrides,
  };
}

/** The error a promise rejects with (the test fails when it resolves). */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, NetworkError);

/** A server that reads the request and never answers; `arrived` settles when the body is in. */
async function silentServer(): Promise<{ port: number; arrived: Promise<void> }> {
  let resolveArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    resolveArrived = resolve;
  });
  const port = await rawServer(() => resolveArrived());
  return { port, arrived };
}

/** What the PushShareFiles retry judge makes of the failure. */
function pushRetried(error: NetworkError): boolean {
  return judgeNonIdempotent({ error }).retry;
}

describe('send(): failures on loopback sockets', () => {
  it('connection refused → not sent (ECONNREFUSED), so a push may be repeated', async () => {
    const port = await refusingPort();
    try {
      const error = await failure(send(dispatcher, push(port.port)));
      expect(error.code).toBe('ECONNREFUSED');
      expect(error.maybeSent).toBe(false);
      expect(error.message).toMatch(
        new RegExp(`^cannot reach 127\\.0\\.0\\.1:${port.port}: .*\\(ECONNREFUSED\\)$`),
      );
      expect(pushRetried(error)).toBe(true);
    } finally {
      await port.close();
    }
  });

  it('the server hangs up after the whole request arrived → maybe sent, a push is not repeated', async () => {
    const port = await rawServer((socket) => socket.end());
    const error = await failure(send(dispatcher, push(port)));
    expect(error.code).toBe('UND_ERR_SOCKET');
    expect(error.maybeSent).toBe(true);
    expect(error.message).toMatch(/^cannot reach 127\.0\.0\.1:\d+: other side closed \(UND_ERR_SOCKET\)$/);
    expect(pushRetried(error)).toBe(false);
  });

  it('the connection is reset after the body was sent → maybe sent (ECONNRESET), not repeated', async () => {
    const port = await rawServer((socket) => socket.resetAndDestroy());
    const error = await failure(send(dispatcher, push(port)));
    expect(error.code).toBe('ECONNRESET');
    expect(error.maybeSent).toBe(true);
    expect(error.message).toMatch(/\(ECONNRESET\)$/);
    expect(pushRetried(error)).toBe(false);
  });

  it('the server hangs up as the connection opens → maybe sent: the client cannot tell, not repeated', async () => {
    const server = createNetServer((socket) => socket.destroy());
    const port = await listen(server);
    const error = await failure(send(dispatcher, push(port)));
    expect(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']).toContain(error.code);
    expect(error.maybeSent).toBe(true);
    expect(pushRetried(error)).toBe(false);
  });

  it('no answer within the deadline → TIMEOUT, maybe sent, with the deadline in tenths below 10 s', async () => {
    const { port, arrived } = await silentServer();
    const pending = send(dispatcher, push(port, { timeoutMs: 300 }));
    await arrived;
    const error = await failure(pending);
    expect(error.code).toBe('TIMEOUT');
    expect(error.maybeSent).toBe(true);
    expect(error.message).toBe(`no complete answer from 127.0.0.1:${port} within 0.3 s`);
    expect(pushRetried(error)).toBe(false);
  });

  it('an answer whose body stops halfway → TIMEOUT too, and no abort listener is left on the run signal', async () => {
    const port = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jobs": [',
      );
    });
    const run = new AbortController();
    const error = await failure(send(dispatcher, push(port, { timeoutMs: 300, signal: run.signal })));
    expect([error.code, error.maybeSent]).toEqual(['TIMEOUT', true]);
    expect(error.message).toBe(`no complete answer from 127.0.0.1:${port} within 0.3 s`);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('a complete answer leaves no abort listener on the run signal either', async () => {
    const port = await rawServer((socket) => {
      socket.end('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const run = new AbortController();
    const response = await send(dispatcher, push(port, { signal: run.signal }));
    expect(response.status).toBe(204);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('the deadline is named in whole seconds from 10 s on (a fake clock runs it out)', async () => {
    const { port, arrived } = await silentServer();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = send(dispatcher, push(port, { timeoutMs: 12_345 }));
      await arrived;
      vi.advanceTimersByTime(12_344);
      await Promise.resolve();
      let settled = false;
      void pending.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      vi.advanceTimersByTime(1);
      const error = await failure(pending);
      expect(error.code).toBe('TIMEOUT');
      expect(error.message).toBe(`no complete answer from 127.0.0.1:${port} within 12 s`);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an answer over 16 MiB → RESPONSE_TOO_LARGE; exactly 16 MiB is read whole', async () => {
    const MiB = 1024 * 1024;
    const sizes = new Map<string, number>([
      ['/exact', 16 * MiB],
      ['/over', 16 * MiB + 1],
    ]);
    const server = createHttpServer((req: IncomingMessage, res) => {
      const size = sizes.get(req.url ?? '') ?? 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(MiB, 0x61);
      let left = size;
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, MiB);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const port = await listen(server);
    const base = `http://127.0.0.1:${port}`;
    const exact = await send(dispatcher, {
      ...push(port),
      method: 'GET',
      body: undefined,
      url: new URL(`${base}/exact`),
    });
    expect(exact.status).toBe(200);
    expect(exact.body.length).toBe(16 * MiB);
    const error = await failure(
      send(dispatcher, { ...push(port), method: 'GET', body: undefined, url: new URL(`${base}/over`) }),
    );
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
    expect(error.maybeSent).toBe(true);
    expect(error.message).toBe(`response from 127.0.0.1:${port} is larger than 16 MiB`);
  });

  it("the run's cancellation ends a request at once with the signal's reason, not a network error", async () => {
    const { port, arrived } = await silentServer();
    const run = new AbortController();
    const pending = send(dispatcher, push(port, { timeoutMs: 60_000, signal: run.signal }));
    await arrived;
    const reason = new Error('the run was cancelled');
    run.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('a request under an already cancelled run is never sent', async () => {
    let connections = 0;
    const server = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    const port = await listen(server);
    const reason = new Error('cancelled before');
    await expect(send(dispatcher, push(port, { signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
    expect(connections).toBe(0);
  });

  it('an answer: status, lower-case headers with repeated ones joined, and the body', async () => {
    const server = createHttpServer((_req, res) => {
      res.setHeader('X-Request-Id', 'abc');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(201);
      res.end('{"ok":true}');
    });
    const port = await listen(server);
    const answer = await send(dispatcher, push(port));
    expect(answer.status).toBe(201);
    expect(answer.headers['x-request-id']).toBe('abc');
    expect(answer.headers['set-cookie']).toBe('a=1, b=2');
    expect(answer.body.toString()).toBe('{"ok":true}');
  });

  it('a streamed body is opened once per call, so a retry sends the data again', async () => {
    const received: string[] = [];
    const server = createHttpServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      received.push(text);
      res.end('ok');
    });
    const port = await listen(server);
    let opened = 0;
    const body = async function* () {
      opened++;
      yield Buffer.from('part-');
      yield Buffer.from('data');
    };
    await send(dispatcher, { ...push(port), method: 'PUT', body });
    await send(dispatcher, { ...push(port), method: 'PUT', body });
    expect(opened).toBe(2);
    expect(received).toEqual(['part-data', 'part-data']);
  });
});

/**
 * A dispatcher that fails every request with `error`, as undici's connector does when the socket
 * cannot be opened: before any byte of the request is written.
 */
class FailingDispatcher extends Agent {
  constructor(private readonly error: Error) {
    super();
  }
  override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // undici's request() hands its dispatcher a handler of the classic shape (`onError(err)`);
    // a handler of the newer shape takes a controller first.
    queueMicrotask(() => {
      if (handler.onError) handler.onError(this.error);
      else handler.onResponseError?.(null as never, this.error);
    });
    return true;
  }
}

function osError(code: string, syscall: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall, errno: -1 });
}

/** undici's ConnectTimeoutError, as its connector raises it. */
function connectTimeout(): Error {
  return Object.assign(
    new Error('Connect Timeout Error (attempted address: cph.example:443, timeout: 15000ms)'),
    {
      name: 'ConnectTimeoutError',
      code: 'UND_ERR_CONNECT_TIMEOUT',
    },
  );
}

describe('send(): failures that need a network, as undici reports them', () => {
  it.each([
    ['DNS failure', osError('ENOTFOUND', 'getaddrinfo', 'getaddrinfo ENOTFOUND cph.example'), 'ENOTFOUND'],
    [
      'DNS not answering',
      osError('EAI_AGAIN', 'getaddrinfo', 'getaddrinfo EAI_AGAIN cph.example'),
      'EAI_AGAIN',
    ],
    [
      'unreachable host',
      osError('EHOSTUNREACH', 'connect', 'connect EHOSTUNREACH 10.0.0.1:443'),
      'EHOSTUNREACH',
    ],
    [
      'unreachable network',
      osError('ENETUNREACH', 'connect', 'connect ENETUNREACH 10.0.0.1:443'),
      'ENETUNREACH',
    ],
    ['connect timeout', connectTimeout(), 'UND_ERR_CONNECT_TIMEOUT'],
  ])('%s → not sent (%s), so a push may be repeated', async (_name, raised, code) => {
    const failing = new FailingDispatcher(raised);
    const error = await failure(send(failing, push(443)));
    expect(error.code).toBe(code);
    expect(error.maybeSent).toBe(false);
    expect(error.message).toBe(`cannot reach 127.0.0.1:443: ${raised.message} (${code})`);
    expect(error.cause).toBe(raised);
    expect(pushRetried(error)).toBe(true);
    await failing.close();
  });

  it('a code found only on a cause is used; none at all reads UNKNOWN and counts as maybe sent', async () => {
    const wrapped = Object.assign(new Error('fetch failed'), {
      cause: osError('ECONNREFUSED', 'connect', 'x'),
    });
    const refused = await failure(send(new FailingDispatcher(wrapped), push(443)));
    expect(refused.code).toBe('ECONNREFUSED');
    expect(refused.maybeSent).toBe(false);
    const unknown = await failure(send(new FailingDispatcher(new Error('something odd')), push(443)));
    expect(unknown.code).toBe('UNKNOWN');
    expect(unknown.maybeSent).toBe(true);
    expect(pushRetried(unknown)).toBe(false);
  });

  it('the proxy refusing the tunnel → PROXY_REFUSED, not sent, the message says "through the proxy"', async () => {
    const refusal = new Error('Proxy response (407) !== 200 when HTTP Tunneling');
    const error = await failure(send(new FailingDispatcher(refusal), push(443)));
    expect(error.code).toBe('PROXY_REFUSED');
    expect(error.maybeSent).toBe(false);
    expect(error.message).toBe(
      'cannot reach 127.0.0.1:443 through the proxy: Proxy response (407) !== 200 when HTTP Tunneling (PROXY_REFUSED)',
    );
  });
});
