/** What is wrong with a tar, and the one line that tells the user so. */

import { plural } from '../util/text.js';

export type TarProblemCode =
  | 'not-a-tar'
  | 'bad-checksum'
  | 'truncated'
  | 'bad-header'
  | 'hostile-record'
  | 'trailing-data'
  | 'empty'
  | 'absolute-path'
  | 'dotdot'
  | 'empty-path'
  | 'link-target'
  | 'device'
  | 'entry-type'
  | 'layout';

export interface TarProblem {
  /** The entry's path as stored in the archive; empty for problems of the archive as a whole. */
  entry: string;
  reason: string;
  code: TarProblemCode;
}

/** Where a problem goes as it is found. */
export type ProblemSink = (entry: string, reason: string, code: TarProblemCode) => void;

/** A tar that is not safe to push, with the problems found. */
export class TarError extends Error {
  override name = 'TarError';
  constructor(
    readonly file: string,
    readonly problems: TarProblem[],
    readonly omitted: number,
  ) {
    super(formatTarProblems(file, problems, omitted));
  }
}

/** One line for `core.setFailed`: what is wrong, which entries, and what to do about it. */
export function formatTarProblems(file: string, problems: TarProblem[], omitted: number): string {
  const total = problems.length + omitted;
  const listed = problems.map((p) => (p.entry ? `${JSON.stringify(p.entry)}: ${p.reason}` : p.reason));
  const more = omitted > 0 ? `; … and ${omitted} more` : '';
  const hints = hintsFor(problems);
  return (
    `file '${file}' is not a safe tar for CPH: ${plural(total, 'problem')}, ` +
    `${total === 1 ? '' : 'first: '}${listed.join('; ')}${more}.${hints.length ? ` ${hints.join(' ')}` : ''}`
  );
}

function hintsFor(problems: TarProblem[]): string[] {
  const codes = new Set(problems.map((p) => p.code));
  const hints: string[] = [];
  if (codes.has('not-a-tar')) hints.push("'file' must be an uncompressed tar archive.");
  if (codes.has('truncated') || codes.has('bad-checksum')) {
    hints.push('Check that the tar was written completely and not modified.');
  }
  if (codes.has('absolute-path') || codes.has('dotdot')) {
    hints.push("Create the tar with relative paths, e.g. 'tar -cf app.tar -C <dir> data'.");
  }
  if (codes.has('link-target')) hints.push('Links must point inside the archive, with relative targets.');
  if (codes.has('device')) hints.push('Leave device files and FIFOs out of the tar.');
  if (codes.has('layout')) {
    hints.push(
      "CPH pushes only into /data and /cache: put every entry under 'data/' or 'cache/', or set strict-layout: false.",
    );
  }
  return hints;
}
