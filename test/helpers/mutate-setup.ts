// Setup of `npm run mutate` only: property-based tests without an explicit run count take 20
// runs instead of fast-check's 100 (see test/helpers/fuzz.ts for the explicit ones).
import fc from 'fast-check';

fc.configureGlobal({ numRuns: 20 });
