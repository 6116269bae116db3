// @ts-check
/**
 * Mutation testing of the modules with pure logic (`npm run mutate`). Sized for a 2-core
 * machine: only unit tests and the in-process integration tests run (vitest.mutate.config.ts), each mutant only against the tests
 * that reach it, and results are kept in .tmp/ so a second run retests only what changed.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/inputs/**/*.ts',
    'src/tar/header.ts',
    'src/tar/parser.ts',
    'src/tar/policy.ts',
    'src/tar/problems.ts',
    'src/tar/inspect.ts',
    'src/huawei/sign-apig.ts',
    'src/huawei/sign-obs.ts',
    'src/jobs/wait.ts',
    'src/http/retry.ts',
    'src/redact.ts',
    'src/hints.ts',
    'src/report/*.ts',
    // The groups of issue 16: choosing and staging servers, sign-in, the upload, the rollout
    // engine, the push, and the request path (transport, signed and unsigned calls, OBS).
    'src/fleet/*.ts',
    'src/auth/*.ts',
    'src/upload/*.ts',
    'src/rollout/*.ts',
    'src/ledger/*.ts',
    'src/model/*.ts',
    'src/jobs/push.ts',
    'src/http/transport.ts',
    'src/huawei/request.ts',
    'src/huawei/apig.ts',
    'src/huawei/cph.ts',
    'src/huawei/iam.ts',
    'src/huawei/obs.ts',
    'src/huawei/unsigned.ts',
    'src/huawei/paging.ts',
  ],
  coverageAnalysis: 'perTest',
  // A mutant of a module-level constant would need every test run for it; the values of those
  // constants (patterns, defaults, messages) are pinned by exact tables instead.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 3_000,
  incremental: true,
  incrementalFile: '.tmp/stryker-incremental.json',
  tempDirName: '.tmp/stryker',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: '.tmp/mutation/mutation.html' },
  jsonReporter: { fileName: '.tmp/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
