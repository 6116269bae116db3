/** The one error-body reader and JSON reader of every Huawei answer: pure functions of an answer. */
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../../src/http/transport.js';
import {
  nonEmptyString,
  readErrorBody,
  readJsonObject,
  xmlElements,
  xmlRoot,
  xmlText,
} from '../../../src/huawei/request.js';
import { Redactor } from '../../../src/redact.js';

const answer = (status: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: Buffer.from(body),
});

describe('readErrorBody', () => {
  it.each([
    [
      'the gateway shape',
      answer(401, '{"error_code":"APIG.0301","error_msg":"bad signature","request_id":"r1"}'),
      { code: 'APIG.0301', message: 'bad signature', requestId: 'r1' },
    ],
    [
      "IAM's nested shape, the request id from X-Request-Id",
      answer(404, '{"error":{"code":"IAM.0004","message":"no such provider"}}', { 'x-request-id': 'r2' }),
      { code: 'IAM.0004', message: 'no such provider', requestId: 'r2' },
    ],
    [
      "Keystone's numeric code, which only repeats the status",
      answer(
        401,
        '{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}',
      ),
      { message: 'The request you have made requires authentication.' },
    ],
    [
      "OBS's <Error>, namespaced",
      answer(
        403,
        '<?xml version="1.0"?><o:Error xmlns:o="x"><o:Code>AccessDenied</o:Code><o:Message>Access &amp; denied</o:Message><o:RequestId>r3</o:RequestId></o:Error>',
      ),
      { code: 'AccessDenied', message: 'Access & denied', requestId: 'r3' },
    ],
    [
      'a HEAD with no body: the x-obs-* headers',
      answer(403, '', { 'x-obs-error-code': 'AccessDenied', 'x-obs-request-id': 'r4' }),
      { code: 'AccessDenied', requestId: 'r4' },
    ],
    [
      "a proxy's HTML page: nothing but the header's request id",
      answer(502, '<html><body><h1>502 Bad Gateway</h1><p>Code: 7</p></body></html>', {
        'x-request-id': 'r5',
      }),
      { requestId: 'r5' },
    ],
    ['empty strings count as absent', answer(500, '{"error_code":"","error_msg":"","request_id":""}'), {}],
  ])('%s', (_, response, expected) => {
    expect(readErrorBody(response)).toStrictEqual(expected);
  });
});

describe('readJsonObject', () => {
  const call = { service: 'CPH' as const, operation: 'ListJobs' };
  const ctx = { redactor: new Redactor() };

  it('prefers the body request_id to the header', () => {
    const { data, requestId } = readJsonObject(
      ctx as never,
      call,
      answer(200, '{"request_id":"body","jobs":[]}', { 'x-request-id': 'header' }),
    );
    expect([data, requestId]).toEqual([{ request_id: 'body', jobs: [] }, 'body']);
    expect(readJsonObject(ctx as never, call, answer(200, '{}', { 'x-request-id': 'h' })).requestId).toBe(
      'h',
    );
  });

  it.each(['[1,2]', 'null', '"text"', '{"jobs": ['])(
    '%s is not a JSON object: fails naming the answer',
    (body) => {
      expect(() => readJsonObject(ctx as never, call, answer(200, body, { 'x-request-id': 'r' }))).toThrow(
        `CPH ListJobs failed: the answer is not a JSON object: ${body} (HTTP 200, request id r)`,
      );
    },
  );

  it('scrubs secrets out of the answer it quotes', () => {
    const redactor = new Redactor();
    redactor.add('sk-secret-value');
    expect(() => readJsonObject({ redactor } as never, call, answer(200, 'echo: sk-secret-value'))).toThrow(
      /echo: \*\*\*/,
    );
  });
});

