/**
 * GitHub's limits, measured the way GitHub measures them, for end-to-end tests: outputs as the
 * runner holds them (UTF-16 strings: two bytes a code unit, name and value), the summary as the
 * UTF-8 file it is, and the server ids a log line names.
 */

/** Bytes of the outputs parsed from GITHUB_OUTPUT (see `parseOutputFile`), counted as UTF-16. */
export function outputsBytes(outputs: Record<string, string>): number {
  return Object.entries(outputs).reduce((sum, [name, value]) => sum + 2 * (name.length + value.length), 0);
}

/** GitHub's limit on a job's outputs together (1 MB) and on a step summary (1 MiB). */
export const GITHUB_OUTPUTS_LIMIT = 1_000_000;
export const GITHUB_SUMMARY_LIMIT = 1024 * 1024;

export interface LogLineFigures {
  /** Length of the longest line, in characters. */
  longest: number;
  /** The most server ids one line names, and that line (cut to 300 characters). */
  mostIds: number;
  mostIdsLine: string;
}

/** The longest line of `log`, and the most matches of `idPattern` (a global regex) in one line. */
export function logLineFigures(log: string, idPattern: RegExp): LogLineFigures {
  const figures: LogLineFigures = { longest: 0, mostIds: 0, mostIdsLine: '' };
  for (const line of log.split('\n')) {
    figures.longest = Math.max(figures.longest, line.length);
    const ids = line.match(idPattern)?.length ?? 0;
    if (ids > figures.mostIds) {
      figures.mostIds = ids;
      figures.mostIdsLine = line.slice(0, 300);
    }
  }
  return figures;
}
