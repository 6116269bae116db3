/**
 * The action end to end through a real forward proxy on loopback (the `proxy` package: CONNECT
 * tunnels and absolute-URI requests). HTTPS_PROXY applies to https:// endpoints, so those runs go
 * to an HTTPS front of the emulator whose self-signed certificate the child trusts through
 * NODE_EXTRA_CA_CERTS — TLS stays verified all the way. HTTP_PROXY applies to the http:// loopback
 * endpoints. NO_PROXY exempts hosts; a dead proxy fails with a message pointing at the settings.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { BUCKET, baseInputs, failureLine, jobsOutput, OBJECT, run } from '../helpers/action-fixture.js';
import { expectNothingLeftBehind } from '../helpers/emulator-checks.js';
import {
  type ForwardProxy,
  refusingPort,
  startForwardProxy,
  startTlsFront,
  type TlsFront,
} from '../helpers/proxy-servers.js';
import { buildTar } from '../helpers/tar-builder.js';

let emu: Emulator;
let front: TlsFront;
let proxy: ForwardProxy;
let dir: string;
let tarFile: string;
let tarSize: number;
let tarMd5: string;

beforeAll(async () => {
  emu = await startEmulator({ defaultJobDurationMs: 100 });
  dir = mkdtempSync(path.join(tmpdir(), 'cph-proxy-e2e-'));
  front = await startTlsFront(emu.url, dir);
  tarFile = path.join(dir, 'app.tar');
  const tar = buildTar([{ path: 'data/app.bin', content: Buffer.alloc(32 * 1024, 7) }]);
  writeFileSync(tarFile, tar);
  tarSize = tar.length;
  tarMd5 = createHash('md5').update(tar).digest('hex');
});
afterAll(async () => {
  await front.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  emu.reset();
  proxy = await startForwardProxy();
});
afterEach(async () => {
  await proxy.close();
});

function endpoints(url: string): Record<string, string> {
  return { 'cph-endpoint': url, 'obs-endpoint': url, 'iam-endpoint': url };
}

/** Every operation of a full run: project lookup, HEAD + PUT of the tar, push, poll. */
function fullRun(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return baseInputs(emu, {
    'project-id': '',
    file: tarFile,
    ...endpoints(endpoint),
    ...extra,
  });
}

const OPS_OF_A_FULL_RUN = ['HeadObject', 'ListJobs', 'ListProjects', 'PushShareFiles', 'PutObject'];

function expectFullRunSucceeded(result: Awaited<ReturnType<typeof run>>, ops = OPS_OF_A_FULL_RUN): void {
  expect(result.code, result.stdout).toBe(0);
  expect(jobsOutput(result).map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(result.outputs.uploaded).toBe('true');
  expect(emu.obs.getObject(BUCKET, OBJECT)?.size).toBeGreaterThan(0);
  expect([...new Set(emu.requests.map((r) => r.op))].sort()).toEqual(ops);
  expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(tarMd5);
  expect(emu.requests.every((r) => r.authOk)).toBe(true);
  expectNothingLeftBehind(emu);
}

/** The proxy only tunnelled (or forwarded) to `hostPort`, and at least once. */
function expectProxied(hostPort: string): void {
  expect(proxy.seen.length).toBeGreaterThan(0);
  for (const sighting of proxy.seen) {
    if (sighting.method === 'CONNECT') expect(sighting.target).toBe(hostPort);
    else expect(sighting.target.startsWith(`http://${hostPort}/`)).toBe(true);
  }
}

describe('through a forward proxy', () => {
  it.each(['HTTPS_PROXY', 'https_proxy'])(
    'with %s, https:// endpoints are reached through the proxy (CONNECT) with TLS verified',
    async (name) => {
      const result = await run({
        inputs: fullRun(front.url),
        env: { [name]: proxy.url, NODE_EXTRA_CA_CERTS: front.caFile },
      });
      expectFullRunSucceeded(result);
      expectProxied(`127.0.0.1:${front.port}`);
      expect(proxy.seen.every((s) => s.method === 'CONNECT')).toBe(true);
    },
  );

  it.each(['HTTP_PROXY', 'http_proxy'])(
    'with %s, http:// loopback endpoints are reached through the proxy too',
    async (name) => {
      const result = await run({ inputs: fullRun(emu.url), env: { [name]: proxy.url } });
      expectFullRunSucceeded(result);
      expectProxied(`127.0.0.1:${emu.port}`);
    },
  );

  it('without NODE_EXTRA_CA_CERTS the self-signed front is refused: TLS is verified through the tunnel', async () => {
    const result = await run({
      inputs: fullRun(front.url, { 'project-id': '0123456789abcdef0123456789abcdef' }),
      env: { HTTPS_PROXY: proxy.url, CPH_PUBLISH_MAX_ATTEMPTS: '1' },
    });
    expect(result.code).not.toBe(0);
    expect(failureLine(result)).toMatch(/certificate/i);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(emu.requests).toEqual([]);
  });

  it('lower-case http_proxy wins over HTTP_PROXY when both are set', async () => {
    const dead = await refusingPort();
    const result = await run({
      inputs: fullRun(emu.url),
      env: { http_proxy: proxy.url, HTTP_PROXY: `http://127.0.0.1:${dead.port}` },
    }).finally(() => dead.close());
    expectFullRunSucceeded(result);
    expectProxied(`127.0.0.1:${emu.port}`);
  });

  it('sends the credentials of a proxy URL as Proxy-Authorization, and never shows the password', async () => {
    await proxy.close();
    proxy = await startForwardProxy({ credentials: 'ci-user:proxy-pass-do-not-log' });
    const result = await run({
      inputs: fullRun(emu.url),
      env: { HTTP_PROXY: proxy.url.replace('http://', 'http://ci-user:proxy-pass-do-not-log@') },
    });
    expectFullRunSucceeded(result);
    expectProxied(`127.0.0.1:${emu.port}`);
    expect(proxy.seen[0]?.proxyAuthorization).toBe(
      `Basic ${Buffer.from('ci-user:proxy-pass-do-not-log').toString('base64')}`,
    );
    expect(result.everything).not.toContain('proxy-pass-do-not-log');
  });

  it('a proxy that refuses the credentials (407) fails the step without showing the password', async () => {
    await proxy.close();
    proxy = await startForwardProxy({ credentials: 'ci-user:the-right-one' });
    const result = await run({
      // The push is the first request: the proxy refuses its tunnel, so CPH never sees it.
      inputs: baseInputs(emu, endpoints(emu.url)),
      env: {
        HTTP_PROXY: proxy.url.replace('http://', 'http://ci-user:wrong-proxy-pass-do-not-log@'),
      },
    });
    expect(result.code).not.toBe(0);
    expect(emu.requests).toEqual([]);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((p) => p.method === 'CONNECT')).toBe(true);
    const line = failureLine(result);
    expect(line).toMatch(/Proxy response \(407\)/);
    // The proxy refused the tunnel: nothing reached CPH, and the message must not say it might have.
    expect(line).not.toMatch(/may have reached the service/);
    expect(result.everything).not.toContain('wrong-proxy-pass-do-not-log');
  });
});

