/**
 * Network pieces for proxy tests, all on loopback:
 * - `startForwardProxy()`: a real forward proxy (the maintained `proxy` package: CONNECT tunnels and
 *   absolute-URI requests) that records what it was asked for;
 * - `startTlsFront()`: an HTTPS server with a throw-away self-signed certificate that passes every
 *   request on to the emulator unchanged (Host header included, so signatures still verify). With
 *   `NODE_EXTRA_CA_CERTS` pointing at its certificate, the action reaches it over verified TLS —
 *   which is what `HTTPS_PROXY` is for: it applies to `https://` endpoints only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import path from 'node:path';
import { createProxy } from 'proxy';

export interface ProxySighting {
  /** `CONNECT`, or the method of an absolute-URI request. */
  method: string;
  /** `host:port` of a CONNECT, or the absolute URI. */
  target: string;
  /** The Proxy-Authorization header, if any. */
  proxyAuthorization?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ForwardProxy extends RunningServer {
  /** Every request the proxy received, in order. */
  readonly seen: ProxySighting[];
}

function trackSockets(server: Server): () => void {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return () => {
    for (const socket of sockets) socket.destroy();
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: Server, destroySockets: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      destroySockets();
    });
    return closing;
  };
}

/**
 * A forward proxy on 127.0.0.1. With `credentials` (`user:password`) it answers 407 unless the
 * request carries them as Basic Proxy-Authorization.
 */
export async function startForwardProxy(options: { credentials?: string } = {}): Promise<ForwardProxy> {
  const seen: ProxySighting[] = [];
  const server = createHttpServer();
  // Ours first, so every request is seen even when the proxy refuses it.
  const record = (method: string, target: string, auth: string | undefined) =>
    seen.push({ method, target, ...(auth ? { proxyAuthorization: auth } : {}) });
  server.on('connect', (req) => record('CONNECT', req.url ?? '', req.headers['proxy-authorization']));
  server.on('request', (req) => record(req.method ?? '', req.url ?? '', req.headers['proxy-authorization']));
  const proxy = createProxy(server);
  if (options.credentials) {
    const expected = `Basic ${Buffer.from(options.credentials).toString('base64')}`;
    proxy.authenticate = (req) => req.headers['proxy-authorization'] === expected;
  }
  const destroySockets = trackSockets(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, seen, close: closer(server, destroySockets) };
}

export interface TlsFront extends RunningServer {
  /** PEM file of the self-signed certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
export function makeCertificate(dir: string): { keyFile: string; certFile: string } {
  const keyFile = path.join(dir, 'front.key');
  const certFile = path.join(dir, 'front.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile };
}

/** HTTPS on 127.0.0.1 in front of the plain-HTTP `target` (the emulator's URL). */
export async function startTlsFront(target: string, dir: string): Promise<TlsFront> {
  const { keyFile, certFile } = makeCertificate(dir);
  const origin = new URL(target);
  const server = createHttpsServer(
    { key: readFileSync(keyFile), cert: readFileSync(certFile) },
    (req, res) => {
      const upstream = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    },
  );
  const destroySockets = trackSockets(server as unknown as Server);
  const port = await listen(server as unknown as Server);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caFile: certFile,
    close: closer(server as unknown as Server, destroySockets),
  };
}

/**
 * A loopback port on which nothing listens, held for as long as the test needs it: it is the
 * local end of an open connection to a throw-away server, so the system hands it to no one
 * else, yet a connection to it is refused. (Freeing a port and reusing its number would let
 * another process take it in between.)
 */
export async function refusingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createNetServer((socket) => socket.on('error', () => {}));
  const destroySockets = trackSockets(server as unknown as Server);
  await listen(server as unknown as Server);
  const { port: serverPort } = server.address() as AddressInfo;
  const client = netConnect({ host: '127.0.0.1', port: serverPort });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const port = client.localPort as number;
  const closeServer = closer(server as unknown as Server, destroySockets);
  return {
    port,
    close: async () => {
      client.destroy();
      await closeServer();
    },
  };
}
