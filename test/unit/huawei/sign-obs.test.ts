import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credentials } from '../../../src/huawei/credentials.js';
import {
  isObsSubresource,
  type ObsSignInput,
  obsCanonicalResource,
  obsSignature,
  obsStringToSign,
  signObsRequest,
} from '../../../src/huawei/sign-obs.js';
import { fuzzRuns } from '../../helpers/fuzz.js';

const KEYS: Credentials = { accessKeyId: 'AKEXAMPLE', secretAccessKey: 'SKEXAMPLE' };
// The spec's date string: 12 Oct 2015 was a Monday, so no Date object formats to it; the vectors
// are therefore checked through obsStringToSign with this literal Date.
const VECTOR_DATE = 'Sat, 12 Oct 2015 08:12:38 GMT';

function authorizationFor(input: ObsSignInput, date = VECTOR_DATE): string {
  const stringToSign = obsStringToSign({ ...input, headers: { ...input.headers, Date: date } });
  return `OBS ${KEYS.accessKeyId}:${obsSignature(KEYS.secretAccessKey, stringToSign)}`;
}

describe('published vectors (huawei-api.md)', () => {
  const uploadId = '0000016F1A2B3C4D';
  const rows: [string, ObsSignInput, string][] = [
    [
      'GET /object.txt',
      { method: 'GET', bucket: 'bucket', key: 'object.txt', headers: {} },
      'OBS AKEXAMPLE:f92mQYzVW+6e7FwUmq43eST1Gzs=',
    ],
    [
      'POST /dir/app.tar?uploads',
      {
        method: 'POST',
        bucket: 'bucket',
        key: 'dir/app.tar',
        subresources: { uploads: undefined },
        headers: { 'Content-Type': 'application/x-tar' },
      },
      'OBS AKEXAMPLE:tvJcat6CBbDb9x7Iey9fQdAMLtk=',
    ],
    [
      'PUT /dir/app.tar?partNumber=1&uploadId=…',
      {
        method: 'PUT',
        bucket: 'bucket',
        key: 'dir/app.tar',
        subresources: { uploadId, partNumber: '1' },
        headers: {},
      },
      'OBS AKEXAMPLE:/aqUf+d1MQwlMHPT1GQEEAvsrt8=',
    ],
    [
      'POST /dir/app.tar?uploadId=… (complete)',
      {
        method: 'POST',
        bucket: 'bucket',
        key: 'dir/app.tar',
        subresources: { uploadId },
        headers: { 'Content-Type': 'application/xml', 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==' },
      },
      'OBS AKEXAMPLE:fBnu4Ehg15t82Jug0U3JtZuPiqQ=',
    ],
    [
      'DELETE /dir/app.tar?uploadId=…',
      { method: 'DELETE', bucket: 'bucket', key: 'dir/app.tar', subresources: { uploadId }, headers: {} },
      'OBS AKEXAMPLE:+J035U4a9PWPdd49LU0RBwRovgg=',
    ],
    [
      'PUT /dir/app.tar with x-obs-acl and a security token',
      {
        method: 'PUT',
        bucket: 'bucket',
        key: 'dir/app.tar',
        headers: {
          'Content-Type': 'application/x-tar',
          'x-obs-acl': 'private',
          'x-obs-security-token': 'TOKEN123',
        },
      },
      'OBS AKEXAMPLE:cAmokKwregKrJPcpHFWsOS1MJ3s=',
    ],
  ];

  it.each(rows)('%s', (_, input, expected) => {
    expect(authorizationFor(input)).toBe(expected);
  });

  it('builds the string to sign for the complete-upload row', () => {
    expect(obsStringToSign({ ...rows[3]![1], headers: { ...rows[3]![1].headers, Date: VECTOR_DATE } })).toBe(
      `POST\n1B2M2Y8AsgTpgAmY7PhCfg==\napplication/xml\n${VECTOR_DATE}\n/bucket/dir/app.tar?uploadId=0000016F1A2B3C4D`,
    );
  });

  it('the token row is what signObsRequest produces for temporary credentials', () => {
    const { 'x-obs-security-token': _, ...headers } = rows[5]![1].headers;
    const now = new Date('2015-10-12T08:12:38Z');
    const added = signObsRequest({ ...rows[5]![1], headers }, { ...KEYS, securityToken: 'TOKEN123' }, now);
    expect(added).toEqual({
      Date: 'Mon, 12 Oct 2015 08:12:38 GMT',
      'x-obs-security-token': 'TOKEN123',
      Authorization: authorizationFor(rows[5]![1], 'Mon, 12 Oct 2015 08:12:38 GMT'),
    });
  });

  it("AWS's published signature V2 vector (same algorithm)", () => {
    const stringToSign = obsStringToSign({
      method: 'GET',
      bucket: 'awsexamplebucket1',
      key: 'photos/puppy.jpg',
      headers: { Date: 'Tue, 27 Mar 2007 19:36:42 +0000' },
    });
    expect(stringToSign).toBe(
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
    );
    expect(obsSignature('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', stringToSign)).toBe(
      'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    );
  });
});

describe('signObsRequest', () => {
  const input: ObsSignInput = {
    method: 'PUT',
    bucket: 'bucket',
    key: 'dir/app.tar',
    subresources: { partNumber: '3', uploadId: 'U1' },
    headers: { 'Content-Length': '5', 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==' },
  };
  const now = new Date('2024-02-29T23:59:59.500Z');

  it('adds an RFC 1123 Date and signs it', () => {
    const added = signObsRequest(input, KEYS, now);
    expect(added['Date']).toBe('Thu, 29 Feb 2024 23:59:59 GMT');
    expect(added['Authorization']).toBe(authorizationFor(input, 'Thu, 29 Feb 2024 23:59:59 GMT'));
    expect(Object.keys(added).sort()).toEqual(['Authorization', 'Date']);
  });

  it('sends x-obs-security-token and signs it: the signature changes with the token', () => {
    const sign = (securityToken?: string) => signObsRequest(input, { ...KEYS, securityToken }, now);
    const a = sign('TOKEN-A');
    expect(a['x-obs-security-token']).toBe('TOKEN-A');
    expect(
      obsStringToSign({
        ...input,
        headers: { ...input.headers, Date: a['Date']!, 'x-obs-security-token': 'TOKEN-A' },
      }),
    ).toContain('\nx-obs-security-token:TOKEN-A\n/bucket/');
    expect(new Set([a, sign('TOKEN-B'), sign(undefined)].map((h) => h['Authorization'])).size).toBe(3);
  });

  it('ignores headers that are not signed', () => {
    const noisy = {
      ...input,
      headers: { ...input.headers, 'User-Agent': 'x', Host: 'bucket.obs.example.com' },
    };
    expect(signObsRequest(noisy, KEYS, now)['Authorization']).toBe(
      signObsRequest(input, KEYS, now)['Authorization'],
    );
  });
});

describe('obsStringToSign', () => {
  const base: ObsSignInput = { method: 'PUT', bucket: 'b', key: 'k', headers: { Date: 'D' } };

  it('signs x-obs-* headers lower-cased, sorted, trimmed', () => {
    const s = obsStringToSign({
      ...base,
      headers: {
        ...base.headers,
        'X-Obs-Meta-Zed': ' z ',
        'x-obs-acl': 'private',
        'X-OBS-STORAGE-CLASS': 'COLD',
      },
    });
    expect(s).toBe('PUT\n\n\nD\nx-obs-acl:private\nx-obs-meta-zed:z\nx-obs-storage-class:COLD\n/b/k');
  });

  it('finds Content-MD5 and Content-Type in any case', () => {
    const s = obsStringToSign({ ...base, headers: { date: 'D', 'content-md5': 'M', 'CONTENT-TYPE': 'T' } });
    expect(s).toBe('PUT\nM\nT\nD\n/b/k');
  });

  it('signs an empty Date line when x-obs-date is sent', () => {
    const s = obsStringToSign({ ...base, headers: { Date: 'D', 'x-obs-date': 'X' } });
    expect(s).toBe('PUT\n\n\n\nx-obs-date:X\n/b/k');
  });
});

describe('obsCanonicalResource', () => {
  it('encodes the key RFC 3986-style and keeps its slashes', () => {
    expect(obsCanonicalResource('bucket', "a b/ü+=&?#%!*'()~/中.tar")).toBe(
      '/bucket/a%20b/%C3%BC%2B%3D%26%3F%23%25%21%2A%27%28%29~/%E4%B8%AD.tar',
    );
    expect(obsCanonicalResource('bucket', 'dir//x/')).toBe('/bucket/dir//x/');
  });

  it('is /bucket/ for the bucket itself', () => {
    expect(obsCanonicalResource('bucket', '')).toBe('/bucket/');
  });

  it('keeps only OBS sub-resources, sorted, with raw values', () => {
    expect(
      obsCanonicalResource('b', 'k', {
        uploadId: 'a+b/c=d',
        'max-keys': '10',
        partNumber: '2',
        marker: 'x',
        acl: undefined,
        prefix: 'p',
      }),
    ).toBe('/b/k?acl&partNumber=2&uploadId=a+b/c=d');
  });

  it('signs an empty value as the bare name and no ? without sub-resources', () => {
    expect(obsCanonicalResource('b', 'k', { uploads: '' })).toBe('/b/k?uploads');
    expect(obsCanonicalResource('b', 'k', { prefix: 'x' })).toBe('/b/k');
    expect(obsCanonicalResource('b', 'k', {})).toBe('/b/k');
  });

  it('recognises sub-resource names case-insensitively, as esdk-obs-nodejs does', () => {
    expect(isObsSubresource('uploadId')).toBe(true);
    expect(isObsSubresource('UPLOADS')).toBe(true);
    expect(isObsSubresource('max-keys')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// Cross-check against esdk-obs-nodejs. Its signing code is `Utils.prototype.doAuth(opt, name, ctx)` in
// lib/utils.js: synchronous and free of I/O, it reads only `this.ak`, `this.sk`, `this.isCname` and
// `this.log`, and writes `opt.headers.Authorization`. `makeParam(name, params)` builds `opt` (method,
// encoded `uri`, `urlPath`, headers) from an API call without sending it. Only `makeRequest` sets
// `Date` (`new Date().toUTCString()`) and `x-obs-security-token` before calling doAuth, and it also
// sends the request, so those two steps are repeated here.
// ---------------------------------------------------------------------------------------------------

interface SdkOpt {
  err?: string;
  method: string;
  uri: string;
  urlPath: string;
  headers: Record<string, string>;
}
interface SdkUtils {
  ak: string;
  sk: string;
  server: string;
  signatureContext: unknown;
  makeParam(methodName: string, params: Record<string, unknown>): SdkOpt;
  doAuth(opt: SdkOpt, methodName: string, signatureContext: unknown): void;
  encodeURIWithSafe(s: string, safe: string): string;
}

const require = createRequire(import.meta.url);
const SdkUtilsClass = require('esdk-obs-nodejs/lib/utils.js') as new (log: unknown) => SdkUtils;
const obsContext = {
  signature: 'obs',
  headerPrefix: 'x-obs-',
  headerMetaPrefix: 'x-obs-meta-',
  authPrefix: 'OBS',
  stsToken: 'x-obs-security-token',
};
const sdk = new SdkUtilsClass({ isLevelEnabled: () => false, runLog: () => {} });
sdk.server = 'obs.cn-north-4.myhuaweicloud.com';
sdk.signatureContext = obsContext;

/** What makeRequest does before signing, then doAuth itself. */
function sdkAuthorize(opt: SdkOpt, creds: Credentials, now: Date): string {
  opt.headers['Date'] = now.toUTCString();
  if (creds.securityToken) opt.headers['x-obs-security-token'] = creds.securityToken;
  sdk.ak = creds.accessKeyId;
  sdk.sk = creds.secretAccessKey;
  sdk.doAuth(opt, 'test', obsContext);
  return opt.headers['Authorization']!;
}

const stringOf = (chars: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...Array.from(chars)), minLength, maxLength });
const keyText = stringOf("aZ09-_.~ /!*'()+=&?#%@:;,é中😀", 1, 16);
const valueText = stringOf("aZ09-_.~ /!*'()+=&?#%é中", 0, 10);
const creds = fc.record({
  accessKeyId: fc.constantFrom('AKEXAMPLE', 'HST3UXXXXXXXXXXXXXXX'),
  secretAccessKey: fc.string({ minLength: 1, maxLength: 40 }),
  securityToken: fc.option(fc.base64String({ minLength: 4, maxLength: 80 }), { nil: undefined }),
});
const when = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T23:59:59Z'),
  noInvalidDate: true,
});

describe('agrees with esdk-obs-nodejs', () => {
  it('uses the same sub-resource list as the SDK', () => {
    const source = readFileSync(require.resolve('esdk-obs-nodejs/lib/utils.js'), 'utf8');
    const list = /const allowedResourceParameterNames = \[([\s\S]*?)\];/.exec(source)![1]!;
    const names = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(50);
    for (const name of names) expect(isObsSubresource(name), name).toBe(true);
    for (const name of ['marker', 'max-keys', 'prefix', 'delimiter', 'key-marker', 'upload-id-marker']) {
      expect(isObsSubresource(name), name).toBe(false);
    }
  });

  it('signs 200 generated requests (doAuth on SDK-style uri/urlPath) identically', () => {
    const subresourceName = fc.constantFrom(
      'uploads',
      'uploadId',
      'partNumber',
      'acl',
      'versionId',
      'delete',
      'deletebucket',
      'policy',
      'policystatus',
      'response-content-type',
      'x-image-process',
      'name',
      'length',
      'ACL',
      'UploadId',
      // not sub-resources: must not be signed
      'marker',
      'max-keys',
      'prefix',
      'x-foo',
    );
    const request = fc.record({
      method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE'),
      bucket: fc.constantFrom('bucket', 'my-bucket.v2', 'a1b'),
      key: keyText,
      query: fc.dictionary(subresourceName, fc.option(valueText, { nil: undefined }), { maxKeys: 4 }),
      contentType: fc.option(
        fc.constantFrom('application/x-tar', 'application/xml', 'text/plain; charset=utf-8'),
        {
          nil: undefined,
        },
      ),
      contentMd5: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
      obsHeaders: fc.dictionary(
        fc.constantFrom(
          'x-obs-acl',
          'X-Obs-Meta-Build',
          'x-obs-meta-sha',
          'x-obs-storage-class',
          'X-OBS-GRANT-READ',
        ),
        stringOf('aZ09-_.=/ :;', 1, 12).filter((v) => v.trim() === v),
        { maxKeys: 3 },
      ),
      creds,
      now: when,
    });

    fc.assert(
      fc.property(request, (r) => {
        const headers: Record<string, string> = {
          ...r.obsHeaders,
          'Content-Length': '0',
          Host: `${r.bucket}.x`,
        };
        if (r.contentType) headers['Content-Type'] = r.contentType;
        if (r.contentMd5) headers['Content-MD5'] = Buffer.from(r.contentMd5).toString('base64');
        const ours = signObsRequest(
          { method: r.method, bucket: r.bucket, key: r.key, subresources: r.query, headers },
          r.creds,
          r.now,
        );

        // The query string as makeParam writes it.
        const urlPath = Object.entries(r.query)
          .map(([name, value]) =>
            value === undefined
              ? sdk.encodeURIWithSafe(name, '/')
              : `${sdk.encodeURIWithSafe(name, '/')}=${sdk.encodeURIWithSafe(value, '/')}`,
          )
          .join('&');
        const opt: SdkOpt = {
          method: r.method,
          uri: sdk.encodeURIWithSafe(`/${r.bucket}/${r.key}`, '/'),
          urlPath: urlPath ? `?${urlPath}` : '',
          headers: { ...headers },
        };
        expect(ours['Authorization']).toBe(sdkAuthorize(opt, r.creds, r.now));
        expect(ours['Date']).toBe(opt.headers['Date']);
      }),
      { seed: 20240602, numRuns: fuzzRuns(200) },
    );
  });

  it('signs the calls the action makes, as built by the SDK itself, identically', () => {
    const call = fc.record({
      key: keyText,
      uploadId: stringOf('0123456789ABCDEFabcdef-_.', 1, 32),
      partNumber: fc.integer({ min: 1, max: 10_000 }),
      contentType: fc.constantFrom('application/x-tar', 'application/octet-stream'),
      creds,
      now: when,
    });
    fc.assert(
      fc.property(call, (c) => {
        const { key, uploadId, partNumber, contentType } = c;
        const calls: [string, Record<string, unknown>, Record<string, string | undefined>][] = [
          ['GetObjectMetadata', { Key: key }, {}],
          ['PutObject', { Key: key, ContentType: contentType, ACL: 'private', ContentLength: 7 }, {}],
          [
            'InitiateMultipartUpload',
            { Key: key, ContentType: contentType, Metadata: { sha: 'abc' } },
            { uploads: undefined },
          ],
          [
            'UploadPart',
            { Key: key, PartNumber: partNumber, UploadId: uploadId },
            { partNumber: String(partNumber), uploadId },
          ],
          [
            'CompleteMultipartUpload',
            { Key: key, UploadId: uploadId, Parts: [{ PartNumber: 1, ETag: '"e"' }] },
            { uploadId },
          ],
          ['AbortMultipartUpload', { Key: key, UploadId: uploadId }, { uploadId }],
        ];
        for (const [name, params, subresources] of calls) {
          const opt = sdk.makeParam(name, { Bucket: 'bucket', ...params });
          expect(opt.err).toBeUndefined();
          const ours = signObsRequest(
            { method: opt.method, bucket: 'bucket', key, subresources, headers: { ...opt.headers } },
            c.creds,
            c.now,
          );
          expect(ours['Authorization'], name).toBe(sdkAuthorize(opt, c.creds, c.now));
        }
      }),
      { seed: 20240603, numRuns: fuzzRuns(40) },
    );
  });
});
