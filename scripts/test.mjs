// `npm test`: Vitest on Node 24, the action's runtime. On an older Node (this
// project's dev machines have 20) Node 24 is fetched from the npm registry once
// and cached by npx. Ends with a plain "N passed, N failed" line for CI logs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const report = fileURLToPath(new URL('../.tmp/vitest-report.json', import.meta.url));
mkdirSync(fileURLToPath(new URL('../.tmp/', import.meta.url)), { recursive: true });
rmSync(report, { force: true });
const args = [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const major = Number(process.versions.node.split('.')[0]);
const result =
  major >= 24
    ? spawnSync(process.execPath, [vitest, ...args], { stdio: 'inherit' })
    : // npx is npx.cmd on Windows, which only a shell can start.
      spawnSync('npx', ['-y', '-p', 'node@24', '--', 'node', vitest, ...args], {
        stdio: 'inherit',
        shell: process.platform === 'win32',
      });
if (result.error) {
  console.error(`cannot start the tests: ${result.error.message}`);
  process.exit(1);
}
try {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, 'utf8'));
  console.log(
    `\n${numPassedTests} passed, ${numFailedTests} failed${numPendingTests ? `, ${numPendingTests} skipped` : ''}`,
  );
  // The suite's teardown fails the run too (a report file left in the temp dir, say): say so.
  if (result.status !== 0 && numFailedTests === 0) console.log('but the run failed: see the messages above');
} catch {
  console.log('\nno test report was written');
}
process.exit(result.status ?? 1);