describe('nonEmptyString', () => {
  it('keeps non-empty strings only', () => {
    expect([nonEmptyString('a'), nonEmptyString(''), nonEmptyString(1), nonEmptyString(null)]).toEqual([
      'a',
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('readErrorBody: which source wins', () => {
  it.each([
    [
      'the gateway fields before the nested ones, and both before the headers',
      answer(400, '{"error_code":"A","error_msg":"a","request_id":"ra","error":{"code":"B","message":"b"}}', {
        'x-obs-error-code': 'C',
        'x-obs-error-message': 'c',
        'x-request-id': 'rh',
        'x-obs-request-id': 'ro',
      }),
      { code: 'A', message: 'a', requestId: 'ra' },
    ],
    [
      'the nested fields before the headers',
      answer(400, '{"error":{"code":"B","message":"b"}}', {
        'x-obs-error-code': 'C',
        'x-obs-error-message': 'c',
        'x-obs-request-id': 'ro',
      }),
      { code: 'B', message: 'b', requestId: 'ro' },
    ],
    [
      "OBS's XML before the headers",
      answer(403, '<Error><Code>X</Code><Message>x</Message><RequestId>rx</RequestId></Error>', {
        'x-obs-error-code': 'C',
        'x-obs-error-message': 'c',
        'x-request-id': 'rh',
      }),
      { code: 'X', message: 'x', requestId: 'rx' },
    ],
    [
      'the headers alone, X-Request-Id before x-obs-request-id',
      answer(403, '', {
        'x-obs-error-code': 'C',
        'x-obs-error-message': 'c',
        'x-request-id': 'rh',
        'x-obs-request-id': 'ro',
      }),
      { code: 'C', message: 'c', requestId: 'rh' },
    ],
    [
      'XML whose root is not <Error>: its elements are not read',
      answer(500, '<Result><Code>X</Code><Message>x</Message><RequestId>rx</RequestId></Result>'),
      {},
    ],
    ['a JSON string holding XML is no XML', answer(500, JSON.stringify('<Error><Code>X</Code></Error>')), {}],
    ['a nested error that is not an object', answer(500, '{"error":"text"}'), {}],
    ['JSON null', answer(500, 'null'), {}],
    [
      'non-string fields are left out',
      answer(
        500,
        '{"error_code":7,"error_msg":["m"],"request_id":{"id":1},"error":{"code":5,"message":false}}',
      ),
      {},
    ],
  ])('%s', (_, response, expected) => {
    expect(readErrorBody(response)).toStrictEqual(expected);
  });
});

describe('xmlRoot', () => {
  it.each([
    ['<Error><Code>A</Code></Error>', 'Error'],
    ['<?xml version="1.0" encoding="UTF-8"?>\n<Error/>', 'Error'],
    ['<!-- <Error> --><Result xmlns="x"></Result>', 'Result'],
    ['<?xml version="1.0"?><!-- a --><!-- b --><o:Error xmlns:o="x"></o:Error>', 'Error'],
    ['<obs-x.y:Error xmlns:obs-x.y="x"><obs-x.y:Code>A</obs-x.y:Code></obs-x.y:Error>', 'Error'],
    ['<Errors></Errors>', 'Errors'],
    ['<a.b-c>text</a.b-c>', 'a.b-c'],
    ['{"error_code":"A"}', undefined],
    ['', undefined],
    ['plain < text', undefined],
  ])('%j → %s', (xml, root) => {
    expect(xmlRoot(xml)).toBe(root);
  });
});

describe('xmlText and xmlElements: names, attributes, entities', () => {
  it('matches the whole name only, with attributes, across lines, the first of several', () => {
    const xml =
      '<R><UploadIdMarker>m</UploadIdMarker><UploadId a="1">\n u1 \n</UploadId><UploadId>u2</UploadId></R>';
    expect(xmlText(xml, 'UploadId')).toBe('u1');
    expect(xmlText('<R><Key/></R>', 'Key')).toBeUndefined();
    expect(xmlText('<R><Key></Key></R>', 'Key')).toBe('');
    expect(xmlText('<R><x.y-z:Key>k</x.y-z:Key></R>', 'Key')).toBe('k');
    expect(xmlText('<R><KeyX>k</KeyX></R>', 'Key')).toBeUndefined();
    expect(xmlElements(xml, 'UploadId')).toEqual(['\n u1 \n', 'u2']);
    expect(xmlElements('<R><Upload></Upload><Upload>\nb</Upload></R>', 'Upload')).toEqual(['', '\nb']);
  });

  it.each([
    ['&lt;&gt;&amp;&quot;&apos;', '<>&"\''],
    ['&LT;&Amp;&QUOT;', '<&"'],
    ['&#65;&#x42;&#X43;&#x6a;', 'ABCj'],
    ['&#128512;', '😀'],
    ['&amp;lt;', '&lt;'],
    ['&nbsp; &#xZZ; & ;', '&nbsp; &#xZZ; & ;'],
    ['&#1114111;&#x10FFFF;', '\u{10ffff}\u{10ffff}'],
    ['&#1114112; &#x110000; &#99999999999;', '&#1114112; &#x110000; &#99999999999;'],
  ])('decodes %j', (text, decoded) => {
    expect(xmlText(`<M>${text}</M>`, 'M')).toBe(decoded);
  });

  it('an error body with a character reference past U+10FFFF is still read (it used to throw a RangeError)', () => {
    expect(
      readErrorBody(
        answer(
          403,
          '<Error><Code>AccessDenied</Code><Message>no &#1114112;</Message><RequestId>r</RequestId></Error>',
        ),
      ),
    ).toStrictEqual({ code: 'AccessDenied', message: 'no &#1114112;', requestId: 'r' });
  });
});
