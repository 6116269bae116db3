/**
 * Server ids in a log line. A fleet has thousands of servers and one log line with all of them is
 * megabytes long; the complete lists are in the outputs and the report file, so a log line names
 * at most `max` and counts the rest. Every log line that lists ids goes through here.
 */
export const MAX_IDS_PER_LINE = 20;

export function listIds(ids: readonly string[], max: number = MAX_IDS_PER_LINE): string {
  if (ids.length === 0) return '(none)';
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')} … and ${ids.length - max} more`;
}
