/**
 * Server ids come from the `server-ids` input and the `server-ids-file` file. Both are parsed here,
 * without touching the file system, so the rules can be tested on plain strings.
 */

import { InputError } from '../errors.js';
import { asQuoted, listIds, MAX_IDS_PER_LINE, pluralWord, show } from '../util/text.js';

/** A CPH server id: 1–32 letters, digits or `-`. */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9-]{1,32}$/;

const ID_RULE = "A server id is 1 to 32 letters, digits or '-'";

/**
 * Ids separated by commas or white space (spaces, tabs, `\n`, `\r\n`); `#` starts a comment that runs
 * to the end of the line. Returns the ids in order, duplicates kept. Throws an InputError listing
 * the invalid ids.
 */
export function parseServerIdsText(text: string, input = 'server-ids', fileName?: string): string[] {
  const ids: string[] = [];
  const invalid: string[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((line, index) => {
    const hash = line.indexOf('#');
    const content = hash === -1 ? line : line.slice(0, hash);
    for (const token of content.split(/[\s,]+/)) {
      if (token === '') continue;
      if (SERVER_ID_PATTERN.test(token)) {
        ids.push(token);
      } else {
        const where = fileName
          ? `line ${index + 1} of ${fileName}`
          : lines.length > 1
            ? `line ${index + 1}`
            : '';
        invalid.push(describeBadId(token, where));
      }
    }
  });
  if (invalid.length > 0) {
    const what = invalid.length === 1 ? 'invalid server id' : `${invalid.length} invalid server ids:`;
    const message = `${what} ${listSome(invalid)}. ${ID_RULE}; separate ids with commas, spaces or new lines`;
    throw new InputError([{ input, message }]);
  }
  return ids;
}

/**
 * The content of `server-ids-file`: JSON when its first non-space character is `[` or `{` (an array
 * of ids, `{"server_ids": [...]}`, or a ListCloudPhoneServers response `{"servers": [{"server_id"}]}`),
 * plain text as for {@link parseServerIdsText} otherwise.
 */
export function parseServerIdsFile(content: string, fileNameForMessages: string): string[] {
  const text = content.replace(/^\uFEFF/, '');
  if (text.includes('\0')) {
    throw fileError(
      fileNameForMessages,
      'looks like a binary file; expected a text or JSON list of server ids',
    );
  }
  const first = text.trimStart()[0];
  if (first === '[' || first === '{') return parseServerIdsJson(text, fileNameForMessages);
  return parseServerIdsText(text, 'server-ids-file', fileNameForMessages);
}

/** Merges in order, keeping the first occurrence; `duplicates` lists each dropped id once. */
export function mergeServerIds(
  a: readonly string[],
  b: readonly string[],
): { ids: string[]; duplicates: string[] } {
  const ids = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of [...a, ...b]) {
    if (ids.has(id)) duplicates.add(id);
    else ids.add(id);
  }
  return { ids: [...ids], duplicates: [...duplicates] };
}

const JSON_SHAPES =
  'expected a JSON array of server ids, {"server_ids": [...]}, or a ListCloudPhoneServers response {"servers": [{"server_id": ...}, ...]}';

function parseServerIdsJson(text: string, fileName: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw fileError(
      fileName,
      `is not valid JSON (${(error as Error).message}); fix it, or write plain text ids`,
    );
  }
  if (Array.isArray(doc)) return checkIdList(doc, fileName, '');
  if (isObject(doc)) {
    if ('server_ids' in doc && 'servers' in doc) {
      throw fileError(fileName, 'has both "server_ids" and "servers"; keep only one of them');
    }
    if ('server_ids' in doc) {
      if (!Array.isArray(doc.server_ids))
        throw fileError(fileName, `"server_ids" must be an array; ${JSON_SHAPES}`);
      return checkIdList(doc.server_ids, fileName, 'server_ids');
    }
    if ('servers' in doc) {
      if (!Array.isArray(doc.servers))
        throw fileError(fileName, `"servers" must be an array; ${JSON_SHAPES}`);
      const missing = doc.servers.flatMap((server, i) =>
        isObject(server) && typeof server.server_id === 'string' ? [] : [`servers[${i}]`],
      );
      if (missing.length > 0) {
        throw fileError(
          fileName,
          `${listSome(missing)} ${pluralWord(missing.length, 'has', 'have')} no "server_id" string`,
        );
      }
      return checkIdList(
        doc.servers.map((server) => (server as { server_id: string }).server_id),
        fileName,
        'servers',
        '.server_id',
      );
    }
  }
  throw fileError(fileName, `has an unsupported JSON shape; ${JSON_SHAPES}`);
}

function checkIdList(list: unknown[], fileName: string, key: string, suffix = ''): string[] {
  const invalid = list.flatMap((item, i) => {
    const where = `${key}[${i}]${suffix}`;
    if (typeof item !== 'string') return [`${where} (${describeType(item)}, not a string)`];
    return SERVER_ID_PATTERN.test(item) ? [] : [`${where} ${describeBadId(item, '')}`];
  });
  if (invalid.length > 0) {
    const what = invalid.length === 1 ? 'an invalid entry' : `${invalid.length} invalid entries`;
    throw fileError(fileName, `has ${what}: ${listSome(invalid)}. ${ID_RULE}`);
  }
  return list as string[];
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function describeBadId(id: string, where: string): string {
  const chars = [...id];
  const bad = chars.find((c) => !/[A-Za-z0-9-]/.test(c));
  const reason =
    bad !== undefined
      ? `bad character ${show(bad)}`
      : chars.length === 0
        ? 'empty'
        : `${chars.length} characters, more than 32`;
  return `${show(id)} (${reason}${where ? `, ${where}` : ''})`;
}

/** Entries quoted with `show` (escaped already), at most `MAX_IDS_PER_LINE` of them. */
const listSome = (items: string[]) => listIds(items, MAX_IDS_PER_LINE, asQuoted);

function fileError(fileName: string, message: string): InputError {
  return new InputError([{ input: 'server-ids-file', message: `${show(fileName)} ${message}` }]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
