/** How the run behaves as a whole: a dry run, and whether it writes the job summary. */

import { boolean, field, type Reader, whole } from './reader.js';

export const DRY_RUN = field('dry-run', 'false', boolean);
export const SUMMARY = field('summary', 'true', boolean);

export const RUN_FIELDS = [DRY_RUN, SUMMARY];

export interface RunSettings {
  dryRun: boolean;
  summary: boolean;
}

export function readRunSettings(r: Reader): RunSettings | undefined {
  return whole({ dryRun: r.read(DRY_RUN), summary: r.read(SUMMARY) });
}