describe('https:// endpoints without a proxy', () => {
  it('uploads on a fresh TLS connection (the PUT is the first request) and pushes, TLS verified', async () => {
    // A body must not start flowing before its connection is ready: a TLS handshake (or a proxy
    // tunnel) takes long enough for a file stream to run dry into nowhere.
    const result = await run({
      inputs: fullRun(front.url, { 'skip-unchanged': 'false' }),
      env: { NODE_EXTRA_CA_CERTS: front.caFile },
    });
    expect(emu.requestsFor('PutObject').map((r) => [r.status, r.bodyBytes])).toEqual([[200, tarSize]]);
    expectFullRunSucceeded(result, ['ListJobs', 'ListProjects', 'PushShareFiles', 'PutObject']);
    expect(emu.obs.getObject(BUCKET, OBJECT)?.md5Hex).toBe(tarMd5);
  });
});

describe('NO_PROXY', () => {
  it.each(['NO_PROXY', 'no_proxy'])(
    '%s=127.0.0.1 bypasses the proxy for 127.0.0.1 endpoints',
    async (name) => {
      const result = await run({
        inputs: fullRun(emu.url),
        env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, [name]: '127.0.0.1' },
      });
      expectFullRunSucceeded(result);
      expect(proxy.seen).toEqual([]);
    },
  );

  it('NO_PROXY=localhost bypasses the proxy for localhost endpoints', async () => {
    const local = `http://localhost:${emu.port}`;
    const result = await run({
      inputs: fullRun(local),
      env: { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost' },
    });
    expectFullRunSucceeded(result);
    expect(proxy.seen).toEqual([]);
    // The endpoints really were localhost (signed with that Host).
    expect(emu.requests.every((r) => r.headers.host === `localhost:${emu.port}`)).toBe(true);
  });

  it('without NO_PROXY, localhost endpoints go through the proxy too', async () => {
    const local = `http://localhost:${emu.port}`;
    const result = await run({ inputs: fullRun(local), env: { HTTP_PROXY: proxy.url } });
    expectFullRunSucceeded(result);
    expectProxied(`localhost:${emu.port}`);
  });

  it('NO_PROXY naming another host does not exempt 127.0.0.1', async () => {
    const result = await run({
      inputs: fullRun(emu.url),
      env: { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,.internal' },
    });
    expectFullRunSucceeded(result);
    expectProxied(`127.0.0.1:${emu.port}`);
  });
});

describe('a dead proxy', () => {
  it.each([
    ['HTTP_PROXY', 'http://'],
    ['HTTPS_PROXY', 'https://'],
  ])('%s on a closed port fails the step with a message pointing at the proxy settings', async (name) => {
    const dead = await refusingPort();
    const https = name === 'HTTPS_PROXY';
    const result = await run({
      // The first request is the push: refused by nothing listening, it surely never left.
      inputs: baseInputs(emu, endpoints(https ? front.url : emu.url)),
      env: {
        [name]: `http://127.0.0.1:${dead.port}`,
        CPH_PUBLISH_MAX_ATTEMPTS: '2',
        ...(https ? { NODE_EXTRA_CA_CERTS: front.caFile } : {}),
      },
    }).finally(() => dead.close());
    expect(result.code).not.toBe(0);
    expect(emu.requests).toEqual([]);
    const line = failureLine(result);
    expect(line).toMatch(/ECONNREFUSED/);
    expect(line).toContain(name);
    expect(line).toMatch(/NO_PROXY/);
    // A refused connection surely sent nothing, so the first request (the HEAD of the object
    // before a push) was tried again, as often as allowed (2 attempts here) and no more.
    const retries = result.stdout.match(
      /OBS HeadObject: cannot reach .*\(ECONNREFUSED\); retrying in \S+ s \(attempt \d of 2\)/g,
    );
    expect(retries).toHaveLength(1);
    expect(retries?.[0]).toContain('(attempt 2 of 2)');
    // Nothing was pushed and nothing is reported as pushed.
    expect(jobsOutput(result).map((j) => j.status)).toEqual(['skipped', 'skipped', 'skipped']);
  });
});
