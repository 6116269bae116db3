/** Small text helpers every message builder shares: one plural rule, one escape, one way to read an error. */

/** A body or message as one short line for an error message: white space folded, cut at `max`. */
export function snippet(text: string, max = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine || '(empty)';
}

/** `server` or `servers` for `n`; `many` for irregular forms (`'server is'`, `'servers are'`). */
export function pluralWord(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** `1 job`, `2 jobs`, `0 jobs`: every count in the action's text is written through here. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${pluralWord(n, one, many)}`;
}

/** What an error says, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Characters that would break a line or hide what a line says: controls (new lines, escape
 * sequences), format characters (zero-width, right-to-left overrides), line and paragraph
 * separators, and lone surrogates.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
}

/**
 * Text from outside the action — a path, a server name, a tar entry name, an object key, a
 * service message — made safe for a log line, an annotation or a summary cell. The runner reads
 * every line of the log for workflow commands: a line that starts with `::` (after spaces) and
 * `##[` anywhere in a line. So the text gets
 * - every invisible character written as an escape (`\n`, `\r`, `\t`, `\u{202e}`): it can never
 *   break a line, nor show something other than what it holds;
 * - a `:` that starts it (after spaces) or follows another `:` written `\u{3a}`, and the `[` of
 *   `##[` written `\u{5b}`: wherever it lands in a line, it cannot start a command.
 * Printable text, non-ASCII letters included, is kept as it is. Escaping twice changes nothing.
 */
export function logSafe(text: string): string {
  let out = '';
  let leading = true;
  let prev = '';
  let prev2 = '';
  for (const c of text) {
    if (INVISIBLE.test(c)) out += escapeChar(c);
    else if (c === ':' && (leading || prev === ':')) out += '\\u{3a}';
    else if (c === '[' && prev === '#' && prev2 === '#') out += '\\u{5b}';
    else out += c;
    if (c !== ' ') leading = false;
    prev2 = prev;
    prev = c;
  }
  return out;
}

/**
 * The most server ids one log line or message lists: the contract says none lists more than 20. A
 * fleet has thousands of servers and one line with all of them is megabytes long; the complete
 * lists are in the outputs and the report file.
 */
export const MAX_IDS_PER_LINE = 20;

/**
 * Ids (or entries naming them) in one line: at most `max`, then "… and N more". Every line that
 * lists ids goes through here. Each shown item is escaped with `each`: `logSafe` by default, as
 * ids chosen by name come from the service; items quoted already (with `show`) pass `asQuoted`.
 */
export function listIds(
  items: readonly string[],
  max = MAX_IDS_PER_LINE,
  each: (item: string) => string = logSafe,
): string {
  const shown = items.slice(0, max).map(each).join(', ');
  return items.length <= max ? shown : `${shown} … and ${items.length - max} more`;
}

/** For `listIds`: items that are already quoted and escaped, shown as they are. */
export const asQuoted = (item: string): string => item;

/**
 * A value a user gave, quoted for a message about it: every character outside printable ASCII
 * escaped (so a stray non-breaking space or homoglyph shows), cut to `max` characters.
 */
export function show(value: string, max = 80): string {
  const chars = [...value];
  const cut = chars.length > max ? chars.slice(0, max).join('') : value;
  const escaped = cut.replace(/[^\x20-\x7e]/gu, escapeChar);
  return `'${escaped}${chars.length > max ? '…' : ''}'`;
}
