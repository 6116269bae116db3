import { describe, expect, it } from 'vitest';
import { encodeKey, objectUrl, usesPathStyle } from '../../../src/huawei/obs.js';
import { xmlElements, xmlText } from '../../../src/huawei/request.js';
import { Redactor } from '../../../src/redact.js';

describe('OBS addressing', () => {
  it('is virtual-hosted for host names and path-style for IP literals and localhost', () => {
    const key = 'dir/app v1#2+3=.tar';
    expect(
      objectUrl({ endpoint: new URL('https://obs.cn-east-3.myhuaweicloud.com'), bucket: 'b1' }, key).href,
    ).toBe('https://b1.obs.cn-east-3.myhuaweicloud.com/dir/app%20v1%232%2B3%3D.tar');
    expect(objectUrl({ endpoint: new URL('http://127.0.0.1:9000'), bucket: 'b1' }, 'a/b.tar').href).toBe(
      'http://127.0.0.1:9000/b1/a/b.tar',
    );
    expect(
      objectUrl({ endpoint: new URL('http://localhost:9000/'), bucket: 'b1' }, 'a.tar', {
        uploads: undefined,
      }).href,
    ).toBe('http://localhost:9000/b1/a.tar?uploads');
    expect(usesPathStyle(new URL('http://[::1]:80'))).toBe(true);
    expect(usesPathStyle(new URL('https://obs.example.com'))).toBe(false);
    expect(encodeKey('a/b c/d.tar')).toBe('a/b%20c/d.tar');
  });

  it('carries sub-resources in the query, values encoded', () => {
    const url = objectUrl({ endpoint: new URL('http://127.0.0.1:1'), bucket: 'b1' }, 'k.tar', {
      partNumber: '3',
      uploadId: 'a+b/c',
    });
    expect(url.search).toBe('?partNumber=3&uploadId=a%2Bb%2Fc');
  });
});

describe('the bucket itself (ListMultipartUploads)', () => {
  it('is /{bucket} path-style and / virtual-hosted, with the query as given', () => {
    const query = { uploads: undefined, prefix: 'rel/app v1.tar', 'key-marker': 'a+b' };
    expect(objectUrl({ endpoint: new URL('http://127.0.0.1:9000'), bucket: 'b1' }, '', query).href).toBe(
      'http://127.0.0.1:9000/b1?uploads&prefix=rel%2Fapp%20v1.tar&key-marker=a%2Bb',
    );
    expect(objectUrl({ endpoint: new URL('https://obs.example.com'), bucket: 'b1' }, '', query).href).toBe(
      'https://b1.obs.example.com/?uploads&prefix=rel%2Fapp%20v1.tar&key-marker=a%2Bb',
    );
  });
});

describe('xmlElements', () => {
  it('returns every repeated element, not the ones whose name merely starts the same', () => {
    const xml =
      '<r:ListMultipartUploadsResult xmlns:r="x"><r:UploadIdMarker/><r:Upload><r:Key>a</r:Key><r:UploadId>1</r:UploadId></r:Upload>' +
      '<Upload a="b"><Key>b</Key></Upload></r:ListMultipartUploadsResult>';
    expect(xmlElements(xml, 'Upload').map((e) => xmlText(e, 'Key'))).toEqual(['a', 'b']);
    expect(xmlElements(xml, 'Nothing')).toEqual([]);
  });
});

describe('xmlText', () => {
  it('reads elements with or without a namespace, decoding entities', () => {
    expect(
      xmlText(
        '<?xml version="1.0"?><InitiateMultipartUploadResult xmlns="http://obs/"><UploadId>ab&amp;c</UploadId></InitiateMultipartUploadResult>',
        'UploadId',
      ),
    ).toBe('ab&c');
    expect(xmlText('<s3:Error xmlns:s3="x"><s3:Code>AccessDenied</s3:Code></s3:Error>', 'Code')).toBe(
      'AccessDenied',
    );
    expect(xmlText('<Error><Message>a &lt;b&gt; &#65;&#x42;</Message></Error>', 'Message')).toBe('a <b> AB');
    expect(xmlText('<Error></Error>', 'Code')).toBeUndefined();
  });
});

describe('Redactor', () => {
  it('scrubs secrets verbatim and percent-encoded, longest first', () => {
    const r = new Redactor();
    r.add('s3cr3t/Key+');
    r.add('s3cr3t');
    r.add('ab'); // too short to scrub safely
    expect(r.redact('x s3cr3t/Key+ y s3cr3t%2FKey%2B z s3cr3t ab')).toBe('x *** y *** z *** ab');
  });
});
