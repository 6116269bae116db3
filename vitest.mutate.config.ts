// The tests StrykerJS runs against each mutant (`npm run mutate`): every unit test, and the
// integration tests that run the request path, the upload, keyless sign-in and the push against
// the emulator in process (each mutant runs only the tests that reach it). Left out: the docs
// checks, `run()` in process (integration/main: minutes per mutant of little else), the
// emulator's own tests and the end-to-end tests (which run the bundle, not src/, so they
// cannot kill a mutant).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    exclude: ['test/unit/docs.test.ts', 'test/unit/layout.test.ts', 'test/integration/main.test.ts'],
    setupFiles: ['test/helpers/mutate-setup.ts', 'test/helpers/runner-temp.ts'],
    env: { CPH_FUZZ_DIVISOR: '20' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
