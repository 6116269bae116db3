// `npm test`: Vitest on Node 24, the action's runtime. On an older Node (this
// project's dev machines have 20) Node 24 is fetched from the npm registry once
// and cached by npx.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const args = ['run', ...process.argv.slice(2)];
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
process.exit(result.status ?? 1);
