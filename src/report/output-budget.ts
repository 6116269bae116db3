/**
 * GitHub's limit on outputs: a job's outputs together may take at most 1 MB, sized as UTF-16
 * (the runner holds them as .NET strings). Past it the runner drops them or fails the job, so
 * the outputs are fitted into a budget below that, in the contract's order, and an output that
 * does not fit whole is set to `[]` and named in `truncated-outputs`.
 */

import { logSafe, pluralWord } from '../util/text.js';

/** The order outputs are filled in: small facts first, then the lists a later step is likeliest to need. */
export const OUTPUT_FILL_ORDER = [
  'project-id',
  'object-url',
  'uploaded',
  'request-ids',
  'report-file',
  'truncated-outputs',
  'failed-server-ids',
  'skipped-server-ids',
  'current-server-ids',
  'succeeded-server-ids',
  'job-ids',
  'jobs',
] as const;

export type OutputName = (typeof OUTPUT_FILL_ORDER)[number];

/** All outputs together stay under this many bytes (UTF-16): 1 MB less room for other steps' outputs. */
export const OUTPUT_BUDGET_BYTES = 900_000;

/** What an output is set to when it does not fit whole. */
const CUT_VALUE = '[]';

/**
 * The bytes one output takes as GitHub counts them: its name and its value in UTF-16, two bytes a
 * code unit — which is what a JS string's `length` counts, so a character outside the Basic
 * Multilingual Plane (an emoji) counts four bytes, as it does in UTF-16.
 */
export function outputBytes(name: string, value: string): number {
  return 2 * (name.length + value.length);
}

/** The least an output can take: `[]`, or for `truncated-outputs` its largest value (it names every other). */
function floorBytes(name: OutputName): number {
  if (name !== 'truncated-outputs') return outputBytes(name, CUT_VALUE);
  return outputBytes(name, JSON.stringify(OUTPUT_FILL_ORDER.filter((n) => n !== name)));
}

export interface BoundedOutputs {
  /** Every output of the fill order, in that order, `truncated-outputs` included. */
  outputs: Record<OutputName, string>;
  /** The outputs set to `[]` because they did not fit, in fill order (also the `truncated-outputs` value). */
  truncated: OutputName[];
  /** The bytes all outputs take together, as `outputBytes` counts them. */
  bytes: number;
}

/**
 * Fits `values` (every output but `truncated-outputs`, already in their final text) into `budget`:
 * each output in fill order is kept whole when, after it, the outputs still to come can all be
 * set to at least `[]` and the total stays under the budget; otherwise it becomes `[]`.
 *
 * `truncated-outputs` comes before the lists it may name, so its size is not known when its turn
 * comes: it is charged for its largest possible value then (every output cut so far and every
 * output after it), and set to the names actually cut at the end — so the total can only come
 * out smaller than what was charged. That costs at most 200 bytes of the budget and keeps the
 * rule one pass, with no fixed point to search for.
 *
 * `budget` must exceed the floor (every output at `[]`, `truncated-outputs` at its largest);
 * at 900,000 it is four orders of magnitude above it.
 */
export function boundOutputs(
  values: Record<Exclude<OutputName, 'truncated-outputs'>, string>,
  budget: number = OUTPUT_BUDGET_BYTES,
): BoundedOutputs {
  const names = OUTPUT_FILL_ORDER;
  /** Bytes the outputs from index i on take at the least: all cut, `truncated-outputs` naming all. */
  const floorFrom = (i: number) => names.slice(i).reduce((sum, name) => sum + floorBytes(name), 0);
  const kept: Partial<Record<OutputName, string>> = {};
  const truncated: OutputName[] = [];
  let charged = 0;
  for (const [i, name] of names.entries()) {
    if (name === 'truncated-outputs') {
      const largest = JSON.stringify([...truncated, ...names.slice(i + 1)]);
      charged += outputBytes(name, largest);
      continue;
    }
    const value = values[name];
    const whole = outputBytes(name, value);
    if (charged + whole + floorFrom(i + 1) < budget) {
      kept[name] = value;
      charged += whole;
    } else {
      kept[name] = CUT_VALUE;
      truncated.push(name);
      charged += outputBytes(name, CUT_VALUE);
    }
  }
  kept['truncated-outputs'] = JSON.stringify(truncated);
  const outputs = Object.fromEntries(names.map((name) => [name, kept[name] as string])) as Record<
    OutputName,
    string
  >;
  const bytes = names.reduce((sum, name) => sum + outputBytes(name, outputs[name]), 0);
  return { outputs, truncated, bytes };
}

/** The one warning when outputs were cut: which, why, and where the whole result is. */
export function truncationWarning(truncated: readonly OutputName[], reportFile: string): string {
  const which = truncated.map((name) => `'${name}'`).join(', ');
  const where = reportFile
    ? `every server's result is in the report file ${logSafe(reportFile)} (the 'report-file' output): read it with jq, or keep it with actions/upload-artifact`
    : 'the report file could not be written either, see the warning above';
  return (
    `${pluralWord(truncated.length, 'output')} ${which} set to [] and listed in 'truncated-outputs': ` +
    `whole, the outputs would pass GitHub's limit of 1 MB for a job's outputs; ${where}`
  );
}
