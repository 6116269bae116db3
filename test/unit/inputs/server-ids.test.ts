import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import {
  mergeServerIds,
  parseServerIdsFile,
  parseServerIdsText,
  SERVER_ID_PATTERN,
} from '../../../src/inputs/server-ids.js';
import { fuzzRuns } from '../../helpers/fuzz.js';

/** The single problem of the InputError thrown by `fn`. */
function problemOf(fn: () => unknown): { input: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const { problems } = error as InputError;
    expect(problems).toHaveLength(1);
    return problems[0]!;
  }
  throw new Error('expected an InputError');
}

const ID_A = '0123456789abcdef0123456789abcdef';
const ID_B = 'server-b';
const ID_C = 'C3';

describe('SERVER_ID_PATTERN', () => {
  it.each([['a'], ['A-1'], [ID_A], ['-'], ['x'.repeat(32)]])('accepts %s', (id) => {
    expect(SERVER_ID_PATTERN.test(id)).toBe(true);
  });
  it.each([[''], ['x'.repeat(33)], ['a_b'], ['a.b'], ['a b'], ['é']])('rejects %j', (id) => {
    expect(SERVER_ID_PATTERN.test(id)).toBe(false);
  });
});

describe('parseServerIdsText', () => {
  it('splits on commas, spaces, tabs, new lines and CRLF, keeping order', () => {
    expect(parseServerIdsText(`${ID_A}, ${ID_B}\t${ID_C}\r\nd\n\n,,e ,`)).toEqual([
      ID_A,
      ID_B,
      ID_C,
      'd',
      'e',
    ]);
  });

  it('returns nothing for empty or blank text', () => {
    expect(parseServerIdsText('')).toEqual([]);
    expect(parseServerIdsText(' \n,\t\r\n')).toEqual([]);
  });

  it('drops comments to the end of the line, also right after an id', () => {
    expect(parseServerIdsText(`# fleet\n${ID_A} # first\r\n${ID_B}#second, not-an-id_\n# ${ID_C}`)).toEqual([
      ID_A,
      ID_B,
    ]);
  });

  it('ends a comment at a lone CR too', () => {
    expect(parseServerIdsText('a # one\rb # two\r\nc')).toEqual(['a', 'b', 'c']);
  });

  it('keeps duplicates (merging drops them)', () => {
    expect(parseServerIdsText('a a b')).toEqual(['a', 'a', 'b']);
  });

  it('names the input and shows the bad id with the reason', () => {
    expect(problemOf(() => parseServerIdsText('good bad_id'))).toEqual({
      input: 'server-ids',
      message:
        "invalid server id 'bad_id' (bad character '_'). A server id is 1 to 32 letters, digits or '-'; " +
        'separate ids with commas, spaces or new lines',
    });
  });

  it('says when an id is too long', () => {
    expect(problemOf(() => parseServerIdsText('x'.repeat(33))).message).toContain(
      '(33 characters, more than 32)',
    );
  });

  it('gives line numbers in multi-line text and lists at most MAX_IDS_PER_LINE bad ids', () => {
    const third = Array.from({ length: 20 }, (_, i) => `a_${i + 3}`).join(' ');
    const { message } = problemOf(() => parseServerIdsText(`ok\na_1 a_2\n${third}`));
    expect(message).toMatch(/^22 invalid server ids: 'a_1' \(bad character '_', line 2\), 'a_2'/);
    expect(message).toContain("'a_20' (bad character '_', line 3) … and 2 more.");
    expect(message).not.toContain('a_21');
  });

  it('makes invisible characters visible in the message', () => {
    expect(problemOf(() => parseServerIdsText('a;b\u200bc')).message).toContain("'a;b\\u{200b}c'");
  });

  it('reports under server-ids-file with the file name and line when asked', () => {
    const problem = problemOf(() => parseServerIdsText('ok\nno!', 'server-ids-file', 'ids.txt'));
    expect(problem.input).toBe('server-ids-file');
    expect(problem.message).toContain("'no!' (bad character '!', line 2 of ids.txt)");
  });
});

