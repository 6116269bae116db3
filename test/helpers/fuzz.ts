/**
 * Runs of a property-based test. `npm run mutate` divides them (CPH_FUZZ_DIVISOR in
 * vitest.mutate.config.ts): every mutant of the tar parser would otherwise pay for 4,000 random
 * archives, and the exact tables and examples do most of the killing anyway.
 */
export function fuzzRuns(runs: number): number {
  const divisor = Number(process.env['CPH_FUZZ_DIVISOR'] ?? '1');
  return divisor > 1 ? Math.max(10, Math.ceil(runs / divisor)) : runs;
}
