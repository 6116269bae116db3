// The tests StrykerJS runs against each mutant (`npm run mutate`): the unit tests of the modules
// it mutates. The emulator's own tests, the docs checks and the end-to-end tests (which run the
// bundle, not src/) cannot kill a mutant and would only cost time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/inputs.test.ts',
      'test/unit/inputs-*.test.ts',
      'test/unit/server-ids.test.ts',
      'test/unit/tar-*.test.ts',
      'test/unit/sign-apig.test.ts',
      'test/unit/sign-obs.test.ts',
      'test/unit/wait.test.ts',
      'test/unit/retry.test.ts',
      'test/unit/transport.test.ts',
      'test/unit/redact.test.ts',
      'test/unit/obs-helpers.test.ts',
      'test/unit/report*.test.ts',
      'test/unit/summary-*.test.ts',
      'test/unit/output-*.test.ts',
      'test/unit/hints.test.ts',
      'test/unit/defaults.test.ts',
      'test/unit/progress.test.ts',
    ],
    setupFiles: ['test/helpers/mutate-setup.ts'],
    env: { CPH_FUZZ_DIVISOR: '20' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
