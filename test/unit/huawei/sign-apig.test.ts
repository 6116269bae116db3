import { createHash, createHmac } from 'node:crypto';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import type { ICredential } from '@huaweicloud/huaweicloud-sdk-core/auth/ICredential.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credentials } from '../../../src/huawei/credentials.js';
import {
  type ApigRequest,
  apigEncode,
  apigStringToSign,
  buildCanonicalRequest,
  canonicalQuery,
  canonicalUri,
  formatSdkDate,
  signApigRequest,
} from '../../../src/huawei/sign-apig.js';
import { fuzzRuns } from '../../helpers/fuzz.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const KEYS: Credentials = { accessKeyId: 'AccessKey', secretAccessKey: 'SecretKey' };

function signatureOf(authorization: string | undefined): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')![1]!;
}

function signedHeadersOf(authorization: string | undefined): string {
  return /SignedHeaders=([^,]*),/.exec(authorization ?? '')![1]!;
}

describe('published vectors (huawei-api.md)', () => {
  const docs: Credentials = {
    accessKeyId: 'QTWAOYTTINDUT2QVKYUC',
    secretAccessKey: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
  };
  const docsUrl = new URL(
    'https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  );

  it('vector 1: builds the docs canonical request with the published hash', () => {
    const canonical = buildCanonicalRequest({
      method: 'GET',
      url: docsUrl,
      headers: {
        'Content-Type': 'application/json',
        host: 'service.region.example.com',
        'X-Sdk-Date': '20191115T033655Z',
      },
    });
    expect(canonical).toBe(
      [
        'GET',
        '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/',
        'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
        'content-type:application/json',
        'host:service.region.example.com',
        'x-sdk-date:20191115T033655Z',
        '',
        'content-type;host;x-sdk-date',
        EMPTY_SHA256,
      ].join('\n'),
    );
    expect(sha256(canonical)).toBe('b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a');
  });

  it('vector 1: signs the docs example', () => {
    const added = signApigRequest(
      { method: 'GET', url: docsUrl, headers: { 'Content-Type': 'application/json' } },
      docs,
      new Date('2019-11-15T03:36:55Z'),
    );
    expect(added).toEqual({
      'X-Sdk-Date': '20191115T033655Z',
      Authorization:
        'SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, ' +
        'Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    });
  });

  it('vector 2: GET without body signs host and x-sdk-date', () => {
    const added = signApigRequest(
      {
        method: 'GET',
        url: new URL('https://service.endpoint.myhuaweicloud.com/resources?size=1'),
        headers: {},
      },
      KEYS,
      new Date('2020-06-08T02:39:00Z'),
    );
    expect(added['Authorization']).toBe(
      'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, ' +
        'Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842',
    );
  });

  it('vector 3: POST hashes the body, given as a string or as bytes', () => {
    const body = '{"name":"test","id":1}';
    expect(sha256(body)).toBe('8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c');
    const url = new URL('https://service.endpoint.myhuaweicloud.com/resources?size=1');
    const now = new Date('2020-06-08T02:39:00Z');
    for (const b of [body, new TextEncoder().encode(body)]) {
      const added = signApigRequest({ method: 'POST', url, headers: {}, body: b }, KEYS, now);
      expect(signedHeadersOf(added['Authorization'])).toBe('host;x-sdk-date');
      expect(signatureOf(added['Authorization'])).toBe(
        '436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f',
      );
    }
  });

  it('vector 4: a canonical request that signs x-sdk-date only', () => {
    const canonical = buildCanonicalRequest({
      method: 'GET',
      url: new URL('https://example.huaweicloud.com/path?limit=1'),
      headers: { 'X-Sdk-Date': '20060102T150405Z' },
    });
    const stringToSign = apigStringToSign('20060102T150405Z', canonical);
    expect(stringToSign).toBe(`SDK-HMAC-SHA256\n20060102T150405Z\n${sha256(canonical)}`);
    expect(createHmac('sha256', 'SecretKey').update(stringToSign).digest('hex')).toBe(
      '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    );
  });

  it('vector 5: query encoding, sorting and repeated names', () => {
    const expected =
      'enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29';
    const params = new URLSearchParams([
      ['limit', '1'],
      ['enable', 'true'],
      ['test', '一 (&=?!#%.*)'],
      ['path', '/tmp/123'],
      ['multi', '3'],
      ['multi', '1'],
      ['multi', '2'],
    ]);
    expect(canonicalQuery(params)).toBe(expected);
    // The same query as it arrives in a URL: `+` for space, some characters left unencoded.
    const url = new URL(`https://h.example.com/p?${params}`);
    expect(url.search).toContain('+');
    expect(canonicalQuery(url.searchParams)).toBe(expected);
  });
});

describe('temporary credentials', () => {
  const url = new URL('https://cph.cn-north-4.myhuaweicloud.com/v1/p/cloud-phone/jobs?request_id=r1');
  const now = new Date('2024-01-02T03:04:05Z');

  it('sends X-Security-Token and signs it', () => {
    const added = signApigRequest(
      { method: 'GET', url, headers: {} },
      { ...KEYS, securityToken: 'TOKEN-A' },
      now,
    );
    expect(added['X-Security-Token']).toBe('TOKEN-A');
    expect(signedHeadersOf(added['Authorization'])).toBe('host;x-sdk-date;x-security-token');
  });

  it('changes the signature when only the token changes', () => {
    const sign = (securityToken?: string) =>
      signApigRequest({ method: 'GET', url, headers: {} }, { ...KEYS, securityToken }, now)['Authorization'];
    const [a, b, none] = [sign('TOKEN-A'), sign('TOKEN-B'), sign(undefined)];
    expect(new Set([a, b, none]).size).toBe(3);
  });

  it('adds no token header for permanent keys or an empty token', () => {
    for (const securityToken of [undefined, '']) {
      const added = signApigRequest({ method: 'GET', url, headers: {} }, { ...KEYS, securityToken }, now);
      expect(Object.keys(added).sort()).toEqual(['Authorization', 'X-Sdk-Date']);
    }
  });
});

describe('signed headers', () => {
  const url = new URL('https://cph.cn-north-4.myhuaweicloud.com/v1/p/cloud-phone/phones/share-files');
  const now = new Date('2024-01-02T03:04:05Z');
  const sign = (headers: Record<string, string>, u = url) =>
    signApigRequest({ method: 'POST', url: u, headers, body: '{}' }, KEYS, now)['Authorization'];

  it('signs content-type and x-project-id when sent, whatever their case', () => {
    const auth = sign({ 'CONTENT-TYPE': 'application/json', 'x-Project-ID': 'abc' });
    expect(signedHeadersOf(auth)).toBe('content-type;host;x-project-id;x-sdk-date');
    expect(sign({ 'content-type': 'application/json', 'X-Project-Id': 'abc' })).toBe(auth);
  });

  it('never signs headers the HTTP client may change', () => {
    const base = sign({ 'Content-Type': 'application/json' });
    const noisy = sign({
      'Content-Type': 'application/json',
      'Content-Length': '2',
      'User-Agent': 'cph-publish',
      Connection: 'keep-alive',
      Accept: '*/*',
    });
    expect(noisy).toBe(base);
    expect(signedHeadersOf(noisy)).toBe('content-type;host;x-sdk-date');
  });

  it('trims header values', () => {
    expect(sign({ 'Content-Type': '  application/json\t' })).toBe(
      sign({ 'Content-Type': 'application/json' }),
    );
  });

  it('uses its own X-Sdk-Date over a stale one among the headers', () => {
    const added = signApigRequest(
      { method: 'GET', url, headers: { 'X-Sdk-Date': '19990101T000000Z' } },
      KEYS,
      now,
    );
    expect(added['X-Sdk-Date']).toBe('20240102T030405Z');
    expect(added['Authorization']).toBe(
      signApigRequest({ method: 'GET', url, headers: {} }, KEYS, now)['Authorization'],
    );
  });

  it('signs the host with a non-default port and without a default one', () => {
    const canonicalFor = (host: string) =>
      buildCanonicalRequest({
        method: 'POST',
        url: new URL('https://x/v1/p'),
        headers: { host, 'X-Sdk-Date': '20240102T030405Z' },
        body: '{}',
      });
    const expectedSignature = (host: string) =>
      createHmac('sha256', KEYS.secretAccessKey)
        .update(apigStringToSign('20240102T030405Z', canonicalFor(host)))
        .digest('hex');
    const at = (u: string) => signatureOf(sign({}, new URL(u)));

    expect(at('https://cph.example.com:8443/v1/p')).toBe(expectedSignature('cph.example.com:8443'));
    expect(at('http://127.0.0.1:9000/v1/p')).toBe(expectedSignature('127.0.0.1:9000'));
    expect(at('https://cph.example.com:443/v1/p')).toBe(expectedSignature('cph.example.com'));
    expect(at('http://cph.example.com:80/v1/p')).toBe(expectedSignature('cph.example.com'));
    expect(at('https://cph.example.com:80/v1/p')).toBe(expectedSignature('cph.example.com:80'));
  });
});

describe('canonicalUri', () => {
  const of = (path: string) => canonicalUri(new URL(path, 'https://h.example.com').pathname);

  it('appends a trailing slash only when missing', () => {
    expect(of('/')).toBe('/');
    expect(canonicalUri('')).toBe('/');
    expect(of('/v1/jobs')).toBe('/v1/jobs/');
    expect(of('/v1/jobs/')).toBe('/v1/jobs/');
  });

  it('encodes spaces and unicode per segment without double-encoding what URL already encoded', () => {
    expect(of('/a b/ü/中/😀')).toBe('/a%20b/%C3%BC/%E4%B8%AD/%F0%9F%98%80/');
    expect(of('/a%20b')).toBe('/a%20b/');
    expect(of('/100%25')).toBe('/100%25/');
  });

  it('keeps an encoded slash inside its segment', () => {
    expect(of('/files/a%2Fb/c')).toBe('/files/a%2Fb/c/');
    expect(of('/files/a%2fb')).toBe('/files/a%2Fb/');
  });

  it('encodes every reserved character and normalises escapes of unreserved ones', () => {
    expect(of("/a:b@c!$&'()*+,;=")).toBe('/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D/');
    expect(of('/%41%7e-_.~')).toBe('/A~-_.~/');
  });

  it('keeps empty segments', () => {
    expect(of('/a//b')).toBe('/a//b/');
  });

  it('does not throw on malformed or non-UTF-8 escapes', () => {
    expect(canonicalUri('/100%zz')).toBe('/100%25zz/');
    expect(canonicalUri('/x%C3')).toBe('/x%C3/');
  });
});

describe('canonicalQuery', () => {
  const of = (search: string) => canonicalQuery(new URL(`https://h.example.com/p${search}`).searchParams);

  it('is empty without a query', () => {
    expect(of('')).toBe('');
    expect(of('?')).toBe('');
  });

  it('sorts repeated names by value and signs a missing value as name=', () => {
    expect(of('?b=2&a=z&a=y&a=&flag')).toBe('a=&a=y&a=z&b=2&flag=');
  });

  it('sorts names in code-unit order, upper case before lower case', () => {
    expect(of('?b=1&B=1&a=1&_=1&0=1')).toBe('0=1&B=1&_=1&a=1&b=1');
  });

  it('decodes + and %20 to a space before encoding it as %20', () => {
    expect(of('?q=a+b%20c%2Bd')).toBe('q=a%20b%20c%2Bd');
  });
});

describe('apigEncode and formatSdkDate', () => {
  it('keeps RFC 3986 unreserved characters only, with upper-case hex', () => {
    expect(apigEncode('AZaz09-_.~')).toBe('AZaz09-_.~');
    expect(apigEncode(' !"#$%&\'()*+,/:;<=>?@[\\]^`{|}')).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D',
    );
    expect(apigEncode('é😀\u00ff')).toBe('%C3%A9%F0%9F%98%80%C3%BF');
  });

  it('formats UTC as YYYYMMDDTHHMMSSZ, dropping milliseconds', () => {
    expect(formatSdkDate(new Date('2006-01-02T15:04:05.999Z'))).toBe('20060102T150405Z');
    expect(formatSdkDate(new Date('2024-12-31T23:59:59+08:00'))).toBe('20241231T155959Z');
  });
});

/**
 * Cross-check against the official Node SDK's signer. `AKSKSigner.sign` is a pure static function;
 * its quirks shape the input given to it:
 * - it signs every header it is given, so it only gets the headers this module signs;
 * - it takes the path from `url.parse(endpoint)`, which escapes a few characters (space, quotes, `{}`…)
 *   that it then encodes a second time, and it cannot express an encoded `/`; it is given raw segments
 *   from an alphabet `url.parse` leaves alone (we get the same segments properly encoded);
 * - it hashes `JSON.stringify(data)`, so bodies are JSON objects;
 * - it does not trim header values, and it reads `X-Sdk-Date` back through moment;
 * - `url.parse` keeps a default port, so the host is passed as `url.host`, as the SDK's own HTTP
 *   client does (`reSigner` sets `host` from the base URL).
 */
describe('agrees with @huaweicloud/huaweicloud-sdk-core AKSKSigner', () => {
  const stringOf = (chars: string, minLength: number, maxLength: number) =>
    fc.string({ unit: fc.constantFrom(...Array.from(chars)), minLength, maxLength });
  const segment = stringOf('abcXYZ019-._~!$&()*+,;=:@%é中😀ß', 1, 6).filter((s) => s !== '.' && s !== '..'); // URL resolves these
  const text = (minLength: number) => stringOf('aZ09-_.~ !"#$%&\'()*+,/:;<=>?@[]é中😀', minLength, 8);
  const headerCase = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());

  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
    origin: fc.constantFrom(
      'https://cph.cn-north-4.myhuaweicloud.com',
      'https://iam.example.com:8443',
      'http://127.0.0.1:9000',
      'https://obs.example.com:443',
    ),
    segments: fc.array(segment, { maxLength: 4 }),
    trailingSlash: fc.boolean(),
    query: fc.array(fc.tuple(fc.oneof(text(1), fc.constantFrom('limit', 'offset')), text(0)), {
      maxLength: 5,
    }),
    body: fc.option(fc.dictionary(text(1), fc.oneof(text(0), fc.integer())), { nil: undefined }),
    bodyAsBytes: fc.boolean(),
    contentType: fc.option(
      fc.tuple(
        headerCase('Content-Type'),
        fc.constantFrom('application/json', 'application/json;charset=UTF-8'),
      ),
      { nil: undefined },
    ),
    projectId: fc.option(fc.tuple(headerCase('X-Project-Id'), stringOf('0123456789abcdef', 32, 32)), {
      nil: undefined,
    }),
    token: fc.option(fc.base64String({ minLength: 4, maxLength: 80 }), { nil: undefined }),
    now: fc.date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2099-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
    ak: fc.constantFrom('AK1', 'QTWAOYTTINDUT2QVKYUC'),
    sk: fc.string({ minLength: 1, maxLength: 40 }),
  });

  it('produces the same Authorization for 200 generated requests', () => {
    fc.assert(
      fc.property(request, (r) => {
        const path = `/${r.segments.join('/')}${r.trailingSlash && r.segments.length ? '/' : ''}`;
        const url = new URL(
          `/${r.segments.map(encodeURIComponent).join('/')}${r.trailingSlash && r.segments.length ? '/' : ''}`,
          r.origin,
        );
        for (const [name, value] of r.query) url.searchParams.append(name, value);

        const signed: Record<string, string> = {};
        if (r.contentType) signed[r.contentType[0]] = r.contentType[1];
        if (r.projectId) signed[r.projectId[0]] = r.projectId[1];
        const bodyText = r.body === undefined ? undefined : JSON.stringify(r.body);
        const ours = signApigRequest(
          {
            method: r.method,
            url,
            headers: {
              ...signed,
              'User-Agent': 'cph-publish',
              'Content-Length': String(bodyText?.length ?? 0),
            },
            body: bodyText !== undefined && r.bodyAsBytes ? new TextEncoder().encode(bodyText) : bodyText,
          } satisfies ApigRequest,
          { accessKeyId: r.ak, secretAccessKey: r.sk, securityToken: r.token },
          r.now,
        );

        const queryParams: Record<string, string | string[]> = {};
        for (const [name, value] of r.query) {
          const prev = queryParams[name];
          queryParams[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
        }
        const theirs = AKSKSigner.sign(
          {
            method: r.method,
            endpoint: `${r.origin}${path}`,
            queryParams,
            data: r.body,
            headers: {
              ...signed,
              host: url.host,
              'X-Sdk-Date': formatSdkDate(r.now),
              ...(r.token ? { 'X-Security-Token': r.token } : {}),
            },
          },
          { getAk: () => r.ak, getSk: () => r.sk } as ICredential,
        ) as Record<string, string>;

        expect(ours['Authorization']).toBe(theirs['Authorization']);
        expect(ours['X-Sdk-Date']).toBe(theirs['X-Sdk-Date']);
      }),
      { seed: 20240601, numRuns: fuzzRuns(200) },
    );
  });
});
