import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The suite's own temp dir, and a check that no run left its report file in it
    // (test/helpers/suite-temp.ts); a RUNNER_TEMP per test file for run() in process.
    globalSetup: ['test/helpers/suite-temp.ts'],
    setupFiles: ['test/helpers/runner-temp.ts'],
    // `npm run coverage`: line and branch coverage of src/ by the in-process tests. The
    // end-to-end tests run dist/index.js in child processes, which this does not see.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text', 'text-summary', 'json-summary', 'html'],
      reportsDirectory: '.tmp/coverage',
    },
  },
});