describe('parseServerIdsFile', () => {
  it('reads plain text with comments and CRLF line ends', () => {
    const content = `# production fleet\r\n${ID_A}\r\n${ID_B}, ${ID_C} # two on a line\r\n\r\n`;
    expect(parseServerIdsFile(content, 'ids.txt')).toEqual([ID_A, ID_B, ID_C]);
  });

  it('reads a JSON array of ids', () => {
    expect(parseServerIdsFile(`  \n[${JSON.stringify(ID_A)}, "${ID_B}"]`, 'ids.json')).toEqual([ID_A, ID_B]);
  });

  it('reads {"server_ids": [...]}', () => {
    expect(parseServerIdsFile(JSON.stringify({ server_ids: [ID_B, ID_C] }), 'ids.json')).toEqual([
      ID_B,
      ID_C,
    ]);
  });

  it('reads a ListCloudPhoneServers response', () => {
    const response = {
      request_id: 'r-1',
      count: 2,
      servers: [
        { server_id: ID_A, server_name: 'one', phones: [{ phone_id: 'p' }] },
        { server_id: ID_C, server_name: 'two' },
      ],
    };
    expect(parseServerIdsFile(JSON.stringify(response, null, 2), 'servers.json')).toEqual([ID_A, ID_C]);
  });

  it('ignores a UTF-8 byte order mark before JSON or text', () => {
    expect(parseServerIdsFile(`\uFEFF["${ID_B}"]`, 'ids.json')).toEqual([ID_B]);
    expect(parseServerIdsFile(`\uFEFF${ID_B}\n`, 'ids.txt')).toEqual([ID_B]);
  });

  it.each([
    ['["a", ', /^'ids\.json' is not valid JSON \(.+\); fix it, or write plain text ids$/],
    ['{"servers": [{"server_id": "a"}', /is not valid JSON/],
    [
      '["a", 7, null, "b_c", ""]',
      /has 4 invalid entries: \[1\] \(a number, not a string\), \[2\] \(null, not a string\), \[3\] 'b_c' \(bad character '_'\), \[4\] '' \(empty\)/,
    ],
    ['{"server_ids": "a,b"}', /"server_ids" must be an array; expected a JSON array of server ids/],
    ['{"server_ids": [["a"]]}', /an invalid entry: server_ids\[0\] \(an array, not a string\)/],
    ['{"servers": {"server_id": "a"}}', /"servers" must be an array/],
    [
      '{"servers": [{"server_id": "a"}, {"id": "b"}, "c"]}',
      /servers\[1\], servers\[2\] have no "server_id" string/,
    ],
    ['{"servers": [{"server_id": "a b"}]}', /servers\[0\]\.server_id 'a b' \(bad character ' '\)/],
    ['{"server_ids": [], "servers": []}', /has both "server_ids" and "servers"; keep only one of them/],
    [
      '{"ids": ["a"]}',
      /has an unsupported JSON shape; expected a JSON array of server ids, \{"server_ids": \[\.\.\.\]\}, or a ListCloudPhoneServers response/,
    ],
    ['ustar\0\0\0data/', /looks like a binary file; expected a text or JSON list of server ids/],
  ])('rejects %j with a clear message', (content, expected) => {
    const problem = problemOf(() => parseServerIdsFile(content, 'ids.json'));
    expect(problem.input).toBe('server-ids-file');
    expect(problem.message).toMatch(expected);
    expect(problem.message.startsWith("'ids.json' ")).toBe(true);
  });

  it('treats text that does not start with [ or { as plain text', () => {
    expect(problemOf(() => parseServerIdsFile('"a"', 'ids.txt')).message).toContain(
      `'"a"' (bad character '"', line 1 of ids.txt)`,
    );
    expect(parseServerIdsFile('null', 'ids.txt')).toEqual(['null']);
  });
});

describe('mergeServerIds', () => {
  it('keeps server-ids first, then the file, dropping later duplicates', () => {
    expect(mergeServerIds(['a', 'b', 'a'], ['c', 'b', 'd', 'c', 'c'])).toEqual({
      ids: ['a', 'b', 'c', 'd'],
      duplicates: ['a', 'b', 'c'],
    });
  });

  it('returns nothing for nothing', () => {
    expect(mergeServerIds([], [])).toEqual({ ids: [], duplicates: [] });
  });
});

describe('properties', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9-]{1,32}$/);
  const commentText = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
  const plainSeparator = fc.constantFrom(',', ' ', '\t', '\n', '\r\n', ', ', ' ,\r\n');
  const comment = fc
    .tuple(commentText, fc.constantFrom('\n', '\r\n', '\r'))
    .map(([text, end]) => `#${text}${end}`);
  /** One or more separators; a comment may stand alone because it always ends the line. */
  const separatorRun = fc
    .array(fc.oneof(plainSeparator, comment), { minLength: 1, maxLength: 4 })
    .map((s) => s.join(''));

  it('round-trips id lists joined by any mix of separators and comments', () => {
    fc.assert(
      fc.property(
        fc.array(id, { maxLength: 20 }),
        fc.array(separatorRun, { minLength: 21, maxLength: 21 }),
        fc.option(comment.map((c) => c.trimEnd())),
        (ids, separators, trailing) => {
          const leading = separators[20]!;
          const text = leading + ids.map((one, i) => one + separators[i]).join('') + (trailing ?? '');
          expect(parseServerIdsText(text)).toEqual(ids);
          expect(parseServerIdsFile(text, 'ids.txt')).toEqual(ids);
        },
      ),
    );
  });

  it('round-trips the JSON formats', () => {
    fc.assert(
      fc.property(fc.array(id, { maxLength: 20 }), (ids) => {
        expect(parseServerIdsFile(JSON.stringify(ids), 'f')).toEqual(ids);
        expect(parseServerIdsFile(JSON.stringify({ server_ids: ids }), 'f')).toEqual(ids);
        expect(
          parseServerIdsFile(JSON.stringify({ servers: ids.map((server_id) => ({ server_id })) }), 'f'),
        ).toEqual(ids);
      }),
    );
  });

  const throwsOnlyInputError = (fn: () => unknown) => {
    try {
      const ids = fn() as string[];
      for (const one of ids) expect(one).toMatch(SERVER_ID_PATTERN);
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
    }
  };

  it('never throws anything but InputError, and returns only valid ids', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom('a', '-', ',', ' ', '#', '\r', '\n', '_', '[', '{', '"', '\0'),
        maxLength: 60,
      }),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc
        .record(
          { servers: fc.array(fc.jsonValue()), server_ids: fc.array(fc.jsonValue()) },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        throwsOnlyInputError(() => parseServerIdsText(text));
        throwsOnlyInputError(() => parseServerIdsFile(text, 'f'));
      }),
      { numRuns: fuzzRuns(500) },
    );
  });

  it('lists each duplicate once and keeps every distinct id in first-seen order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd')),
        fc.array(fc.constantFrom('a', 'b', 'c', 'e')),
        (a, b) => {
          const { ids, duplicates } = mergeServerIds(a, b);
          expect(ids).toEqual([...new Set([...a, ...b])]);
          expect(duplicates).toEqual([...new Set([...a, ...b].filter((x, i, all) => all.indexOf(x) !== i))]);
        },
      ),
    );
  });
});
