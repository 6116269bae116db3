/** The one error-body reader and JSON reader of every Huawei answer: pure functions of an answer. */
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../../src/http/transport.js';
import { nonEmptyString, readErrorBody, readJsonObject } from '../../../src/huawei/request.js';
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
    expect(readErrorBody(response)).toEqual(expected);
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
