/**
 * Text from the service (error messages, job ids) in the summary's HTML: escaped, and cut to a
 * byte size so no one message can push the summary past GitHub's 1 MiB. Sizes are UTF-8 bytes,
 * as the summary file is written and as GitHub measures it.
 */
import { logSafe } from '../util/text.js';

/** Markup and Markdown table characters as character references. */
function htmlEntities(text: string): string {
  return text.replace(/[&<>"'`|]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * `text` safe in a summary cell: first `logSafe` (a new line in a cell would end the HTML block
 * and let the rest render as Markdown), then markup escaped.
 */
export function escapeHtml(text: string): string {
  return htmlEntities(logSafe(text));
}

const ELLIPSIS = '…';

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * `text` escaped, at most `maxBytes` UTF-8 bytes: whole when it fits, else the longest start of
 * it (whole characters, never half an escape or half a surrogate pair) followed by `…`.
 */
export function escapeAndCut(text: string, maxBytes: number): { html: string; cut: boolean } {
  const safe = logSafe(text);
  const whole = htmlEntities(safe);
  if (utf8Bytes(whole) <= maxBytes) return { html: whole, cut: false };
  const room = maxBytes - utf8Bytes(ELLIPSIS);
  let html = '';
  let bytes = 0;
  for (const char of safe) {
    const piece = htmlEntities(char);
    const size = utf8Bytes(piece);
    if (bytes + size > room) break;
    html += piece;
    bytes += size;
  }
  return { html: `${html}${ELLIPSIS}`, cut: true };
}
