/**
 * Which servers the run is for: ids (`server-ids`, `server-ids-file`), name patterns
 * (`server-names`), and whether they are checked before anything is sent (`preflight`).
 */

import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { show } from '../util/text.js';
import { boolean, field, type Parsed, type Reader, whole } from './reader.js';
import { mergeServerIds, parseServerIdsFile, parseServerIdsText } from './server-ids.js';

/**
 * A pattern: letters and digits of any script (server names may be Chinese), `-`, `_`, `.` and
 * the wildcards `*` and `?`; 1 to 255 characters (code points, not UTF-16 units).
 */
const NAME_PATTERN = /^[\p{L}\p{N}_.*?-]{1,255}$/u;

export interface NamePatterns {
  include: string[];
  /** The `!` patterns, without their `!`. */
  exclude: string[];
}

export const SERVER_IDS = field('server-ids', '', (raw) => ({ value: raw }));
export const SERVER_IDS_FILE = field('server-ids-file', '', (raw) => ({ value: raw }));
export const SERVER_NAMES = field('server-names', '', serverNames);
export const PREFLIGHT = field('preflight', 'true', boolean);

export const TARGET_FIELDS = [SERVER_IDS, SERVER_IDS_FILE, SERVER_NAMES, PREFLIGHT];

export interface Targets {
  /** `server-ids` then `server-ids-file`, duplicates dropped, in order; empty when only names choose. */
  serverIds: string[];
  /** The ids dropped as duplicates, each once (the caller warns). */
  duplicateServerIds: string[];
  serverNames: NamePatterns;
  preflight: boolean;
}

export function readTargets(r: Reader): Targets | undefined {
  const names = r.read(SERVER_NAMES);
  const ids = readServerIds(r);
  if (ids && names && ids.ids.length === 0 && names.include.length === 0) {
    if (names.exclude.length > 0) {
      r.report(
        SERVER_NAMES.name,
        "has only '!' exclusions and no server id is given: add a pattern that chooses servers, such as 'game-prod-*'",
      );
    } else {
      const file = r.raw(SERVER_IDS_FILE);
      r.report(
        SERVER_IDS.name,
        file
          ? `no server ids: 'server-ids' is empty and ${show(file)} lists none; give at least one id, or choose servers with 'server-names'`
          : "no server ids: set 'server-ids' or 'server-ids-file' to at least one CPH server id, or 'server-names' to a name pattern",
      );
    }
  }
  const preflight = r.read(PREFLIGHT);
  const read = whole({ ids, names, preflight });
  return (
    read && {
      serverIds: read.ids.ids,
      duplicateServerIds: read.ids.duplicates,
      serverNames: read.names,
      preflight: read.preflight,
    }
  );
}

/** Both id sources, merged; undefined when either had a problem (both are still checked). */
function readServerIds(r: Reader): { ids: string[]; duplicates: string[] } | undefined {
  const before = r.problems.length;
  const fromText = r.collect(() => parseServerIdsText(r.raw(SERVER_IDS), SERVER_IDS.name));
  const file = r.file(SERVER_IDS_FILE);
  const fromFile = file
    ? r.collect(() => {
        let content: string;
        try {
          content = readFileSync(file, 'utf8');
        } catch (error) {
          const message = `${show(file, 200)} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`;
          throw new InputError([{ input: SERVER_IDS_FILE.name, message }]);
        }
        return parseServerIdsFile(content, r.raw(SERVER_IDS_FILE));
      })
    : [];
  return r.problems.length > before ? undefined : mergeServerIds(fromText, fromFile);
}

/** Glob patterns separated by commas or new lines; `!` marks an exclusion. Every bad one is reported. */
function serverNames(raw: string): Parsed<NamePatterns> {
  const include: string[] = [];
  const exclude: string[] = [];
  const problems: string[] = [];
  for (const entry of raw.split(/[,\r\n]+/)) {
    const pattern = entry.trim();
    if (!pattern) continue;
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1).trim() : pattern;
    if (NAME_PATTERN.test(body)) (negated ? exclude : include).push(body);
    else {
      problems.push(
        `pattern ${show(pattern)} must be 1 to 255 letters or digits (of any script), '-', '_', '.', '*' or '?' (after an optional '!')`,
      );
    }
  }
  return problems.length > 0 ? { problem: problems } : { value: { include, exclude } };
}
